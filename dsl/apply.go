package dsl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// Applying schedule blocks: the checked primitives become calls on a
// schedule.Schedule. Loop-structure primitives (split, tile, fuse, reorder,
// annotations, caches) run first, block by block in source order; then the
// attachments (compute_at, compute_inline, compute_root), so a block may
// attach to loops another block makes later in the file. Errors point at the
// argument the schedule package blames.

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

var attachPrims = []string{"compute_at", "compute_inline", "compute_root"}

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
	hadErrors := len(el.errs.list) > 0
	p.Schedule = a.sched
	p.AnnPos = map[*schedule.Axis]Pos{}
	p.AttachPos = map[*schedule.Stage]Pos{}
	p.AxisPos = map[*schedule.Axis]Pos{}
	blockPos := map[*schedule.Stage]Pos{}
	for _, attach := range []bool{false, true} {
		// a block for a stage that cache_write or cache_read makes waits
		// until the block that makes it has run
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
					a.applyBlock(blk, attach, blockPos)
				}
			}
			todo = waiting
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
		if slices.Contains(attachPrims, prim.Name) != attach {
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

// signature describes how a primitive is written: its targets, its
// positional arguments, and its keywords.
var signatures = map[string]string{
	"split":          "io, ii = split(i, factor=8) or split(i, nparts=4), optionally tail=partition|guard",
	"tile":           "xo, yo, xi, yi = tile(x, y, 8, 8)",
	"fuse":           "f = fuse(a, b)",
	"reorder":        "reorder(a, b, c)",
	"vectorize":      "vectorize(ii)",
	"unroll":         "unroll(ii)",
	"parallel":       "parallel(io)",
	"compute_at":     "compute_at(Consumer, axis)",
	"compute_inline": "compute_inline()",
	"compute_root":   "compute_root()",
	"cache_write":    "CL = cache_write(C) or cache_write(C, local)",
	"cache_read":     "AL = cache_read(A) or cache_read(A, local, Reader...)",
	"rfactor":        "CF = rfactor(C, ki)",
}

func (a *applier) apply(st *schedule.Stage, p *Primitive) error {
	targets := map[string]int{"split": 2, "tile": 4, "fuse": 1, "cache_write": 1, "cache_read": 1, "rfactor": 1}[p.Name]
	usage := signatures[p.Name]
	switch {
	case usage == "":
		return argErr(p.Pos, "%s is not supported yet", p.Name)
	}
	if len(p.Targets) != targets {
		return argErr(p.Pos, "%s gives %d result(s), not %d; write %s", p.Name, targets, len(p.Targets), usage)
	}
	var pos []*PrimArg
	kw := map[string]*PrimArg{}
	allowed := map[string][]string{"split": {"factor", "nparts", "tail"}, "tile": {"x_factor", "y_factor"}, "cache_write": {"scope"}, "cache_read": {"scope"}}[p.Name]
	for _, arg := range p.Args {
		switch {
		case arg.Key == "":
			pos = append(pos, arg)
		case !slices.Contains(allowed, arg.Key):
			return argErr(arg.Pos, "%s has no keyword %s; write %s%s", p.Name, arg.Key, usage, suggest(arg.Key, allowed))
		case kw[arg.Key] != nil:
			return argErr(arg.Pos, "%s: %s= is given twice", p.Name, arg.Key)
		default:
			kw[arg.Key] = arg
		}
	}
	names := a.names(st)
	axis := func(arg *PrimArg) (*schedule.Axis, error) {
		if !arg.IsName {
			return nil, argErr(arg.Pos, "%s: expected an axis of %s, got the number %d", p.Name, st.Name(), arg.Value)
		}
		ax := names[arg.Name]
		if ax == nil && a.isLost(arg.Name) {
			return nil, errSilent
		}
		if ax == nil {
			for _, other := range a.sched.Stages {
				if other != st && a.names(other)[arg.Name] != nil {
					return nil, argErr(arg.Pos, "%s: %s is an axis of %s, not of %s; the loops of %s are %s", p.Name, arg.Name, other.Name(), st.Name(), st.Name(), axisNames(st.Leaf))
				}
			}
			var cands []string
			for n := range names {
				cands = append(cands, n)
			}
			slices.Sort(cands)
			return nil, argErr(arg.Pos, "%s: %s has no axis %q (its axes are %s)%s", p.Name, st.Name(), arg.Name, strings.Join(cands, ", "), suggest(arg.Name, cands))
		}
		return ax, nil
	}
	number := func(arg *PrimArg, what string) (int64, error) {
		if arg.IsName {
			return 0, argErr(arg.Pos, "%s: the %s must be a constant integer, not %s", p.Name, what, arg.Name)
		}
		if arg.Value <= 0 {
			return 0, argErr(arg.Pos, "%s: the %s must be positive, not %d", p.Name, what, arg.Value)
		}
		return arg.Value, nil
	}
	npos := func(lo, hi int) error {
		switch {
		case hi >= 0 && len(pos) > hi:
			return argErr(pos[hi].Pos, "%s takes at most %d positional argument(s), not %d; write %s", p.Name, hi, len(pos), usage)
		case len(pos) < lo:
			return argErr(p.Pos, "%s needs at least %d positional argument(s), not %d; write %s", p.Name, lo, len(pos), usage)
		}
		return nil
	}
	name := func(ax *schedule.Axis, i int) {
		ax.SetName(p.Targets[i].Name)
		names[p.Targets[i].Name] = ax
		a.el.prog.AxisPos[ax] = p.Pos
	}
	stageArg := func(arg *PrimArg) (*schedule.Stage, error) {
		if !arg.IsName {
			return nil, argErr(arg.Pos, "%s: expected a stage, got the number %d", p.Name, arg.Value)
		}
		s := a.stageNamed(arg.Name)
		if s == nil && a.isLost(arg.Name) {
			return nil, errSilent
		}
		if s == nil {
			return nil, argErr(arg.Pos, "%s: %s is not a computed stage of kernel %s", p.Name, arg.Name, a.el.prog.Kernel.Name)
		}
		return s, nil
	}
	switch p.Name {
	case "split":
		if err := npos(1, 2); err != nil {
			return err
		}
		ax, err := axis(pos[0])
		if err != nil {
			return err
		}
		spec := &schedule.Split{}
		factor, nparts := kw["factor"], kw["nparts"]
		if len(pos) == 2 {
			factor = pos[1]
		}
		switch {
		case factor != nil && nparts != nil:
			return argErr(nparts.Pos, "split: give factor= or nparts=, not both")
		case factor != nil:
			if spec.Factor, err = number(factor, "factor"); err != nil {
				return err
			}
		case nparts != nil:
			if spec.NParts, err = number(nparts, "nparts"); err != nil {
				return err
			}
		default:
			return argErr(p.Pos, "split needs factor= or nparts=; write %s", usage)
		}
		if t := kw["tail"]; t != nil {
			i := slices.Index(schedule.TailNames, t.Name)
			if !t.IsName || i < 0 {
				what := fmt.Sprint(t.Value)
				if t.IsName {
					what = fmt.Sprintf("%q", t.Name)
				}
				return argErr(t.Pos, "split: unknown tail strategy %s; the strategies are %s", what, strings.Join(schedule.TailNames, ", "))
			}
			spec.Tail = schedule.Tail(i)
		}
		o, in, err := st.SplitBy(ax, spec)
		if err != nil {
			return err
		}
		name(o, 0)
		name(in, 1)
	case "tile":
		if err := npos(2, 4); err != nil {
			return err
		}
		x, err := axis(pos[0])
		if err != nil {
			return err
		}
		y, err := axis(pos[1])
		if err != nil {
			return err
		}
		fargs := []*PrimArg{kw["x_factor"], kw["y_factor"]}
		for i := 2; i < len(pos); i++ {
			fargs[i-2] = pos[i]
		}
		var f [2]int64
		for i, fa := range fargs {
			if fa == nil {
				return argErr(p.Pos, "tile needs two factors; write %s", usage)
			}
			if f[i], err = number(fa, "factor"); err != nil {
				return err
			}
		}
		xo, yo, xi, yi, err := st.Tile(x, y, f[0], f[1])
		if err != nil {
			return err
		}
		for i, ax := range []*schedule.Axis{xo, yo, xi, yi} {
			name(ax, i)
		}
	case "fuse":
		if err := npos(2, 2); err != nil {
			return err
		}
		o, err := axis(pos[0])
		if err != nil {
			return err
		}
		in, err := axis(pos[1])
		if err != nil {
			return err
		}
		f, err := st.Fuse(o, in)
		if err != nil {
			return err
		}
		name(f, 0)
	case "reorder":
		if err := npos(1, -1); err != nil {
			return err
		}
		var axes []*schedule.Axis
		for _, arg := range pos {
			ax, err := axis(arg)
			if err != nil {
				return err
			}
			axes = append(axes, ax)
		}
		return st.Reorder(axes...)
	case "vectorize", "unroll", "parallel":
		if err := npos(1, 1); err != nil {
			return err
		}
		ax, err := axis(pos[0])
		if err != nil {
			return err
		}
		a.el.prog.AnnPos[ax] = p.Pos
		return map[string]func(*schedule.Axis) error{"vectorize": st.Vectorize, "unroll": st.Unroll, "parallel": st.Parallel}[p.Name](ax)
	case "compute_at":
		if err := npos(2, 2); err != nil {
			return err
		}
		c, err := stageArg(pos[0])
		if err != nil {
			return err
		}
		arg := pos[1]
		if !arg.IsName {
			return argErr(arg.Pos, "compute_at: expected a loop of %s, got the number %d", c.Name(), arg.Value)
		}
		ax := a.names(c)[arg.Name]
		if ax == nil && a.isLost(arg.Name) {
			return errSilent
		}
		if ax == nil {
			return argErr(arg.Pos, "compute_at: %s is not a loop of %s; the loops of %s are %s%s", arg.Name, c.Name(), c.Name(), axisNames(c.Leaf), suggest(arg.Name, strings.Split(axisNames(c.Leaf), ", ")))
		}
		a.el.prog.AttachPos[st] = p.Pos
		return st.ComputeAt(c, ax)
	case "compute_inline":
		if err := npos(0, 0); err != nil {
			return err
		}
		return st.ComputeInline()
	case "compute_root":
		if err := npos(0, 0); err != nil {
			return err
		}
		return st.ComputeRoot()
	case "rfactor":
		if err := npos(2, 2); err != nil {
			return err
		}
		t := a.el.prog.Tensor(pos[0].Name)
		if !pos[0].IsName || t == nil || a.sched.Stage(t) == nil {
			return argErr(pos[0].Pos, "rfactor: expected a computed tensor; write %s", usage)
		}
		rst := a.sched.Stage(t)
		if !pos[1].IsName || a.names(rst)[pos[1].Name] == nil {
			return argErr(pos[1].Pos, "rfactor: expected a reduction loop of %s; its loops are %s", t.Name, axisNames(rst.Leaf))
		}
		made, err := a.sched.RFactor(t, a.names(rst)[pos[1].Name])
		if err != nil {
			return err
		}
		made.Tensor.Name = p.Targets[0].Name
		a.made[p.Targets[0].Name] = made
		a.madeAt(made, p.Pos)
		delete(a.axes, rst) // its loops are new: the data axes and the reduction over the partial results
	case "cache_write", "cache_read":
		if err := npos(1, -1); err != nil {
			return err
		}
		if !pos[0].IsName || a.el.prog.Tensor(pos[0].Name) == nil {
			return argErr(pos[0].Pos, "%s: expected a tensor; write %s", p.Name, usage)
		}
		t := a.el.prog.Tensor(pos[0].Name)
		scope := "local"
		rest := pos[1:]
		if len(rest) > 0 && rest[0].IsName && slices.Contains(schedule.Scopes, rest[0].Name) {
			scope, rest = rest[0].Name, rest[1:]
		}
		if s := kw["scope"]; s != nil {
			if !s.IsName || !slices.Contains(schedule.Scopes, s.Name) {
				return argErr(s.Pos, "%s: unknown scope %q; the scopes are %s", p.Name, s.Name, strings.Join(schedule.Scopes, ", "))
			}
			scope = s.Name
		}
		var made *schedule.Stage
		var err error
		if p.Name == "cache_write" {
			if len(rest) > 0 {
				if rest[0].IsName {
					return argErr(rest[0].Pos, "cache_write: unknown scope %q; the scopes are %s", rest[0].Name, strings.Join(schedule.Scopes, ", "))
				}
				return argErr(rest[0].Pos, "cache_write takes a tensor and a scope; write %s", usage)
			}
			made, err = a.sched.CacheWrite(t, scope)
		} else {
			readers := []*schedule.Stage{st}
			if len(rest) > 0 && rest[0].IsName && a.stageNamed(rest[0].Name) == nil && !a.isLost(rest[0].Name) {
				// cache_read(X, shared): a scope TVM has for GPUs, taken for a reader
				return argErr(rest[0].Pos, "cache_read: %q is neither a scope nor a stage; the scopes are %s (on a CPU both are a buffer where the stage is computed; GPU scopes such as shared do not exist here); write %s", rest[0].Name, strings.Join(schedule.Scopes, ", "), usage)
			}
			if len(rest) > 0 {
				readers = nil
				for _, r := range rest {
					rs, err := stageArg(r)
					if err != nil {
						return err
					}
					readers = append(readers, rs)
				}
			}
			made, err = a.sched.CacheRead(t, scope, readers)
		}
		if err != nil {
			return err
		}
		made.Tensor.Name = p.Targets[0].Name
		a.made[p.Targets[0].Name] = made
		a.madeAt(made, p.Pos)
	}
	return nil
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
	return strings.Join(ns, ", ")
}
