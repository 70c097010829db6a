package writers

import (
	"io/fs"
	"syscall"
	"time"
)

// changed returns when the file's inode last changed (its ctime: written,
// renamed, or linked).
func changed(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)) // int32 on 386
	}
	return fi.ModTime()
}
