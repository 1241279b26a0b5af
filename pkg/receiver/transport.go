package receiver

import (
	"net/netip"

	"github.com/lcsync/lcsync/pkg/mcast"
)

// mcastTransport adapts *mcast.RecvConn to Transport.
type mcastTransport struct {
	*mcast.RecvConn
	batch *mcast.Batch
}

// NewTransport wraps a multicast receiving socket. Receive must be called from one goroutine.
func NewTransport(r *mcast.RecvConn) Transport {
	return &mcastTransport{RecvConn: r, batch: mcast.NewBatch(64)}
}

func (t *mcastTransport) Receive(fn func([]byte)) error {
	if err := t.Read(t.batch); err != nil {
		return err
	}
	for i := range t.batch.Len() {
		fn(t.batch.Datagram(i))
	}
	return nil
}

func (t *mcastTransport) ReceiveFrom(fn func([]byte, netip.Addr)) error {
	if err := t.Read(t.batch); err != nil {
		return err
	}
	for i := range t.batch.Len() {
		fn(t.batch.Datagram(i), t.batch.Source(i))
	}
	return nil
}

func (t *mcastTransport) Drops() uint64 { return t.Stats().Drops }

// DatagramsPerMessage is the mean number of datagrams a message read from the socket carried:
// what one dropped message is worth in datagrams, since the kernel counts a dropped GRO train
// once.
func (t *mcastTransport) DatagramsPerMessage() float64 {
	st := t.Stats()
	if st.Messages == 0 {
		return 1
	}
	return float64(st.Datagrams) / float64(st.Messages)
}

// The socket adapter has every optional capability.
var (
	_ QueueFiller    = (*mcastTransport)(nil)
	_ MessageCounter = (*mcastTransport)(nil)
	_ SourceReceiver = (*mcastTransport)(nil)
)
