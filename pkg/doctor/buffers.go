package doctor

import (
	"fmt"
)

// Buffers compares net.core.rmem_max and wmem_max with the socket buffers lcsync asks for.
// A receiver asks for rcvBuf (32 MiB by default, pkg/mcast.DefaultRcvBuf): a process with
// CAP_NET_ADMIN gets it whatever rmem_max says (SO_RCVBUFFORCE), any other gets at most
// rmem_max and may lose the datagrams of a send burst. A sender asks for sndBuf, or keeps the
// kernel's default (net.core.wmem_default) when it is 0, as it does today.
func Buffers(sys System, rcvBuf, sndBuf int) Result {
	rmax, err := readInt(sys, "/proc/sys/net/core/rmem_max")
	if err != nil {
		return warn(CheckBuffers, "cannot read net.core.rmem_max: "+err.Error(), "")
	}
	forced := false
	if b, err := sys.ReadFile("/proc/self/status"); err == nil {
		if pc, err := parseStatus(b); err == nil {
			forced = has(pc.eff, capNetAdmin)
		}
	}
	send := "the sender keeps the kernel's default send buffer"
	if sndBuf > 0 {
		wmax, err := readInt(sys, "/proc/sys/net/core/wmem_max")
		switch {
		case err != nil:
			return warn(CheckBuffers, "cannot read net.core.wmem_max: "+err.Error(), "")
		case wmax < int64(sndBuf) && !forced:
			return warn(CheckBuffers, fmt.Sprintf("net.core.wmem_max is %s, below the %s send buffer lcsync asks for", mib(wmax), mib(int64(sndBuf))),
				fmt.Sprintf("sysctl -w net.core.wmem_max=%d", sndBuf))
		}
		send = fmt.Sprintf("wmem_max %s allows the %s send buffer", mib(wmax), mib(int64(sndBuf)))
	}
	switch {
	case rmax >= int64(rcvBuf):
		return pass(CheckBuffers, fmt.Sprintf("net.core.rmem_max %s allows the %s receive buffer; %s", mib(rmax), mib(int64(rcvBuf)), send))
	case forced:
		return warn(CheckBuffers, fmt.Sprintf("net.core.rmem_max is %s: this process has CAP_NET_ADMIN and gets the %s receive buffer, but an unprivileged receiver (such as lcsync-fetch@) gets %s and may drop datagrams in bursts; %s",
			mib(rmax), mib(int64(rcvBuf)), mib(rmax), send),
			fmt.Sprintf("sysctl -w net.core.rmem_max=%d (persist it in /etc/sysctl.d/)", rcvBuf))
	}
	return warn(CheckBuffers, fmt.Sprintf("net.core.rmem_max is %s: an unprivileged receiver gets that instead of %s and may drop datagrams in bursts", mib(rmax), mib(int64(rcvBuf))),
		fmt.Sprintf("sysctl -w net.core.rmem_max=%d (persist it in /etc/sysctl.d/)", rcvBuf))
}

// mib formats a byte count.
func mib(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
