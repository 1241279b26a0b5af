// Package test holds the end-to-end tests of the lcsync binary: a sender and several
// receivers, each in its own Linux network namespace on a bridge with MLD snooping
// (pkg/netnstest), move real files over IPv6 multicast and the results are compared with the
// source byte for byte, with modes, modification times and symlink targets.
//
// TestMain builds ./cmd/lcsync once (or takes the binary named by LCSYNC_E2E_BIN); every test
// then runs that binary inside the namespaces with `ip netns exec`. The tests cover the sizes matrix around block boundaries and a file of
// more than 100 MiB, directory trees with empty directories, symlinks, modes and mtimes (-a),
// several receivers at once, a late joiner, a partial destination (only the changed blocks
// travel), packet loss, hostile datagrams injected into the groups in use, hostile manifests
// (names with "..", absolute names, entries below symlinks), carousel mode, the exit codes, and
// live serving (--watch: fetches right after a write, slow writers, the shrink guard, excludes).
//
// Every test calls netnstest.Require: without root they skip with the reason, and with
// LCSYNC_REQUIRE_NETNS=1 they fail instead. All traffic stays inside the namespaces the tests
// create, every command runs under a timeout, and servers are stopped with SIGTERM and waited
// for.
//
// The protocol under test is PROTOCOL.md: IPv6 multicast (RFC 4291, RFC 3493), MLDv2
// (RFC 3810) as the only receiver-to-sender signal, and BLAKE2s-256 (RFC 7693) merkle trees.
// The package contains no non-test code besides this comment.
package test
