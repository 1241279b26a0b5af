// Command lcsync distributes files over IPv6 multicast with BLAKE2s merkle trees (RFC 7693),
// learning what receivers want only from the MLD reports they send (RFC 3810, RFC 2710); it
// also syncs local trees and prints trees.
//
//	lcsync /srv/share                 serve a directory or file
//	lcsync share/dir/ /tmp/out/       fetch a served name into a local destination
//	lcsync -a ./src/ ./dst/           sync locally, copying only changed blocks
//	lcsync --hex ./file               print a file's merkle tree
//	lcsync --doctor                   check this host and network for lcsync
//
// This package is the command only: it parses options (stdlib flag, options before or after
// arguments, bundled short switches), turns SIGINT and SIGTERM into context cancellation
// (and, for a server, SIGHUP into a re-index and SIGUSR1 into a statistics log line), wires
// the library packages together (package doctor for --doctor, package metrics for
// --metrics), prints the doctor's report, the completion scripts and the version, draws the
// progress bar and maps errors to the exit codes documented in lcsync(1). Only this package
// logs to the terminal or exits.
package main
