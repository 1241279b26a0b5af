package merkle_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/lcsync/lcsync/merkle"
)

func ExampleBuild() {
	data := bytes.Repeat([]byte("lcsync "), 5000) // 35000 bytes
	tree, err := merkle.Build(context.Background(), bytes.NewReader(data), int64(len(data)), merkle.DefaultBlockSize, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := tree.Shape()
	fmt.Println("blocks:", s.Blocks(), "levels:", s.Levels(), "last block:", s.BlockLen(s.Blocks()-1))

	// A copy with its second block changed needs only that block.
	changed := bytes.Clone(data)
	changed[20000] = '!'
	old, err := merkle.Build(context.Background(), bytes.NewReader(changed), int64(len(changed)), merkle.DefaultBlockSize, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("fetch:", merkle.Diff(old, tree))
	fmt.Println("verify:", tree.VerifyBlock(1, data[16384:32768]))
	// Output:
	// blocks: 3 levels: 3 last block: 2232
	// fetch: {1}
	// verify: <nil>
}
