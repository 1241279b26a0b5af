//go:build !unix

package follow

import "os"

// lockFile does nothing where flock is missing: nothing tells two followers apart there.
func lockFile(*os.File) error { return nil }
