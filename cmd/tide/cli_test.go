package main

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/te"
)

func TestVersion(t *testing.T) {
	status, stdout, stderr := tide(t, "--version")
	if status != 0 || !strings.HasPrefix(stdout, "tide ") || !strings.Contains(stdout, runtime.Version()) {
		t.Errorf("status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
}

// No flag shows a default that means nothing, as pflag does for an empty
// map ("(default map[])") or list.
func TestHelpShowsNoEmptyDefaults(t *testing.T) {
	for _, c := range [][]string{{}, {"check"}, {"eval"}, {"lower"}, {"build"}, {"run"}, {"bench"}, {"weights"}} {
		status, stdout, stderr := tide(t, append(c, "--help")...)
		if status != 0 {
			t.Fatalf("%v --help: status %d, %s", c, status, stderr)
		}
		for _, junk := range []string{"map[", "(default [])", "(default \"\")", "<nil>", "--without strings"} {
			if strings.Contains(stdout, junk) {
				t.Errorf("tide %s --help shows %q:\n%s", strings.Join(c, " "), junk, stdout)
			}
		}
	}
	if _, stdout, _ := tide(t, "run", "--help"); !strings.Contains(stdout, "--rtol") || !strings.Contains(stdout, "--atol") {
		t.Errorf("run --help names no tolerance flags:\n%s", stdout)
	}
}

func TestRunRefusesBadTolerance(t *testing.T) {
	for _, c := range []struct{ flag, value, want string }{
		{"--rtol", "-1", "--rtol -1: a tolerance must be a finite number >= 0"},
		{"--atol", "NaN", "--atol NaN: a tolerance must be a finite number >= 0"},
		{"--atol", "+Inf", "--atol +Inf: a tolerance must be a finite number >= 0"},
	} {
		status, stdout, stderr := tide(t, "run", "../../examples/elementwise.te", c.flag, c.value)
		if status != 2 || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%s %s: status %d, stdout %q, stderr %q", c.flag, c.value, status, stdout, stderr)
		}
	}
}

// compareOutputs states the tolerance on PASS and FAIL lines, and holds
// float outputs to atol + rtol*|want|.
func TestCompareOutputsTolerance(t *testing.T) {
	src, err := os.ReadFile("../../examples/elementwise.te")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := dsl.Parse("elementwise.te", src)
	if err != nil {
		t.Fatal(err)
	}
	want := te.NewBuffer(te.Float32, []int{2})
	got := te.NewBuffer(te.Float32, []int{2})
	want.Floats[0], want.Floats[1] = 100, 1
	got.Floats[0], got.Floats[1] = 100.05, 1
	var out bytes.Buffer
	if compareOutputs(&out, prog, []*te.Buffer{got}, []*te.Buffer{want}, " on x", defaultTol) {
		t.Errorf("an error of 0.05 at 100 passed the default tolerance: %s", out.String())
	}
	if line := out.String(); !strings.HasPrefix(line, "FAIL C on x: at [0]: got 100.05") || !strings.HasSuffix(line, "(tolerance |got - want| <= 0.0001 + 0.0001*|want|)\n") {
		t.Errorf("FAIL line %q", line)
	}
	out.Reset()
	if !compareOutputs(&out, prog, []*te.Buffer{got}, []*te.Buffer{want}, " on x", tolerance{rtol: 1e-3}) {
		t.Errorf("an error of 0.05 at 100 failed rtol 1e-3: %s", out.String())
	}
	if line := out.String(); !strings.Contains(line, "PASS C on x (max abs error") || !strings.Contains(line, "; tolerance |got - want| <= 0 + 0.001*|want|)") {
		t.Errorf("PASS line %q", line)
	}
	out.Reset()
	if compareOutputs(&out, prog, []*te.Buffer{got}, []*te.Buffer{want}, "", tolerance{atol: 0.01}) {
		t.Errorf("an error of 0.05 passed atol 0.01: %s", out.String())
	}
	ints := te.NewBuffer(te.Int32, []int{2})
	out.Reset()
	compareOutputs(&out, prog, []*te.Buffer{ints}, []*te.Buffer{ints}, "", defaultTol)
	if line := out.String(); line != "PASS C (max abs error 0; exact: int32 output)\n" {
		t.Errorf("integer PASS line %q", line)
	}
}

// A progress bar appears on stderr when it is a terminal and the step takes
// longer than the delay, and never otherwise.
func TestProgressOnlyOnATerminal(t *testing.T) {
	args := []string{"eval", "../../examples/matmul.te", "-D", "M=64", "-D", "N=64", "-D", "K=64"}
	status, stdout, stderr := tide(t, args...)
	if status != 0 || stderr != "" {
		t.Fatalf("not a terminal: status %d, stderr %q", status, stderr)
	}
	plain := stdout
	terminal, delay := isTerminal, progressDelay
	defer func() { isTerminal, progressDelay = terminal, delay }()
	isTerminal = func(io.Writer) bool { return true }
	progressDelay = 0
	status, stdout, stderr = tide(t, args...)
	if status != 0 || !strings.Contains(stderr, "reference evaluator") || stdout != plain {
		t.Errorf("on a terminal: status %d, stderr %q, stdout changed: %v", status, stderr, stdout != plain)
	}
	// a spinner shows after the delay, and stops when asked
	progressDelay = 10 * time.Millisecond
	var buf syncBuffer
	stop := activity(&buf, "compiling x.te")
	time.Sleep(300 * time.Millisecond)
	stop()
	if !strings.Contains(buf.String(), "compiling x.te") {
		t.Errorf("spinner: %q", buf.String())
	}
}

// syncBuffer is a bytes.Buffer that a spinner's goroutine may write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
