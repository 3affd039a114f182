package dsl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
	"github.com/tide-compiler/tide/tune"
)

// Applying schedule blocks: the checked primitives become calls on a
// schedule.Schedule. Loop-structure primitives (split, tile, fuse, reorder,
// annotations, caches) run first, block by block in source order; then the
// attachments (compute_at, compute_inline, compute_root), consumers first,
// so that the order of the blocks does not matter: a block may attach to
// loops another block makes later in the file, or next to a reader whose
// own attachment a later block sets. Errors point at the argument the
// schedule package blames.

type applier struct {
	el    *elab
	sched *schedule.Schedule
	axes  map[*schedule.Stage]map[string]*schedule.Axis
	made  map[string]*schedule.Stage // stages made by cache primitives, by target name
	// lost are the names a failed primitive would have made: their uses
	// stay silent rather than repeat the error.
	lost map[string]bool
}

// errSilent is an error already reported through an earlier one.
var errSilent = fmt.Errorf("(reported earlier)")

func (el *elab) applySchedules() {
	p := el.prog
	if p.Kernel == nil {
		return
	}
	// operators get the library's schedule, except where the file
	// schedules one of their stages itself
	mine := map[string]bool{}
	for _, blk := range p.Schedules {
		mine[blk.StageName] = true
	}
	keep := func(t *te.Tensor) bool { return mine[t.Name] }
	if p.Network {
		// no user schedule names a network operator's reduce axes: a
		// reduction over one element is that element, and can be inlined
		for _, t := range te.PostOrder(p.Kernel.Outputs) {
			if !keep(t) {
				t.DropUnitReduction()
			}
		}
	}
	a := &applier{el: el, sched: schedule.New(p.Kernel.Outputs...),
		axes: map[*schedule.Stage]map[string]*schedule.Axis{}, made: map[string]*schedule.Stage{}, lost: map[string]bool{}}
	// names whose declaration failed stay silent in schedules too
	for name, b := range el.globals {
		if b.kind == bPoison {
			a.lost[name] = true
		}
	}
	switch {
	case p.Network && el.netSched != nil && len(el.errs.list) == 0:
		if err := el.netSched(p, a.sched, keep); err != nil {
			el.errs.add(Pos{Filename: el.file, Line: 1, Column: 1}, "%v", err)
		}
	case el.target != nil:
		if err := topi.Apply(a.sched, *el.target, keep); err != nil {
			el.errs.add(Pos{Filename: el.file, Line: 1, Column: 1}, "%v (a bug in the operator library: please report it)", err)
		}
	}
	el.operatorKnobs()
	hadErrors := len(el.errs.list) > 0
	p.Schedule = a.sched
	p.AnnPos = map[*schedule.Axis]Pos{}
	p.AttachPos = map[*schedule.Stage]Pos{}
	p.AxisPos = map[*schedule.Axis]Pos{}
	blockPos := map[*schedule.Stage]Pos{}
	// a block for a stage that cache_write, cache_read or rfactor makes
	// waits until the block that makes it has run
	todo := slices.Clone(p.Schedules)
	for len(todo) > 0 {
		var waiting []*Schedule
		for _, blk := range todo {
			if a.stageNamed(blk.StageName) == nil && blk.Stage == nil && !a.isLost(blk.StageName) {
				waiting = append(waiting, blk)
			}
		}
		if len(waiting) == len(todo) {
			for _, blk := range waiting {
				el.errs.add(blk.Pos, "schedule %s: no stage %s; cache_write or cache_read must make it (CL = cache_write(C, local))", blk.StageName, blk.StageName)
			}
			break
		}
		for _, blk := range todo {
			if !slices.Contains(waiting, blk) {
				a.applyBlock(blk, false, blockPos)
			}
		}
		todo = waiting
	}
	// Then the attachments, consumers before their producers whatever the
	// order of the blocks: whether a producer may be computed at a loop
	// depends on where its readers are computed, or whether they are
	// inlined. (A stage is computed at a loop of a stage downstream of it,
	// so that stage's attachment is settled first.)
	stages := a.sched.Order()
	for i := len(stages) - 1; i >= 0; i-- {
		for _, blk := range p.Schedules {
			if a.stageNamed(blk.StageName) == stages[i] {
				a.applyBlock(blk, true, blockPos)
			}
		}
	}
	if hadErrors {
		return // the finished schedule of a broken program says little
	}
	a.check(blockPos)
}

