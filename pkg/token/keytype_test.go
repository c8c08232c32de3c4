package token

import "testing"

func TestJoinKeyTypes(t *testing.T) {
	tests := []struct {
		name  string
		types []KeyType
		sep   string
		want  string
	}{
		{"none", nil, ", ", ""},
		{"one", []KeyType{P256}, ", ", "p256"},
		{"message", []KeyType{RSA3072, P256, P384}, ", ", "rsa3072, p256, p384"},
		{"enum", KeyTypes(), ",", "ed25519,rsa3072,rsa4096,p256,p384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := JoinKeyTypes(tt.types, tt.sep); got != tt.want {
				t.Fatalf("JoinKeyTypes(%v, %q) = %q, want %q", tt.types, tt.sep, got, tt.want)
			}
		})
	}
}
