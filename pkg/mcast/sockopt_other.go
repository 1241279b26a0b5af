//go:build !linux

package mcast

import (
	"errors"
	"net/netip"
	"syscall"
)

type rxOpts struct{ gro, forced bool }

type rxControl struct {
	drops    uint32
	hasDrops bool
	segSize  int
	dst      netip.Addr
	ifindex  int
	hasDst   bool
}

func receiverControl(*RecvConfig, *rxOpts) func(string, string, syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error { return ErrNotSupported }
}

func senderControl(*SendConfig) func(string, string, syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error { return ErrNotSupported }
}

func recvBufSize(syscall.RawConn) (int, error) { return 0, ErrNotSupported }
func probeGSO(syscall.RawConn) bool            { return false }
func gsoControl(int) []byte                    { return nil }
func parseControl([]byte) (rxControl, error)   { return rxControl{}, ErrNotSupported }
func transient(error) bool                     { return false }
func gsoRefused(err error) bool                { return errors.Is(err, ErrNotSupported) }
func isMsgTrunc(int) bool                      { return false }

func queueFill(syscall.RawConn) (int, int, error) { return 0, 0, ErrNotSupported }
