package wire

import "encoding/binary"

// BlockHeaderLen is the length of a block packet before its piece bytes (PROTOCOL.md §4.4).
const BlockHeaderLen = 20

// BlockPacket is a piece of one block, sent on the data channel of the labelled node
// (PROTOCOL.md §4.4).
type BlockPacket struct {
	// Label names the node whose data channel carries the packet.
	Label Label
	// Block is the block index relative to the labelled node's first leaf.
	Block uint32
	// Offset is the byte offset of Data within the block.
	Offset uint32
	// Data is the piece: at least one byte, and Offset+len(Data) is at most the block's
	// length. After ParseBlock it aliases the datagram.
	Data []byte
}

// AppendBlock appends p to dst as a block packet and returns the extended slice. It does not
// validate p: a packet with empty Data, or one reaching past [MaxBlockSize], does not parse.
func AppendBlock(dst []byte, p BlockPacket) []byte {
	dst = appendHeader(dst, TypeBlock)
	dst = append(dst, p.Label[:]...)
	dst = binary.BigEndian.AppendUint32(dst, p.Block)
	dst = binary.BigEndian.AppendUint32(dst, p.Offset)
	return append(dst, p.Data...)
}

// ParseBlock decodes the block packet b. The returned Data aliases b. Besides the header it
// checks that the piece is at least one byte long and ends within [MaxBlockSize]; whether it
// ends within its block depends on the file and is left to the receiver.
func ParseBlock(b []byte) (BlockPacket, error) {
	if err := checkPacket(b, TypeBlock, BlockHeaderLen+1); err != nil {
		return BlockPacket{}, err
	}
	p := BlockPacket{
		Label:  Label(b[4:12]),
		Block:  binary.BigEndian.Uint32(b[12:16]),
		Offset: binary.BigEndian.Uint32(b[16:20]),
		Data:   b[BlockHeaderLen:],
	}
	if end := uint64(p.Offset) + uint64(len(p.Data)); end > MaxBlockSize {
		return BlockPacket{}, malformed("block packet: piece [%d, %d) of block %d ends past the largest block size %d",
			p.Offset, end, p.Block, MaxBlockSize)
	}
	return p, nil
}
