package tune

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// Record is one measured configuration, a line of the log (AutoTVM's
// tuning log, as JSON lines).
type Record struct {
	// Target is the target's name (host, x86-64, cortex-a53 or a TVM
	// string) and CPU the CPU code was generated for: host follows the
	// machine, so a record from another CPU does not apply.
	Target string `json:"target"`
	CPU    string `json:"cpu"`
	// Kernel is the kernel's name and Workload its tensors' types and
	// shapes, "A:float32[256,256] B:float32[256,256] -> C:float32[256,256]":
	// a record applies only to the same computation at the same size.
	Kernel   string `json:"kernel"`
	Workload string `json:"workload"`
	// Build are the code generation options that change the code ("" or
	// "fast-math"), Threads the OpenMP threads it ran on ("" for the
	// default): the first must match, the second is for the reader.
	Build   string `json:"build,omitempty"`
	Threads string `json:"threads,omitempty"`
	Config  Config `json:"config"`
	// Cost is seconds per call (measured, the median of Repeat calls) or
	// cycles (estimated by llvm-mca where the target only runs under
	// emulation), as Unit says; it is meaningful only when Status is ok.
	Cost   float64 `json:"cost"`
	Unit   string  `json:"unit"`
	Status Status  `json:"status"`
	Error  string  `json:"error,omitempty"`
	When   string  `json:"when"` // RFC 3339
}

// Status says how a measurement ended.
type Status string

const (
	OK         Status = "ok"
	BuildError Status = "build_error"  // the configuration does not lower or compile
	RunError   Status = "run_error"    // the code failed when run
	Wrong      Status = "wrong_output" // it ran and its outputs differ from the reference
)

// Units of Record.Cost.
const (
	Seconds = "s"
	Cycles  = "cycles"
)

// Now is the time stamp of a new record.
func Now() string { return time.Now().UTC().Format(time.RFC3339) }

// maxLine bounds a log line: a record is a few hundred bytes, and a
// damaged file must not make the reader allocate without limit.
const maxLine = 1 << 20

// ReadLog reads a log. A damaged line is an error that names it, except a
// last line cut short (a tuner killed while writing), which is dropped with
// a warning. A missing file is an empty log.
func ReadLog(path string) (recs []Record, warnings []string, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return parseLog(path, data)
}

func parseLog(path string, data []byte) (recs []Record, warnings []string, err error) {
	lines := bytes.Split(data, []byte("\n"))
	for i, text := range lines {
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		if len(text) > maxLine {
			return nil, nil, fmt.Errorf("%s:%d: a line of %d bytes is not a tuning record (at most %d)", path, i+1, len(text), maxLine)
		}
		var r Record
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		err := dec.Decode(&r)
		if err == nil && dec.More() {
			err = errors.New("more than one record on the line")
		}
		if err == nil {
			err = r.check()
		}
		if err != nil {
			// the last line has no newline only if its writer stopped
			if i == len(lines)-1 {
				warnings = append(warnings, fmt.Sprintf("%s:%d: the last line is cut short (a tuner stopped while writing it?); ignored", path, i+1))
				break
			}
			return nil, nil, fmt.Errorf("%s:%d: not a tuning record: %v", path, i+1, err)
		}
		recs = append(recs, r)
	}
	return recs, warnings, nil
}

// check rejects records no tuner writes, so that a hand-edited log cannot
// make a bad configuration look best.
func (r *Record) check() error {
	switch {
	case r.Target == "" || r.Kernel == "":
		return errors.New("target and kernel are required")
	case r.Status != OK && r.Status != BuildError && r.Status != RunError && r.Status != Wrong:
		return fmt.Errorf("unknown status %q (ok, build_error, run_error, wrong_output)", r.Status)
	case r.Status == OK && (r.Unit != Seconds && r.Unit != Cycles):
		return fmt.Errorf("unknown unit %q (s, cycles)", r.Unit)
	case r.Status == OK && (!(r.Cost > 0) || math.IsInf(r.Cost, 0)):
		return fmt.Errorf("a measured cost must be positive and finite, not %v", r.Cost)
	}
	return nil
}

// Append adds a record to the log at path, creating it; each record is one
// write of one line, so that a log stays readable if the tuner is killed.
func Append(path string, r Record) error {
	if err := r.check(); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one line, with its newline
	enc.SetEscapeHTML(false)     // shapes read "A -> C", not "A -\u003e C"
	if err := enc.Encode(r); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	// a tuner killed mid-line left a line without its newline, which
	// ReadLog drops with a warning: it goes, so that it does not become a
	// damaged line in the middle of the log
	if err := dropCutLine(f); err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// dropCutLine truncates f after its last newline when it does not end
// with one. Every record Append writes ends with a newline, so bytes after
// the last one are a record cut short.
func dropCutLine(f *os.File) error {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil || len(data) == 0 || data[len(data)-1] == '\n' {
		return err
	}
	return f.Truncate(int64(bytes.LastIndexByte(data, '\n') + 1))
}

// Workload is what a record must match to apply: the target, the CPU, the
// kernel, its shapes, and the code generation options that change the
// code (Build, e.g. "fast-math").
type Workload struct {
	Target, CPU, Kernel, Shapes, Build string
}

// AnyBuild as a Workload's Build matches records of any build options (a
// command that generates no code, tide lower).
const AnyBuild = "*"

// Matches reports whether r was measured on this workload.
func (w Workload) Matches(r Record) bool {
	return r.Target == w.Target && r.CPU == w.CPU && r.Kernel == w.Kernel && r.Workload == w.Shapes && (w.Build == AnyBuild || r.Build == w.Build)
}

// Select picks the fastest working record of the workload whose
// configuration fits the space. The notes say which records were ignored
// and why (another target, CPU, kernel or shape, or knobs the file no
// longer has), so that a log never applies silently to what it was not
// measured on.
func Select(recs []Record, w Workload, s Space) (best *Record, notes []string) {
	var other, failed, stale int
	var otherWhat, staleWhy string
	for i := range recs {
		r := &recs[i]
		switch {
		case !w.Matches(*r):
			other++
			if otherWhat == "" {
				otherWhat = describeMismatch(w, *r)
			}
		case r.Status != OK:
			failed++
		default:
			if err := s.Check(r.Config); err != nil {
				stale++
				if staleWhy == "" {
					staleWhy = err.Error()
				}
				continue
			}
			if best == nil || r.Cost < best.Cost {
				best = r
			}
		}
	}
	if other > 0 {
		notes = append(notes, fmt.Sprintf("%d record(s) not for this workload were ignored (e.g. %s)", other, otherWhat))
	}
	if failed > 0 {
		notes = append(notes, fmt.Sprintf("%d record(s) of failed configurations were ignored", failed))
	}
	if stale > 0 {
		notes = append(notes, fmt.Sprintf("%d record(s) whose knobs do not fit the file were ignored (e.g. %s)", stale, staleWhy))
	}
	return best, notes
}

func describeMismatch(w Workload, r Record) string {
	switch {
	case r.Target != w.Target:
		return fmt.Sprintf("target %s, not %s", r.Target, w.Target)
	case r.CPU != w.CPU:
		return fmt.Sprintf("CPU %s, not %s", r.CPU, w.CPU)
	case w.Build != AnyBuild && r.Build != w.Build:
		return fmt.Sprintf("built %q, not %q", r.Build, w.Build)
	case r.Kernel != w.Kernel:
		return fmt.Sprintf("kernel %s, not %s", r.Kernel, w.Kernel)
	}
	return fmt.Sprintf("shapes %s, not %s", r.Workload, w.Shapes)
}
