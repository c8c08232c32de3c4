module signstar

go 1.24

require (
	github.com/ProtonMail/go-crypto v1.5.2 // indirect
	github.com/ThalesGroup/crypto11 v1.5.0 // indirect
	github.com/alecthomas/kong v1.17.0 // indirect
	github.com/miekg/pkcs11 v1.1.2 // indirect
	github.com/pelletier/go-toml/v2 v2.4.3 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	github.com/stefanberger/go-pkcs11uri v0.0.0-20230803200340-78284954bff6 // indirect
	github.com/thales-e-security/pool v0.0.2 // indirect
)
