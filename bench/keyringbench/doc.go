// Package keyringbench holds Go benchmarks of signstar's signing path against
// a real PKCS#11 token (a throwaway SoftHSM2 token), where pkg/pgp's
// BenchmarkSign uses software keys. It has no code of its own: see
// sign_test.go and docs/benchmarks.md.
//
//	go test -run '^$' -bench . -count 10 ./bench/keyringbench | tee new.txt
//	benchstat old.txt new.txt
package keyringbench
