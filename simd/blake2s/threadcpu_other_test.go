//go:build !linux

package blake2s

// threadCPU reports nothing where there is no per-thread CPU time: the
// benchmarks then omit their cpuMB/s metric.
func threadCPU() int64 { return 0 }
