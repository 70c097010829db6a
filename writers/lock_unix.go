//go:build unix

package writers

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f (flock), held until f is closed
// (or its process ends, however it ends): a staged file's, so that another
// run's removeDebris knows it is alive.
func lockFile(f *os.File) {
	syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// unlocked reports whether no process holds a lock on the file at path:
// then it is a dead run's debris. Where locks cannot be taken it says no.
func unlocked(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
