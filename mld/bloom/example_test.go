package bloom_test

import (
	"fmt"
	"net/netip"

	"github.com/lcsync/lcsync/mld/bloom"
)

func Example() {
	f, err := bloom.New(bloom.Config{}) // 100k groups at 1 %
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Slots(), f.Hashes(), f.Bytes())

	g := netip.MustParseAddr("ff15::1234")
	f.Insert(g, 260_000)  // a report at tick 0 (ms), listening interval 260 s
	f.Refresh(g, 385_000) // a later report
	fmt.Println(f.Contains(g, 300_000), f.Contains(g, 385_000))

	f.Sweep(385_000)
	fmt.Println(f.Fill())
	// Output:
	// 958528 7 4792640
	// true false
	// 0
}
