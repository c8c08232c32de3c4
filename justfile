# signstar: run `./just` (or `just`) to list recipes; ./just installs just first if needed.

set shell := ["bash", "-euo", "pipefail", "-c"]

version := `git describe --tags --always --dirty 2>/dev/null || echo devel`
out := "bin/signstar"
fuzztime := env_var_or_default("SIGNSTAR_FUZZTIME", "10s")
coverdir := "bin/coverage"

# List the recipes.
default:
    @just --list

# Install build and test dependencies (Debian or Arch, as root), or print the command to run.
deps:
    scripts/deps

# Build bin/signstar: cgo, libseccomp linked statically, -trimpath, version stamped.
build:
    scripts/build {{out}} {{version}}
    @echo "built {{out}} ({{version}}); needs: $(readelf -d {{out}} | awk '/NEEDED/{print $5}' | tr -d '[]' | xargs)"

# Cross-compile the client-only build (request, --version, --help: no cgo, any GOOS), run every test with real tools (SoftHSM2, gpgv, sqv, pacman-key), then each fuzz target briefly; print the statement coverage of the tests and the e2e binary, merged (profiles in bin/coverage).
test: deps
    go vet ./...
    CGO_ENABLED=0 go build -o /dev/null ./cmd/signstar
    CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 go build -o /dev/null ./cmd/signstar
    CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build -o /dev/null ./cmd/signstar
    rm -rf {{coverdir}} && mkdir -p {{coverdir}}/e2e
    SIGNSTAR_E2E=1 SIGNSTAR_E2E_COVERDIR="$PWD/{{coverdir}}/e2e" go test -count=1 -timeout 30m \
        -covermode=atomic -coverpkg=./... -coverprofile={{coverdir}}/tests.out ./...
    SIGNSTAR_FUZZTIME={{fuzztime}} scripts/fuzz
    scripts/coverage {{coverdir}}

# Run each fuzz target for a bounded time (SIGNSTAR_FUZZTIME, default 10s).
fuzz:
    SIGNSTAR_FUZZTIME={{fuzztime}} scripts/fuzz

# Write the shell completions or the man page (WHAT: shell_completions or manpages) to $SIGNSTAR_OUTPUT_DIR (default: output).
generate WHAT:
    SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || true)}" \
        scripts/gendoc {{WHAT}} "${SIGNSTAR_OUTPUT_DIR:-output}" {{version}}

# Build the Debian and Arch Linux packages of the last commit (uncommitted changes are left out) into bin/packages, each where its tools exist; no network.
package:
    scripts/package bin/packages

# Benchmarks against pkcs11-tool, sha512sum, gpg and a do-nothing SSH session; writes docs/benchmarks.md (as root, ~18 min; SIGNSTAR_BENCH_SECTIONS=1,7 runs some sections into a temp dir; SIGNSTAR_BENCH_QUICK=1 for a smoke run).
bench: build
    scripts/bench {{out}}

# Throwaway SoftHSM2 token, a key, signed samples, verified by gpgv, sqv and pacman-key; as root, also signed through a throwaway sshd.
demo: deps build
    scripts/demo {{out}}
