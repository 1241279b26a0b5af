// Package netnstest builds throwaway Linux network namespaces for tests: single namespaces,
// and the lcsync rig (one sender and N receivers on a Linux bridge with MLD snooping and an
// MLDv2 querier, IPv6 addresses without DAD, optional IPv4 for peers that need it, packet loss
// through nftables random drop and rate through tbf).
//
// Everything a test creates is removed by t.Cleanup. Tests that need namespaces call Require,
// which skips loudly when the process is not root or lacks the tools, and fails instead when
// the environment variable LCSYNC_REQUIRE_NETNS=1 is set (CI sets it).
//
// The package is meant to be imported from _test.go files and the test/ directory only. It
// drives iproute2 (ip, bridge, tc) and nftables (nft) through exec; see
// ../../../shared/design/netns-rig-notes.md for the reasons behind each setting (the bridge
// querier's other-querier delay, MLDv2 versus v1, router ports).
//
// References: RFC 3810 (MLDv2) and RFC 4541 (IGMP and MLD snooping switches).
package netnstest
