// Package dsl implements the .te language: a participle grammar, a splitter
// that keeps one bad statement from hiding the errors of the others, and an
// elaborator that builds te tensors and a kernel, reporting every error with
// its file:line:col, the source line and a caret.
package dsl

import (
	"fmt"
	"github.com/tide-compiler/tide/schedule"
	"sort"
	"strings"

	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tune"
)

// Program is an elaborated .te file.
type Program struct {
	File    string
	Tensors []*te.Tensor // every placeholder and compute, in declaration order
	Sizes   []*SizeDecl  // symbolic dimensions, in declaration order
	Kernel  *te.Kernel
	// Network is set for a network declaration: Kernel's inputs are then
	// the declared inputs followed by Weights, every other placeholder the
	// outputs read, in declaration order (their values come from a weights
	// file or a seed, at build time).
	Network   bool
	Weights   []*te.Tensor
	Schedules []*Schedule // schedule blocks, in source order
	// Knobs are the file's NAME = knob(...) constants, in declaration
	// order: what tide tune searches.
	Knobs tune.Space
	// KnobValues are the values the knobs took here: the first
	// candidate's, or -D's.
	KnobValues tune.Config
	// UnusedKnobs are the file's knobs that nothing reads: searching them
	// would time the same code again (tide tune leaves them out, saying so).
	UnusedKnobs []string
	Decls       map[*te.Tensor]Pos

	// Schedule is the kernel's schedule with every block applied.
	Schedule *schedule.Schedule
	// AnnPos and AttachPos give the statement that annotated a loop or
	// attached a stage, for diagnostics about them.
	AnnPos    map[*schedule.Axis]Pos
	AttachPos map[*schedule.Stage]Pos
	// AxisPos gives the statement that made an axis: the split, tile or
	// fuse that named it, or the cache_write, cache_read or rfactor that
	// made its stage; a root axis of a declared tensor is not in it (its
	// statement is the tensor's, in Decls). A side table: the schedule
	// itself knows nothing of source positions (tide lower --html links
	// loops to these lines).
	AxisPos map[*schedule.Axis]Pos
}

// SizeDecl is a symbolic dimension: n = var() or n = var(default=1000).
type SizeDecl struct {
	Var        *te.Var
	Default    int64
	HasDefault bool
	Pos        Pos
}

// Schedule is a schedule block: the primitives applied to one stage, in order.
// This package checks names; the schedule package gives them meaning.
type Schedule struct {
	Pos        Pos
	Stage      *te.Tensor // nil for a stage a primitive made (cache_write)
	StageName  string
	Primitives []*Primitive
}

// Primitive is one schedule statement: targets = name(args).
type Primitive struct {
	Pos     Pos
	Name    string
	Targets []*Name
	Args    []*PrimArg
}

// PrimArg is an argument of a primitive: an axis or tensor name, or an
// integer constant; Key is set for keyword arguments (factor=4).
type PrimArg struct {
	Pos    Pos
	Key    string
	Name   string // when IsName
	Value  int64  // otherwise
	IsName bool
}

// SizeValues binds every symbolic dimension of the kernel: from set (by
// name) or from the declared default.
func (p *Program) SizeValues(set map[string]int64) (map[*te.Var]int64, error) {
	out := map[*te.Var]int64{}
	known := map[string]bool{}
	for _, s := range p.Sizes {
		known[s.Var.Name] = true
		v, ok := set[s.Var.Name]
		switch {
		case ok:
		case s.HasDefault:
			v = s.Default
		default:
			return nil, fmt.Errorf("%s:%d:%d: symbolic dimension %s has no default; give it a value with --set %s=N",
				s.Pos.Filename, s.Pos.Line, s.Pos.Column, s.Var.Name, s.Var.Name)
		}
		if v <= 0 {
			return nil, fmt.Errorf("symbolic dimension %s must be positive, got %d", s.Var.Name, v)
		}
		out[s.Var] = v
	}
	var unknown []string
	for name := range set {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var names []string
		for _, s := range p.Sizes {
			names = append(names, s.Var.Name)
		}
		return nil, fmt.Errorf("--set names %s, which is not a symbolic dimension of %s (those are: %s)",
			strings.Join(unknown, ", "), p.File, strings.Join(append(names, "none")[:max(1, len(names))], ", "))
	}
	return out, nil
}

// Tensor returns the tensor declared with the given name, or nil.
func (p *Program) Tensor(name string) *te.Tensor {
	for _, t := range p.Tensors {
		if t.Name == name {
			return t
		}
	}
	return nil
}
