package main

import (
	"fmt"
	"os"
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
			temps.Lock()
			for d := range temps.dirs {
				os.RemoveAll(d)
			}
			temps.Unlock()
			code := 130 // 128 + SIGINT, as a shell reports it
			if s == syscall.SIGTERM {
				code = 143
			}
			os.Exit(code)
		}()
	}
	return dir, func() {
		temps.Lock()
		delete(temps.dirs, dir)
		temps.Unlock()
		os.RemoveAll(dir)
	}, nil
}
