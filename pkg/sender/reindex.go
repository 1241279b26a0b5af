package sender

// Reindex asks Run to re-walk the share now (re-hashing only changed files), as a manifest
// request would, without waiting for one. It never blocks and is safe to call from any
// goroutine; requests made while one is pending collapse into it. A change is served with a
// new manifest generation and counted in Stats.Refreshes.
func (s *Sender) Reindex() {
	select {
	case s.reindex <- struct{}{}:
	default:
	}
}
