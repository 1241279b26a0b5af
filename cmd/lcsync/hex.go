package main

import (
	"bufio"
	"context"
	"fmt"
	"os"

	"github.com/lcsync/lcsync/merkle"
)

// hexDump prints the merkle tree of a local file (lcsync.1, TREE DUMP FORMAT):
//
//	file <path>
//	size <bytes>
//	blocksize <bytes>
//	blocks <n>
//	levels <n>
//	root <hex>
//	level <k> <count>
//	<k> <i> <hex>          one line per node, top level first
func hexDump(ctx context.Context, e *env, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return withCode(exitUsage, fmt.Errorf("--hex %s: not a regular file", path))
	}
	t, err := merkle.Build(ctx, f, st.Size(), e.o.blockSize, 0)
	if err != nil {
		return err
	}
	s := t.Shape()
	w := bufio.NewWriter(e.stdout)
	fmt.Fprintf(w, "file %s\nsize %d\nblocksize %d\nblocks %d\nlevels %d\nroot %s\n",
		path, s.Size(), s.BlockSize(), s.Blocks(), s.Levels(), t.Root())
	for k := s.TopLevel(); k >= 0; k-- {
		fmt.Fprintf(w, "level %d %d\n", k, s.LevelLen(k))
		for i, h := range t.Level(k) {
			fmt.Fprintf(w, "%d %d %s\n", k, i, h)
		}
	}
	return w.Flush()
}
