package test

import (
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// rigTools returns the commands netnstest needs for a rig with loss and rate shaping.
func rigTools() []string { return []string{"bridge", "nft", "tc"} }

// TestE2E runs the scenarios that need no impairment on one shared rig: a sender and four
// receivers on a snooping bridge with an MLDv2 querier. Each subtest starts its own server and
// stops it when it ends, so they are independent apart from the rig.
func TestE2E(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 4})
	t.Run("Sizes16K", func(t *testing.T) { testSizes(t, rig, 16384, true) })
	t.Run("Sizes1K", func(t *testing.T) { testSizes(t, rig, 1024, false) })
	t.Run("Tree", func(t *testing.T) { testTree(t, rig) })
	t.Run("FourReceivers", func(t *testing.T) { testFourReceivers(t, rig) })
	t.Run("LateJoiner", func(t *testing.T) { testLateJoiner(t, rig) })
	t.Run("PartialDest", func(t *testing.T) { testPartialDest(t, rig) })
	t.Run("Carousel", func(t *testing.T) { testCarousel(t, rig) })
	t.Run("HostileDatagrams", func(t *testing.T) { testHostileDatagrams(t, rig) })
	t.Run("HostileManifests", func(t *testing.T) { testHostileManifests(t, rig) })
	t.Run("ExitCodes", func(t *testing.T) { testExitCodes(t, rig) })
}
