//go:build !unix

package writers

import "os"

// lockFile does nothing where flock is not available; unlocked then never
// calls a file debris.
func lockFile(*os.File) {}

func unlocked(string) bool { return false }
