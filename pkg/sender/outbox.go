package sender

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/lcsync/lcsync/merkle"
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
	hashes      []merkle.Hash // a tree packet's run of hashes
}

type queued struct {
	ifindex int
	d       mcast.Datagram
	seg     int // > 0: d.Payload is a train of datagrams of seg bytes (the last may be shorter)
	n       int // datagrams in the entry
}

// maxTrain is the largest train: the kernel's UDP GSO limit is 64 segments in 64 KiB.
const maxTrain = 65507

func (o *outbox) init(maxDatagram int) {
	o.maxDatagram = maxDatagram
	o.scratch = make([]byte, 0, maxDatagram)
	o.hashes = make([]merkle.Hash, 0, maxDatagram/merkle.HashSize)
}

func (o *outbox) count() int { return len(o.queue) }

// add queues a datagram for group on ifindex and returns an empty buffer for its bytes; the
// caller appends to it and hands the result to set.
func (o *outbox) add(ifindex int, group netip.Addr) []byte {
	i := len(o.queue)
	if i == len(o.pool) {
		o.pool = append(o.pool, make([]byte, 0, o.maxDatagram))
	}
	o.queue = append(o.queue, queued{ifindex: ifindex, d: mcast.Datagram{Group: group}, n: 1})
	return o.pool[i][:0]
}

// addTrain queues a train for group on ifindex and returns an empty buffer for it; the caller
// appends n datagrams of seg bytes (the last may be shorter) and hands the result to setTrain.
func (o *outbox) addTrain(ifindex int, group netip.Addr) []byte {
	b := o.add(ifindex, group)
	if cap(b) < maxTrain {
		b = make([]byte, 0, maxTrain)
		o.pool[len(o.queue)-1] = b
	}
	return b
}

// setTrain stores the train added last.
func (o *outbox) setTrain(b []byte, seg, n int) {
	o.set(b)
	q := &o.queue[len(o.queue)-1]
	q.seg, q.n = seg, n
}

// drop removes the datagram added last, before its set.
func (o *outbox) drop() { o.queue = o.queue[:len(o.queue)-1] }

// set stores the bytes of the datagram added last.
func (o *outbox) set(b []byte) {
	o.queue[len(o.queue)-1].d.Payload = b
	o.pool[len(o.queue)-1] = b[:0]
}

// flush sends everything queued: runs of single datagrams in batches (sendmmsg), trains in
// one call each (UDP GSO), all through the token bucket.
func (s *Sender) flush(ctx context.Context) error {
	o := &s.out
	defer func() { o.queue = o.queue[:0] }()
	for i := 0; i < len(o.queue); {
		ifindex := o.queue[i].ifindex
		if q := o.queue[i]; q.seg > 0 {
			i++
			if err := s.sendTrain(ctx, q); err != nil {
				return err
			}
			continue
		}
		o.batch = o.batch[:0]
		bytes := 0
		for ; i < len(o.queue) && len(o.batch) < batchSize && o.queue[i].ifindex == ifindex && o.queue[i].seg == 0; i++ {
			o.batch = append(o.batch, o.queue[i].d)
			bytes += len(o.queue[i].d.Payload) + ipv6UDPHeaders
		}
		if err := s.bucket.take(ctx, bytes); err != nil {
			return err
		}
		n, err := s.cfg.Transport.Send(ifindex, o.batch)
		if err := s.sent(ctx, ifindex, n, bytes, err); err != nil {
			return err
		}
	}
	return nil
}

// sendTrain sends one train with UDP GSO.
func (s *Sender) sendTrain(ctx context.Context, q queued) error {
	bytes := len(q.d.Payload) + q.n*ipv6UDPHeaders
	if err := s.bucket.take(ctx, bytes); err != nil {
		return err
	}
	err := s.seg.SendSegments(q.ifindex, q.d.Group, q.d.Payload, q.seg)
	n := q.n
	if err != nil {
		n = 0
	}
	return s.sent(ctx, q.ifindex, n, bytes, err)
}

// sent accounts for a send, applies --delay, and turns persistent failures into an error.
func (s *Sender) sent(ctx context.Context, ifindex, n, bytes int, err error) error {
	gone := errors.Is(err, mcast.ErrInterfaceGone)
	s.count(func(st *Stats) {
		st.Datagrams += uint64(n)
		st.Bytes += uint64(bytes)
		if err != nil && !gone {
			st.SendErrors++
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if gone {
			// The interface was taken out of the transport (it went away): stop its
			// channels quietly; IfacesChanged tidies up the rest.
			s.dropIface(ifindex, time.Now())
			return nil
		}
		if !s.failing[ifindex] {
			// Once per interface until a send there succeeds again: an interface that
			// fails every send must not write a line per datagram.
			s.failing[ifindex] = true
			if s.cfg.Logger != nil {
				s.cfg.Logger.Warn("send failed; further failures on this interface are not logged until a send succeeds",
					"ifindex", ifindex, "err", err)
			}
		}
		if s.sendFailures++; s.sendFailures > maxSendFailures {
			return fmt.Errorf("sender: giving up after %d failed sends: %w", s.sendFailures, err)
		}
		return nil
	}
	s.sendFailures = 0
	if len(s.failing) > 0 && s.failing[ifindex] {
		delete(s.failing, ifindex)
		if s.cfg.Logger != nil {
			s.cfg.Logger.Info("sending again", "ifindex", ifindex)
		}
	}
	if s.cfg.Delay > 0 {
		return sleep(ctx, time.Duration(n)*s.cfg.Delay)
	}
	return nil
}

// ipv6UDPHeaders is what each datagram costs on the wire beyond its payload.
const ipv6UDPHeaders = 48

// maxSendFailures is how many consecutive failed sends end Run.
const maxSendFailures = 1000
