package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Temporary directories live until their command returns, or until the
// process is interrupted (Ctrl-C, kill): a signal removes every one still
// there before tide exits, so a killed bench leaves nothing behind.
//
// They all lie in one root directory per run, which is also the TMPDIR of
// the tools tide starts: clang, gcc and the assembler make temporary files
// of their own, which a Ctrl-C that kills them mid-compile would otherwise
// leave in the user's TMPDIR.
var temps = struct {
	sync.Mutex
	root    string // "" until the first tempDir
	userTMP string // TMPDIR as the user set it
	hadTMP  bool
	dirs    map[string]bool
	watched bool
}{dirs: map[string]bool{}}

// tempDir makes a temporary directory and returns it with the function
// that removes it. A TMPDIR that cannot hold one is named in the error.
func tempDir(prefix string) (string, func(), error) {
	temps.Lock()
	defer temps.Unlock()
	if temps.root == "" {
		root, err := os.MkdirTemp("", "tide-")
		if err != nil {
			return "", nil, userError{fmt.Errorf("cannot make a temporary directory in %s (set TMPDIR to a writable directory): %w", os.TempDir(), err)}
		}
		temps.root = root
		temps.userTMP, temps.hadTMP = os.LookupEnv("TMPDIR")
		os.Setenv("TMPDIR", root) // the tools' own temporaries
	}
	dir, err := os.MkdirTemp(temps.root, prefix)
	if err != nil {
		return "", nil, userError{fmt.Errorf("cannot make a temporary directory in %s: %w", temps.root, err)}
	}
	temps.dirs[dir] = true
	if !temps.watched {
		temps.watched = true
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
		go func() {
			s := <-signals
			endTempDirs()
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

// endTempDirs removes the root with everything in it and gives TMPDIR back
// its value; run calls it when a command returns. A tool killed by the
// same Ctrl-C may still be writing its temporaries: removal is retried
// until the root is gone (a file cannot be made in a removed directory).
func endTempDirs() {
	temps.Lock()
	defer temps.Unlock()
	if temps.root == "" {
		return
	}
	for try := 0; try < 20; try++ {
		if os.RemoveAll(temps.root) == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if temps.hadTMP {
		os.Setenv("TMPDIR", temps.userTMP)
	} else {
		os.Unsetenv("TMPDIR")
	}
	temps.root = ""
	clear(temps.dirs)
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
	endTempDirs()
	return 128 + int(ws.Signal()), true
}
