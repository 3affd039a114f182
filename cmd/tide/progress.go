package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tide-compiler/tide/te"
)

// Progress bars on stderr for the steps that can take a while: the
// reference evaluator on a big kernel (a bar over its work), compiling a
// network and building and running generated code (a spinner with the
// elapsed time). Only on a terminal, so that pipes, logs and tests see
// exactly what they saw before, and only once a step has run for
// progressDelay, so that quick commands print nothing extra. A bar is
// cleared when its step ends.

// isTerminal reports whether w is a terminal; tests replace it.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

var progressDelay = time.Second

// statusBar is a progress bar that appears after progressDelay; nil (no terminal)
// does nothing.
type statusBar struct {
	w     io.Writer
	what  string
	start time.Time
	timer *time.Timer // a spinner's delayed start

	mu   sync.Mutex
	bar  *progressbar.ProgressBar
	last int64
	done bool
}

func newBar(w io.Writer, what string) *statusBar {
	if !isTerminal(w) {
		return nil
	}
	return &statusBar{w: w, what: what, start: time.Now()}
}

// show makes the progress bar of max units (-1: a spinner); b.mu is held.
func (b *statusBar) show(max int64) {
	if b.bar == nil && !b.done {
		b.bar = progressbar.NewOptions64(max, progressbar.OptionSetWriter(b.w), progressbar.OptionSetDescription(b.what),
			progressbar.OptionSetElapsedTime(true), progressbar.OptionSetPredictTime(max > 0),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
}

// set reports done units of total; it may be called from several goroutines.
func (b *statusBar) set(done, total int64) {
	if b == nil || time.Since(b.start) < progressDelay {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if done < b.last { // reports from several workers may cross
		return
	}
	b.last = done
	b.show(total)
	if b.bar != nil {
		b.bar.Set64(done)
	}
}

// activity shows a spinner for a step of unknown length until the returned
// function is called.
func activity(w io.Writer, what string) (stop func()) {
	b := newBar(w, what)
	if b == nil {
		return func() {}
	}
	b.timer = time.AfterFunc(progressDelay, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.show(-1)
		if b.bar != nil {
			b.bar.RenderBlank() // the spinner turns from its first render on
		}
	})
	return b.finish
}

// clear erases the bar from the terminal until its next report, so that a
// line can be printed in its place.
func (b *statusBar) clear() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		b.bar.Clear()
	}
}

// finish clears the bar.
func (b *statusBar) finish() {
	if b == nil {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	if b.bar != nil {
		b.bar.Finish()
	}
}

// evalKernel runs the reference evaluator with a progress bar on stderr.
func evalKernel(stderr io.Writer, k *te.Kernel, in []*te.Buffer, sizes map[*te.Var]int64) ([]*te.Buffer, error) {
	b := newBar(stderr, "reference evaluator")
	defer b.finish()
	var opts te.EvalOptions
	if b != nil {
		opts.Progress = b.set
	}
	return te.EvalKernelWith(k, in, sizes, opts)
}
