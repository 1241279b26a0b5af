module github.com/lcsync/lcsync

go 1.26.8

require (
	github.com/bits-and-blooms/bitset v1.29.0
	github.com/klauspost/reedsolomon v1.14.2
	go.uber.org/goleak v1.3.0
	golang.org/x/crypto v0.58.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)

require github.com/klauspost/cpuid/v2 v2.3.0 // indirect
