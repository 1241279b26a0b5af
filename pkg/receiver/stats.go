package receiver

import "time"

// Stats describe a finished (or failed) fetch.
type Stats struct {
	// Files fetched or updated, unchanged, and other entries (directories, symlinks) made.
	Files, Unchanged, Other int
	// Deleted counts entries removed by Delete.
	Deleted int
	// Blocks is the number of blocks of the files considered; Needed those that had to come
	// over the network; Reused those taken from the local copy.
	Blocks, Needed, Reused int64
	// NeededBytes is the size of the needed blocks.
	NeededBytes int64
	// Cloned counts the bytes of local copies cloned into temporary files on a tree
	// Config.LocalTree vouched for, neither read nor hashed.
	Cloned int64
	// Datagrams and BytesReceived count every datagram read (payload bytes).
	Datagrams, BytesReceived int64
	// Duplicates counts block pieces that carried nothing new; WastedBytes the block bytes
	// that were not needed (duplicates, unneeded blocks, discarded corrupt blocks).
	Duplicates  int64
	WastedBytes int64
	// Corrupt counts blocks or hash runs that failed verification and were received again;
	// Malformed datagrams that did not parse; Foreign datagrams for nothing we wanted.
	Corrupt, Malformed, Foreign int64
	// Distrusted counts block pieces ignored because their source sent a block of the same
	// file that failed verification (review M2).
	Distrusted int64
	// KernelDrops counts datagrams the kernel dropped for lack of receive buffer; Slowdowns the
	// times the receiver asked the sender to slow down because of them.
	KernelDrops uint64
	Slowdowns   int
	// Joins counts channel joins, Rejoins those made again after a silence, Repairs the
	// narrower channels joined to fetch blocks a cycle left missing.
	Joins, Rejoins, Repairs int
	// TreeBytes counts the tree hashes received (pages and leaf runs).
	TreeBytes int64
	// ParityPackets counts parity shards received; Rebuilt the blocks restored from them;
	// FECLayers the most parity layers joined on one channel; Loss the block datagrams
	// measured lost, as a fraction.
	ParityPackets int64
	Rebuilt       int64
	FECLayers     int
	Loss          float64
	// Duration of the fetch.
	Duration time.Duration
}

// Rate returns the useful throughput in bytes per second.
func (s Stats) Rate() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.NeededBytes) / s.Duration.Seconds()
}

// add accumulates the stats of another attempt of the same fetch (see Config.Listen): what
// arrived and what was done adds up; the outcome of files is the last attempt's, which saw
// what the earlier ones put in place.
func (s *Stats) add(o Stats) {
	s.Files, s.Unchanged, s.Other, s.Deleted = o.Files, o.Unchanged, o.Other, o.Deleted
	s.Blocks, s.Reused = o.Blocks, o.Reused
	s.Needed += o.Needed
	s.NeededBytes += o.NeededBytes
	s.Cloned += o.Cloned
	s.Datagrams += o.Datagrams
	s.BytesReceived += o.BytesReceived
	s.Duplicates += o.Duplicates
	s.WastedBytes += o.WastedBytes
	s.Corrupt += o.Corrupt
	s.Malformed += o.Malformed
	s.Foreign += o.Foreign
	s.Distrusted += o.Distrusted
	s.KernelDrops += o.KernelDrops
	s.Slowdowns += o.Slowdowns
	s.Joins += o.Joins
	s.Rejoins += o.Rejoins
	s.Repairs += o.Repairs
	s.TreeBytes += o.TreeBytes
	s.ParityPackets += o.ParityPackets
	s.Rebuilt += o.Rebuilt
	s.FECLayers = max(s.FECLayers, o.FECLayers)
	s.Loss = max(s.Loss, o.Loss)
	s.Duration += o.Duration
}
