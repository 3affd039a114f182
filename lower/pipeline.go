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
	// After names the passes that must run before this one (when they
	// run at all: options may skip a pass), checked when the package
	// loads, as Go's compiler checks its pass order.
	After []string
	Run   func(f *Func, d *diags)
}

// Passes is the lowering pipeline after the loop nests are built, in order.
var Passes = []Pass{
	{Name: "simplify", Doc: "constant folding and index algebra",
		Run: func(f *Func, _ *diags) { f.Body = Simplify(f.Body) }},
	{Name: "partition", Doc: "split loops with a split's tail guard into a guard-free main part and a tail",
		After: []string{"simplify"}, // solves guards in their simplified form
		Run:   partition},
	{Name: "vectorize", Doc: "vectorized loops become ramp/broadcast/vector load-store expressions",
		After: []string{"partition"}, // a tail guard left inside would make the whole loop scalar
		Run:   vectorize},
	{Name: "unroll", Doc: "unrolled loops become copies of their body",
		After: []string{"vectorize"}, // copies of a vectorized loop would each be vectorized again
		Run:   unroll},
	{Name: "accumulate", Doc: "a loop's sums of integer casts accumulate in the cast operand's type and convert once after the loop",
		After: []string{"vectorize", "unroll"}, // it matches the vector casts and the unrolled sums
		Run:   accumulate},
	{Name: "final-simplify", Doc: "folding what unrolling and vectorizing exposed",
		After: []string{"vectorize", "unroll", "accumulate"},
		Run:   func(f *Func, _ *diags) { f.Body = Simplify(f.Body) }},
}

func init() {
	if err := checkPassOrder(Passes); err != nil {
		panic(err) // a wrong table is a bug in this file, found by any test
	}
}

// checkPassOrder checks that each pass comes after the passes it names.
func checkPassOrder(passes []Pass) error {
	pos := map[string]int{}
	for i, p := range passes {
		pos[p.Name] = i
	}
	for i, p := range passes {
		for _, a := range p.After {
			j, ok := pos[a]
			if !ok {
				return fmt.Errorf("pass %s must run after %s, which is no pass", p.Name, a)
			}
			if j >= i {
				return fmt.Errorf("pass %s must run after %s", p.Name, a)
			}
		}
	}
	return nil
}

// NestPass is the name of the first step, building the loop nests from the
// schedule (with inlining and bound inference); the printer can show its
// result like any pass's.
const NestPass = "nest"

// NestDoc says what the first step does.
const NestDoc = "loop nests from the schedule: splits, fuses, inlining, compute_at regions by bound inference"

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
	d := &diags{}
	f, err := buildNests(k, s, d)
	if err != nil {
		return nil, nil, err
	}
	if observe != nil {
		observe(NestPass, f)
	}
	f.Passes = []string{NestPass}
	if err := verifyAfter(f); err != nil {
		return nil, nil, err
	}
	for _, p := range Passes {
		if opts.Skip[p.Name] {
			continue
		}
		p.Run(f, d)
		f.Passes = append(f.Passes, p.Name)
		if observe != nil {
			observe(p.Name, f)
		}
		if err := verifyAfter(f); err != nil {
			return nil, nil, err
		}
	}
	return f, d.list, nil
}

// verifyAfter runs Verify after a step: a broken invariant is a bug in
// Tide, reported as one rather than compiled into wrong code.
func verifyAfter(f *Func) error {
	if err := Verify(f); err != nil {
		return fmt.Errorf("the loop IR after the %s pass is invalid (a bug in Tide, please report it with the input):\n%w", f.Passes[len(f.Passes)-1], err)
	}
	return nil
}
