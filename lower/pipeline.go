package lower

import (
	"errors"
	"fmt"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// Diagnostic is something the compiler tells the user about their schedule:
// a warning when it could not do what was asked (a vectorized loop that runs
// scalar, an unrolled loop kept as a loop), a note for what it did on its own
// (a split's tail handled by a scalar loop).
type Diagnostic struct {
	Warning bool
	Axis    *schedule.Axis // the loop concerned, when there is one
	Msg     string
}

func (d Diagnostic) String() string {
	kind := "note"
	if d.Warning {
		kind = "warning"
	}
	return kind + ": " + d.Msg
}

type diags struct{ list []Diagnostic }

func (d *diags) warn(ax *schedule.Axis, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Warning: true, Axis: ax, Msg: fmt.Sprintf(format, args...)})
}

func (d *diags) note(ax *schedule.Axis, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Axis: ax, Msg: fmt.Sprintf(format, args...)})
}

// Pass is one step of the pipeline over a lowered function.
type Pass struct {
	Name string
	Doc  string
	Run  func(f *Func, d *diags)
}

// Passes is the lowering pipeline after the loop nests are built, in order.
var Passes = []Pass{
	{"simplify", "constant folding and index algebra", func(f *Func, _ *diags) { f.Body = Simplify(f.Body) }},
	{"partition", "split loops with a split's tail guard into a guard-free main part and a tail", partition},
	{"vectorize", "vectorized loops become ramp/broadcast/vector load-store expressions", vectorize},
	{"unroll", "unrolled loops become copies of their body", unroll},
	{"accumulate", "a loop's sums of integer casts accumulate in the cast operand's type and convert once after the loop", accumulate},
	{"final-simplify", "folding what unrolling and vectorizing exposed", func(f *Func, _ *diags) { f.Body = Simplify(f.Body) }},
}

// NestPass is the name of the first step, building the loop nests from the
// schedule (with inlining and bound inference); the printer can show its
// result like any pass's.
const NestPass = "nest"

// PassNames lists every step's name, in order.
func PassNames() []string {
	names := []string{NestPass}
	for _, p := range Passes {
		names = append(names, p.Name)
	}
	return names
}

// Lower turns a scheduled kernel into loop IR. observe, when not nil, sees
// the function after each step (for --print-after). A schedule that Check
// rejects is an error listing every problem.
func Lower(k *te.Kernel, s *schedule.Schedule, observe func(pass string, f *Func)) (*Func, []Diagnostic, error) {
	return LowerWith(k, s, Options{}, observe)
}

// Options change the pipeline.
type Options struct {
	// Skip names passes not to run (an ablation: a network without the
	// fast popcount skips accumulate, so its sums are full-width).
	Skip map[string]bool
}

// LowerWith is Lower with options.
func LowerWith(k *te.Kernel, s *schedule.Schedule, opts Options, observe func(pass string, f *Func)) (*Func, []Diagnostic, error) {
	if errs := s.Check(); len(errs) > 0 {
		var all []error
		for _, e := range errs {
			all = append(all, e)
		}
		return nil, nil, errors.Join(all...)
	}
	f, err := buildNests(k, s)
	if err != nil {
		return nil, nil, err
	}
	if observe != nil {
		observe(NestPass, f)
	}
	d := &diags{}
	for _, p := range Passes {
		if opts.Skip[p.Name] {
			continue
		}
		p.Run(f, d)
		if observe != nil {
			observe(p.Name, f)
		}
	}
	return f, d.list, nil
}
