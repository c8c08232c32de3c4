module signstar

go 1.26.0

require (
	github.com/ProtonMail/go-crypto v1.5.2
	github.com/ThalesGroup/crypto11 v1.5.0
	github.com/alecthomas/kong v1.17.0
	github.com/landlock-lsm/go-landlock v0.11.0
	github.com/miekg/pkcs11 v1.1.2
	github.com/pelletier/go-toml/v2 v2.4.3
	github.com/seccomp/libseccomp-golang v0.11.1
	github.com/stefanberger/go-pkcs11uri v0.0.0-20230803200340-78284954bff6
	golang.org/x/mod v0.43.0
	golang.org/x/sys v0.48.0
	kernel.org/pub/linux/libs/security/libcap/psx v1.2.77
)

require (
	github.com/cloudflare/circl v1.6.3 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/thales-e-security/pool v0.0.2 // indirect
	golang.org/x/crypto v0.41.0 // indirect
)
