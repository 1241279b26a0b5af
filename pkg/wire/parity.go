package wire

import "encoding/binary"

// Forward error correction limits (PROTOCOL.md §4.6, §5.6).
const (
	// ParityHeaderLen is the length of a parity packet before its shard bytes.
	ParityHeaderLen = 20
	// ParityStripe is the most data shards (consecutive pieces of one block) one set of
	// parity shards protects; a block of more shards is cut into stripes of this many.
	ParityStripe = 16
	// ParityLayers is the number of parity channels a data or stream channel has: parity
	// shard j of every stripe travels on layer j.
	ParityLayers = 8
	// ParityInterleave is the most blocks a sender interleaves (sends column by column,
	// PROTOCOL.md §5.6): a receiver counts a block's missing pieces as lost once the channel
	// is further than this past it.
	ParityInterleave = 16
)

// ParityPacket is one Reed-Solomon parity shard of one stripe of one block, sent on a parity
// channel of the labelled node's data (or stream) channel (PROTOCOL.md §4.6).
type ParityPacket struct {
	// Label names the node whose data channel the block belongs to.
	Label Label
	// Block is the block index relative to the labelled node's first leaf.
	Block uint32
	// Stripe is the stripe of the block the shard protects.
	Stripe uint16
	// Layer is the parity shard's row, below [ParityLayers].
	Layer uint8
	// Data is the parity shard; its length is the block's shard size. After ParseParity it
	// aliases the datagram.
	Data []byte
}

// AppendParity appends p to dst as a parity packet and returns the extended slice. It does
// not validate p.
func AppendParity(dst []byte, p ParityPacket) []byte {
	dst = appendHeader(dst, TypeParity)
	dst = append(dst, p.Label[:]...)
	dst = binary.BigEndian.AppendUint32(dst, p.Block)
	dst = binary.BigEndian.AppendUint16(dst, p.Stripe)
	return append(append(dst, p.Layer, 0), p.Data...)
}

// ParseParity decodes the parity packet b. The returned Data aliases b. It checks the header,
// that the shard is at least one byte, the layer is below [ParityLayers] and the reserved
// byte is zero; whether the shard size and stripe fit the block is left to the receiver (see
// [ParityShards]).
func ParseParity(b []byte) (ParityPacket, error) {
	if err := checkPacket(b, TypeParity, ParityHeaderLen+1); err != nil {
		return ParityPacket{}, err
	}
	p := ParityPacket{
		Label:  Label(b[4:12]),
		Block:  binary.BigEndian.Uint32(b[12:16]),
		Stripe: binary.BigEndian.Uint16(b[16:18]),
		Layer:  b[18],
		Data:   b[ParityHeaderLen:],
	}
	if p.Layer >= ParityLayers {
		return ParityPacket{}, malformed("parity packet: layer %d, at most %d", p.Layer, ParityLayers-1)
	}
	if b[19] != 0 {
		return ParityPacket{}, malformed("parity packet: reserved byte is %d", b[19])
	}
	return p, nil
}

// ParityShards returns, for a block of n bytes protected with shards of size bytes, the number
// of data shards and of stripes (PROTOCOL.md §5.6), or ok=false when size cannot be a shard
// size for that block: zero, larger than the block, or making more stripes than a parity
// packet can name.
func ParityShards(n, size int) (shards, stripes int, ok bool) {
	if size <= 0 || n <= 0 || size > n {
		return 0, 0, false
	}
	shards = (n + size - 1) / size
	stripes = (shards + ParityStripe - 1) / ParityStripe
	return shards, stripes, stripes <= 1<<16
}
