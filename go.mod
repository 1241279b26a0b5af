module github.com/lcsync/lcsync

go 1.26.8

require (
	aead.dev/minisign v0.3.0
	github.com/bits-and-blooms/bitset v1.29.0
	github.com/klauspost/reedsolomon v1.14.2
	golang.org/x/crypto v0.58.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require github.com/klauspost/cpuid/v2 v2.3.0 // indirect
