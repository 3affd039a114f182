package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
)

// Temporary directories live until their command returns, or until the
// process is interrupted (Ctrl-C, kill): a signal removes every one still
// there before tide exits, so a killed bench leaves nothing behind.
var temps = struct {
	sync.Mutex
	dirs    map[string]bool
	watched bool
}{dirs: map[string]bool{}}

// tempDir makes a temporary directory and returns it with the function
// that removes it. A TMPDIR that cannot hold one is named in the error.
func tempDir(prefix string) (string, func(), error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, userError{fmt.Errorf("cannot make a temporary directory in %s (set TMPDIR to a writable directory): %w", os.TempDir(), err)}
	}
	temps.Lock()
	defer temps.Unlock()
	temps.dirs[dir] = true
	if !temps.watched {
		temps.watched = true
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
		go func() {
			s := <-signals
			removeTempDirs()
			os.Exit(128 + int(s.(syscall.Signal))) // as a shell reports it: 130 for SIGINT
		}()
	}
	return dir, func() {
		temps.Lock()
		delete(temps.dirs, dir)
		temps.Unlock()
		os.RemoveAll(dir)
	}, nil
}

func removeTempDirs() {
	temps.Lock()
	defer temps.Unlock()
	for d := range temps.dirs {
		os.RemoveAll(d)
	}
}

// interruptedStatus recognizes a failure that is really an interrupt: Ctrl-C
// reaches the whole process group, so a child (clang, the harness, qemu)
// may die of it and its error return here before tide's own signal
// handler has run. It removes the temporary directories and gives the
// status a shell would report for the signal.
func interruptedStatus(err error) (int, bool) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || (ws.Signal() != syscall.SIGINT && ws.Signal() != syscall.SIGTERM) {
		return 0, false
	}
	removeTempDirs()
	return 128 + int(ws.Signal()), true
}
