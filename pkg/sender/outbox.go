package sender

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
)

// outbox queues datagrams between rounds and flushes them in batches, per interface, through
// the token bucket.
type outbox struct {
	maxDatagram int
	pool        [][]byte
	queue       []queued
	batch       []mcast.Datagram
	scratch     []byte
}

type queued struct {
	ifindex int
	d       mcast.Datagram
}

func (o *outbox) init(maxDatagram int) {
	o.maxDatagram = maxDatagram
	o.scratch = make([]byte, 0, maxDatagram)
}

func (o *outbox) count() int { return len(o.queue) }

// add queues a datagram for group on ifindex and returns an empty buffer for its bytes; the
// caller appends to it and hands the result to set.
func (o *outbox) add(ifindex int, group netip.Addr) []byte {
	i := len(o.queue)
	if i == len(o.pool) {
		o.pool = append(o.pool, make([]byte, 0, o.maxDatagram))
	}
	o.queue = append(o.queue, queued{ifindex: ifindex, d: mcast.Datagram{Group: group}})
	return o.pool[i][:0]
}

// set stores the bytes of the datagram added last.
func (o *outbox) set(b []byte) {
	o.queue[len(o.queue)-1].d.Payload = b
	o.pool[len(o.queue)-1] = b[:0]
}

// flush sends everything queued.
func (s *Sender) flush(ctx context.Context) error {
	o := &s.out
	defer func() { o.queue = o.queue[:0] }()
	for i := 0; i < len(o.queue); {
		ifindex := o.queue[i].ifindex
		o.batch = o.batch[:0]
		bytes := 0
		for ; i < len(o.queue) && len(o.batch) < batchSize && o.queue[i].ifindex == ifindex; i++ {
			o.batch = append(o.batch, o.queue[i].d)
			bytes += len(o.queue[i].d.Payload) + ipv6UDPHeaders
		}
		if err := s.bucket.take(ctx, bytes); err != nil {
			return err
		}
		n, err := s.cfg.Transport.Send(ifindex, o.batch)
		s.count(func(st *Stats) {
			st.Datagrams += uint64(n)
			st.Bytes += uint64(bytes)
			if err != nil {
				st.SendErrors++
			}
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if s.cfg.Logger != nil {
				s.cfg.Logger.Warn("send failed", "ifindex", ifindex, "err", err)
			}
			if s.sendFailures++; s.sendFailures > maxSendFailures {
				return fmt.Errorf("sender: giving up after %d failed sends: %w", s.sendFailures, err)
			}
			continue
		}
		s.sendFailures = 0
		if s.cfg.Delay > 0 {
			if err := sleep(ctx, time.Duration(len(o.batch))*s.cfg.Delay); err != nil {
				return err
			}
		}
	}
	return nil
}

// ipv6UDPHeaders is what each datagram costs on the wire beyond its payload.
const ipv6UDPHeaders = 48

// maxSendFailures is how many consecutive failed sends end Run.
const maxSendFailures = 1000
