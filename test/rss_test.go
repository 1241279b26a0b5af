package test

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// pollHWM reads the VmHWM (peak resident set) of process pid every 20 ms until stop is closed
// or the process is gone, and returns the highest value seen, in bytes.
func pollHWM(pid int, stop <-chan struct{}) int64 {
	var peak int64
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, ok := vmHWM(pid); ok {
			peak = max(peak, v)
		}
		select {
		case <-stop:
			return peak
		case <-tick.C:
		}
	}
}

// vmHWM returns the VmHWM line of /proc/PID/status in bytes.
func vmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err == nil
			}
		}
	}
	return 0, false
}