// applyBlock applies the structure primitives of a block, or its attachments.
func (a *applier) applyBlock(blk *Schedule, attach bool, blockPos map[*schedule.Stage]Pos) {
	st := a.stageNamed(blk.StageName)
	if st == nil {
		return // a failed cache primitive: reported there
	}
	blockPos[st] = blk.Pos
	for _, prim := range blk.Primitives {
		if primitiveSpec(prim.Name).attaches != attach {
			continue
		}
		if err := a.apply(st, prim); err != nil {
			a.report(prim, err)
			for _, t := range prim.Targets {
				a.lost[t.Name] = true
			}
		}
	}
}

// check reports what only the finished schedule shows, at the statement
// that caused it.
func (a *applier) check(blockPos map[*schedule.Stage]Pos) {
	el, p := a.el, a.el.prog
	for _, e := range a.sched.Check() {
		pos, ok := p.AnnPos[e.Axis]
		if e.Axis == nil {
			pos, ok = p.AttachPos[e.Stage]
		}
		if !ok {
			pos, ok = blockPos[e.Stage]
		}
		if !ok {
			pos = el.prog.Decls[e.Stage.Tensor]
			// a stage a def call made: its declaration is in the def's body
			el.errs.ctx = el.declCtx[e.Stage.Tensor]
		}
		el.errs.add(pos, "%s", e.Msg)
		el.errs.ctx = ""
	}
}

// isLost reports whether name is one a failed primitive or a failed
// declaration (also in a def call's expansion) would have made.
func (a *applier) isLost(name string) bool {
	return a.lost[name] || a.el.lostName(name)
}

func (a *applier) stageNamed(name string) *schedule.Stage {
	if st := a.made[name]; st != nil {
		return st
	}
	if t := a.el.prog.Tensor(name); t != nil {
		return a.sched.Stage(t)
	}
	return nil
}

// names is the axis namespace of a stage: its root axes, then what
// primitives of its block named.
func (a *applier) names(st *schedule.Stage) map[string]*schedule.Axis {
	m := a.axes[st]
	if m == nil {
		m = map[string]*schedule.Axis{}
		for _, r := range st.Root {
			m[r.Name()] = r
		}
		a.axes[st] = m
	}
	return m
}

// report positions an error at the argument it concerns.
func (a *applier) report(prim *Primitive, err error) {
	if err == errSilent {
		return
	}
	pos := prim.Pos
	if se, ok := err.(*schedule.Error); ok && se.Arg >= 0 && se.Arg < len(prim.Args) {
		pos = prim.Args[se.Arg].Pos
	}
	if ae, ok := err.(*argError); ok {
		pos = ae.pos
	}
	a.el.errs.add(pos, "%s", err.Error())
}

type argError struct {
	pos Pos
	msg string
}

func (e *argError) Error() string { return e.msg }

func argErr(pos Pos, format string, args ...any) error {
	return &argError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

// apply applies one primitive to a stage, as its spec says.
func (a *applier) apply(st *schedule.Stage, p *Primitive) error {
	c, err := a.bind(st, p, primitiveSpec(p.Name))
	if err != nil {
		return err
	}
	return c.spec.apply(c)
}

// madeAt records pos as the statement that made the loops of a stage a
// primitive made.
func (a *applier) madeAt(st *schedule.Stage, pos Pos) {
	for _, ax := range st.Leaf {
		a.el.prog.AxisPos[ax] = pos
	}
}

func axisNames(axes []*schedule.Axis) string {
	var ns []string
	for _, a := range axes {
		ns = append(ns, a.Name())
	}
	if len(ns) == 0 {
		return "none" // a 0-d stage without a reduction
	}
	return strings.Join(ns, ", ")
}

// operatorKnobs lists the knobs the operator library's schedules asked for
// (topi.Knobs, when the caller set them on the target) with the file's
// own, so that -D gives them values and tide tune searches them.
func (el *elab) operatorKnobs() {
	if el.target == nil || el.target.Knobs == nil {
		return
	}
	p := el.prog
	for _, k := range el.target.Knobs.Declared {
		if slices.ContainsFunc(p.Knobs, func(o tune.Knob) bool { return o.Name == k.Name }) {
			continue
		}
		v, ok := el.target.Knobs.Values[k.Name]
		if !ok {
			v = k.Values[0]
		}
		p.Knobs = append(p.Knobs, k)
		if p.KnobValues == nil {
			p.KnobValues = tune.Config{}
		}
		p.KnobValues[k.Name] = v
		el.defined = append(el.defined, k.Name)
	}
}
