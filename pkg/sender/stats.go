package sender

// Stats are the sender's counters.
type Stats struct {
	// Groups is how many groups the share answers; ManifestBytes the manifest's size;
	// Generation the manifest generation.
	Groups        int
	ManifestBytes int
	Generation    uint64
	// Active is how many channels are being sent now.
	Active int
	// Joins counts reports for our groups; DupJoins those ignored as repeats; Activations
	// the channels started.
	Joins, DupJoins, Activations uint64
	// FastLeaves counts channels stopped before their cycle ended because, after a leave,
	// MLD's last-listener query went unanswered.
	FastLeaves uint64
	// Cycles counts complete cycles sent.
	Cycles uint64
	// Datagrams and Bytes sent (Bytes includes IPv6 and UDP headers), by kind of packet.
	Datagrams, Bytes                           uint64
	ManifestPackets, TreePackets, BlockPackets uint64
	// ObjectPackets counts the chunks of tree objects sent (PROTOCOL.md §4.8).
	ObjectPackets uint64
	// ReplayPackets counts the tree packets sent again, out of turn, for hosts that joined a
	// data channel after the hashes of the part being sent had gone out (see replayHashes).
	ReplayPackets uint64
	// ParityPackets counts parity shards sent for receivers on parity channels.
	ParityPackets uint64
	// Slowdowns counts rate cuts after receivers reported drops; Rate is the current rate in
	// bits per second (0 before the first change).
	Slowdowns uint64
	Rate      float64
	// SendErrors counts failed batches; Refreshes the times the share changed and was served
	// with a new manifest.
	SendErrors, Refreshes uint64
	// With --watch: Updates counts the generations published from the watcher's changes,
	// Hashed the files hashed for them, Moved the renamed files that kept their tree unhashed,
	// Pushes the manifest pushes to joined hosts and ShrinkRefusals the generations the guard
	// held back, Rescans the full walks of the share (events lost, a file changed behind the
	// watcher, carousel's periodic walk).
	Updates, Hashed, Moved, Pushes, ShrinkRefusals, Rescans uint64
	// Listeners are, per interface the sender sends on, the hosts that asked for one of the
	// share's channels (a join, or a member answering a query) within the last five minutes
	// (MLD mode; recounted at most once a second).
	Listeners []IfaceListeners
}

// IfaceListeners counts the hosts listening on one interface (see Stats.Listeners).
type IfaceListeners struct {
	// Ifindex and Name name the interface.
	Ifindex int
	Name    string
	// Hosts is the number of distinct hosts.
	Hosts int
}
