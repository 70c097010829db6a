//go:build !linux

package writers

import (
	"io/fs"
	"time"
)

// changed returns the file's modification time: a backup (a hard link of an
// earlier output) may then be removed as debris before a minute has passed
// since it was made, which matters only to a run committing to the same
// folder at the same time.
func changed(fi fs.FileInfo) time.Time { return fi.ModTime() }
