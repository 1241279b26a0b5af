package sender

import (
	"context"
	"time"
)

// bucket is a token bucket over bytes on the wire, shared by every channel.
type bucket struct {
	rate   float64 // bytes per second; 0 = unlimited
	burst  float64 // largest credit that accumulates while idle
	tokens float64
	last   time.Time
}

func newBucket(bitsPerSecond float64, batchBytes int) *bucket {
	b := &bucket{rate: bitsPerSecond / 8}
	// Enough credit for a few batches or 2 ms of traffic, whichever is larger: small enough to
	// keep bursts short, large enough that sleeps are not below timer resolution.
	b.burst = max(4*float64(batchBytes), b.rate*0.002)
	b.tokens = b.burst
	return b
}

// setRate changes the rate (bits per second), keeping the accumulated credit.
func (b *bucket) setRate(bitsPerSecond float64) {
	b.rate = bitsPerSecond / 8
	b.burst = max(b.burst/4, b.rate*0.002)
}

// take spends n bytes, sleeping first if the bucket is in debt. It returns ctx.Err() if ctx
// ends while sleeping.
func (b *bucket) take(ctx context.Context, n int) error {
	if b.rate == 0 {
		return nil
	}
	now := time.Now()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return nil
	}
	return sleep(ctx, time.Duration(-b.tokens/b.rate*float64(time.Second)))
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
