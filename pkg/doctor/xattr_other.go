//go:build !linux

package doctor

// getxattr reports no attribute: file capabilities are a Linux feature.
func getxattr(string, string) ([]byte, error) { return nil, nil }
