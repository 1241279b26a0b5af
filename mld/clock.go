package mld

import "time"

// A Clock is the time source of a State or Listener. Tests inject a fake one to drive
// expiry and queries without sleeping.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel after d.
	NewTimer(d time.Duration) Timer
}

// A Timer is a single-shot timer made by a Clock, with the semantics of time.Timer.
type Timer interface {
	// C returns the channel the time is sent on when the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it stopped the timer.
	Stop() bool
	// Reset makes the timer fire after d; it reports whether the timer had been active.
	Reset(d time.Duration) bool
}

// systemClock is the Clock backed by package time.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

// systemTimer adapts *time.Timer to Timer.
type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time        { return t.t.C }
func (t systemTimer) Stop() bool                 { return t.t.Stop() }
func (t systemTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }
