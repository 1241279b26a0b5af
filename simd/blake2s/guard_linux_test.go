//go:build linux

package blake2s

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/unix"
)

// guarded returns n bytes that end right before an inaccessible page, and n
// bytes that start right after one: a kernel reading past either end of a
// message faults instead of passing unnoticed.
func guarded(t *testing.T, r *rand.Rand, n int) (atEnd, atStart []byte) {
	t.Helper()
	page := unix.Getpagesize()
	span := (n + page - 1) / page * page
	mem, err := unix.Mmap(-1, 0, span+2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	for _, g := range [][]byte{mem[:page], mem[page+span:]} {
		if err := unix.Mprotect(g, unix.PROT_NONE); err != nil {
			t.Fatalf("mprotect: %v", err)
		}
	}
	body := mem[page : page+span]
	for i := range body {
		body[i] = byte(r.Uint32())
	}
	return body[span-n:], body[:n]
}

// TestSumManyGuardPages hashes messages that touch inaccessible pages on
// either side, around the block boundaries.
func TestSumManyGuardPages(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range edgeLengths {
		for _, lanes := range []int{1, 2, 8, 16, 17} {
			ends := make([][]byte, lanes)
			starts := make([][]byte, lanes)
			for i := range ends {
				ends[i], starts[i] = guarded(t, r, n)
			}
			checkAll(t, []byte{0}, ends)
			checkAll(t, []byte{0}, starts)
			checkAll(t, nil, ends)
		}
	}
}
