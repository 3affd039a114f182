package dsl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// The schedule primitives, one primSpec each, on the model of the operator
// table (ops.go): what a primitive is called, what it takes and gives, and
// what it does to the schedule. Everything that lists or checks primitives
// (the parser's "unknown primitive" error and its suggestion, the argument
// counts and keywords, the order in which blocks are applied) reads this
// table.
type primSpec struct {
	name    string
	usage   string   // how it is written, for messages
	results []string // what the names left of = name, in order
	params  []param
	// attaches: it says where the stage is computed, not how its loops
	// look; these primitives are applied after every block's loop
	// structure (see applySchedules)
	attaches bool
	// makesStage: its result names a new stage, which a schedule block may
	// then schedule
	makesStage bool
	apply      func(c *primCall) error
}

// param is a parameter of a primitive; kind says what its argument names.
type param struct {
	name string
	kind argKind
	use  paramUse
}

type argKind int

const (
	axisArg   argKind = iota // a loop of the scheduled stage
	numberArg                // a positive integer constant
	wordArg                  // a word from a fixed list: a tail strategy, a scope
	stageArg                 // a computed stage of the kernel
	tensorArg                // a tensor of the program
	loopArg                  // a loop of the stage or tensor given before it
)

type paramUse int

const (
	requiredParam paramUse = iota // positional
	optionalParam                 // positional or keyword=, may be left out
	keywordParam                  // only as keyword=, may be left out
	restParam                     // the remaining positional arguments, if any
)

var primitives = []*primSpec{
	{name: "split", usage: "io, ii = split(i, factor=8) or split(i, nparts=4), optionally tail=partition|guard",
		results: []string{"outer", "inner"},
		params:  []param{{"i", axisArg, requiredParam}, {"factor", numberArg, optionalParam}, {"nparts", numberArg, keywordParam}, {"tail", wordArg, keywordParam}},
		apply:   applySplit},
	{name: "tile", usage: "xo, yo, xi, yi = tile(x, y, 8, 8)",
		results: []string{"x outer", "y outer", "x inner", "y inner"},
		params:  []param{{"x", axisArg, requiredParam}, {"y", axisArg, requiredParam}, {"x_factor", numberArg, optionalParam}, {"y_factor", numberArg, optionalParam}},
		apply:   applyTile},
	{name: "fuse", usage: "f = fuse(a, b) or fuse(a, b, c, ...)",
		results: []string{"fused"},
		params:  []param{{"a", axisArg, requiredParam}, {"b", axisArg, requiredParam}, {"c", axisArg, restParam}},
		apply:   applyFuse},
	{name: "reorder", usage: "reorder(a, b, c)",
		params: []param{{"a", axisArg, requiredParam}, {"b", axisArg, restParam}},
		apply:  applyReorder},
	{name: "vectorize", usage: "vectorize(ii)", params: []param{{"ii", axisArg, requiredParam}}, apply: annotate((*schedule.Stage).Vectorize)},
	{name: "unroll", usage: "unroll(ii)", params: []param{{"ii", axisArg, requiredParam}}, apply: annotate((*schedule.Stage).Unroll)},
	{name: "parallel", usage: "parallel(io)", params: []param{{"io", axisArg, requiredParam}}, apply: annotate((*schedule.Stage).Parallel)},
	{name: "prefetch", usage: "prefetch(Bp, k, offset=16)",
		params: []param{{"T", tensorArg, requiredParam}, {"axis", axisArg, requiredParam}, {"offset", numberArg, optionalParam}},
		apply:  applyPrefetch},
	{name: "compute_at", usage: "compute_at(Consumer, axis)",
		params:   []param{{"Consumer", stageArg, requiredParam}, {"axis", loopArg, requiredParam}},
		attaches: true, apply: applyComputeAt},
	{name: "compute_inline", usage: "compute_inline()", attaches: true,
		apply: func(c *primCall) error { return c.st.ComputeInline() }},
	{name: "compute_root", usage: "compute_root()", attaches: true,
		apply: func(c *primCall) error { return c.st.ComputeRoot() }},
	{name: "cache_read", usage: "AL = cache_read(A) or cache_read(A, local, Reader...)",
		results: []string{"cache stage"},
		// a positional scope is the first reader if it is a scope's name
		params:     []param{{"A", tensorArg, requiredParam}, {"scope", wordArg, keywordParam}, {"Reader", stageArg, restParam}},
		makesStage: true, apply: applyCacheRead},
	{name: "cache_write", usage: "CL = cache_write(C) or cache_write(C, local)",
		results:    []string{"cache stage"},
		params:     []param{{"C", tensorArg, requiredParam}, {"scope", wordArg, optionalParam}},
		makesStage: true, apply: applyCacheWrite},
	{name: "rfactor", usage: "CF = rfactor(C, ki) or rfactor(C, ki, factor_axis=1)",
		results:    []string{"partial stage"},
		params:     []param{{"C", tensorArg, requiredParam}, {"ki", loopArg, requiredParam}, {"factor_axis", numberArg, keywordParam}},
		makesStage: true, apply: applyRFactor},
}

// PrimitiveNames are the schedule primitives the language accepts (TVM's),
// in the order of the README's table.
func PrimitiveNames() []string {
	var names []string
	for _, p := range primitives {
		names = append(names, p.name)
	}
	return names
}

func primitiveSpec(name string) *primSpec {
	for _, p := range primitives {
		if p.name == name {
			return p
		}
	}
	return nil
}

// positional is how many positional arguments the primitive takes: at
// least lo, at most hi (-1: any number).
func (s *primSpec) positional() (lo, hi int) {
	for _, p := range s.params {
		switch p.use {
		case requiredParam:
			lo++
			hi++
		case optionalParam:
			hi++
		}
	}
	if slices.ContainsFunc(s.params, func(p param) bool { return p.use == restParam }) {
		hi = -1
	}
	return lo, hi
}

// keywords are the parameters that may be given as name=value.
func (s *primSpec) keywords() []string {
	var ks []string
	for _, p := range s.params {
		if p.use == optionalParam || p.use == keywordParam {
			ks = append(ks, p.name)
		}
	}
	return ks
}

// primCall is a primitive applied to a stage, its arguments bound to the
// spec's parameters.
type primCall struct {
	a    *applier
	st   *schedule.Stage
	p    *Primitive
	spec *primSpec
	args map[string]*PrimArg // by parameter name
	rest []*PrimArg          // the arguments of the rest parameter
}

// bind checks the results and the arguments against the spec and binds
// them to its parameters.
func (a *applier) bind(st *schedule.Stage, p *Primitive, spec *primSpec) (*primCall, error) {
	c := &primCall{a: a, st: st, p: p, spec: spec, args: map[string]*PrimArg{}}
	// the stage's names are taken before its first primitive: a loop that
	// cache_write then moves keeps its name, and the schedule package
	// reports that it is no longer a loop of the stage
	a.names(st)
	if len(p.Targets) != len(spec.results) {
		return nil, argErr(p.Pos, "%s gives %d result(s), not %d; write %s", p.Name, len(spec.results), len(p.Targets), spec.usage)
	}
	keys := spec.keywords()
	var pos []*PrimArg
	for _, arg := range p.Args {
		switch {
		case arg.Key == "":
			pos = append(pos, arg)
		case !slices.Contains(keys, arg.Key):
			return nil, argErr(arg.Pos, "%s has no keyword %s; write %s%s", p.Name, arg.Key, spec.usage, suggest(arg.Key, keys))
		case c.args[arg.Key] != nil:
			return nil, argErr(arg.Pos, "%s: %s= is given twice", p.Name, arg.Key)
		default:
			c.args[arg.Key] = arg
		}
	}
	lo, hi := spec.positional()
	switch {
	case hi >= 0 && len(pos) > hi:
		return nil, argErr(pos[hi].Pos, "%s takes at most %d positional argument(s), not %d; write %s", p.Name, hi, len(pos), spec.usage)
	case len(pos) < lo:
		return nil, argErr(p.Pos, "%s needs at least %d positional argument(s), not %d; write %s", p.Name, lo, len(pos), spec.usage)
	}
	for _, prm := range spec.params {
		switch {
		case len(pos) == 0:
		case prm.use == restParam:
			c.rest, pos = pos, nil
		case prm.use == requiredParam || prm.use == optionalParam:
			if c.args[prm.name] != nil {
				return nil, argErr(c.args[prm.name].Pos, "%s: %s= is given twice", p.Name, prm.name)
			}
			c.args[prm.name], pos = pos[0], pos[1:]
		}
	}
	return c, c.checkKinds()
}

// checkKinds checks that each argument is a number where its parameter
// takes one and a name where it takes a name. Which name is legal depends
// on the primitive and the schedule: the apply functions check that, and
// the words (tail strategies, scopes), whose messages list them.
func (c *primCall) checkKinds() error {
	var prev *PrimArg // the argument before: a loopArg's stage or tensor
	for _, prm := range c.spec.params {
		args := []*PrimArg{c.args[prm.name]}
		if prm.use == restParam {
			args = c.rest
		}
		for _, arg := range args {
			if arg == nil {
				continue
			}
			switch {
			case prm.kind == numberArg && arg.IsName:
				return argErr(arg.Pos, "%s: the %s must be a constant integer, not %s", c.p.Name, prm.name, arg.Name)
			case prm.kind == numberArg || prm.kind == wordArg || arg.IsName:
			case prm.kind == axisArg:
				return argErr(arg.Pos, "%s: expected an axis of %s, got the number %d", c.p.Name, c.st.Name(), arg.Value)
			case prm.kind == loopArg && prev != nil && prev.IsName:
				return argErr(arg.Pos, "%s: expected a loop of %s, got the number %d", c.p.Name, prev.Name, arg.Value)
			default:
				return argErr(arg.Pos, "%s: expected %s, got the number %d; write %s", c.p.Name, kindNames[prm.kind], arg.Value, c.spec.usage)
			}
			prev = arg
		}
	}
	return nil
}

var kindNames = [...]string{axisArg: "an axis", stageArg: "a stage", tensorArg: "a tensor", loopArg: "a loop"}

// axis is the loop of the scheduled stage that arg names.
func (c *primCall) axis(arg *PrimArg) (*schedule.Axis, error) {
	a, st, p := c.a, c.st, c.p
	names := a.names(st)
	ax := names[arg.Name]
	if ax == nil && a.isLost(arg.Name) {
		return nil, errSilent
	}
	if ax == nil && len(names) == 0 {
		return nil, argErr(arg.Pos, "%s: %s; only where it is computed can be scheduled (compute_at, compute_inline, compute_root)", p.Name, noLoops(st))
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

func (c *primCall) axes(args []*PrimArg) ([]*schedule.Axis, error) {
	var axes []*schedule.Axis
	for _, arg := range args {
		ax, err := c.axis(arg)
		if err != nil {
			return nil, err
		}
		axes = append(axes, ax)
	}
	return axes, nil
}

// number is a numberArg's value (checkKinds saw that it is a number).
func (c *primCall) number(arg *PrimArg, what string) (int64, error) {
	if arg.Value <= 0 {
		return 0, argErr(arg.Pos, "%s: the %s must be positive, not %d", c.p.Name, what, arg.Value)
	}
	return arg.Value, nil
}

// stage is the computed stage arg names.
func (c *primCall) stage(arg *PrimArg) (*schedule.Stage, error) {
	s := c.a.stageNamed(arg.Name)
	if s == nil && c.a.isLost(arg.Name) {
		return nil, errSilent
	}
	if s == nil {
		return nil, argErr(arg.Pos, "%s: %s is not a computed stage of kernel %s", c.p.Name, arg.Name, c.a.el.prog.Kernel.Name)
	}
	return s, nil
}

// name gives the i-th result's name to a loop the primitive made.
func (c *primCall) name(ax *schedule.Axis, i int) {
	ax.SetName(c.p.Targets[i].Name)
	c.a.names(c.st)[c.p.Targets[i].Name] = ax
	c.a.el.prog.AxisPos[ax] = c.p.Pos // tide lower --html links the loop here
}

// made records the stage the primitive made under its result's name.
func (c *primCall) made(st *schedule.Stage) {
	st.Tensor.Name = c.p.Targets[0].Name
	c.a.made[c.p.Targets[0].Name] = st
	c.a.madeAt(st, c.p.Pos)
}

func applySplit(c *primCall) error {
	ax, err := c.axis(c.args["i"])
	if err != nil {
		return err
	}
	spec := &schedule.Split{}
	factor, nparts := c.args["factor"], c.args["nparts"]
	switch {
	case factor != nil && nparts != nil:
		return argErr(nparts.Pos, "split: give factor= or nparts=, not both")
	case factor != nil:
		if spec.Factor, err = c.number(factor, "factor"); err != nil {
			return err
		}
	case nparts != nil:
		if spec.NParts, err = c.number(nparts, "nparts"); err != nil {
			return err
		}
	default:
		return argErr(c.p.Pos, "split needs factor= or nparts=; write %s", c.spec.usage)
	}
	if t := c.args["tail"]; t != nil {
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
	o, in, err := c.st.SplitBy(ax, spec)
	if err != nil {
		return err
	}
	c.name(o, 0)
	c.name(in, 1)
	return nil
}

func applyTile(c *primCall) error {
	x, err := c.axis(c.args["x"])
	if err != nil {
		return err
	}
	y, err := c.axis(c.args["y"])
	if err != nil {
		return err
	}
	var f [2]int64
	for i, fa := range []*PrimArg{c.args["x_factor"], c.args["y_factor"]} {
		if fa == nil {
			return argErr(c.p.Pos, "tile needs two factors; write %s", c.spec.usage)
		}
		if f[i], err = c.number(fa, "factor"); err != nil {
			return err
		}
	}
	xo, yo, xi, yi, err := c.st.Tile(x, y, f[0], f[1])
	if err != nil {
		return err
	}
	for i, ax := range []*schedule.Axis{xo, yo, xi, yi} {
		c.name(ax, i)
	}
	return nil
}

func applyFuse(c *primCall) error {
	axes, err := c.axes(append([]*PrimArg{c.args["a"], c.args["b"]}, c.rest...))
	if err != nil {
		return err
	}
	f, err := c.st.Fuse(axes...)
	if err != nil {
		return err
	}
	c.name(f, 0)
	return nil
}

func applyReorder(c *primCall) error {
	axes, err := c.axes(append([]*PrimArg{c.args["a"]}, c.rest...))
	if err != nil {
		return err
	}
	return c.st.Reorder(axes...)
}

// annotate applies a loop annotation (vectorize, unroll, parallel).
func annotate(ann func(*schedule.Stage, *schedule.Axis) error) func(c *primCall) error {
	return func(c *primCall) error {
		ax, err := c.axis(c.args[c.spec.params[0].name])
		if err != nil {
			return err
		}
		c.a.el.prog.AnnPos[ax] = c.p.Pos
		return ann(c.st, ax)
	}
}

func applyComputeAt(c *primCall) error {
	consumer, err := c.stage(c.args["Consumer"])
	if err != nil {
		return err
	}
	arg := c.args["axis"]
	ax := c.a.names(consumer)[arg.Name]
	if ax == nil && c.a.isLost(arg.Name) {
		return errSilent
	}
	if ax == nil && len(consumer.Leaf) == 0 {
		return c.st.ComputeAt(consumer, nil) // the schedule says that a 0-d consumer has no loops
	}
	if ax == nil {
		return argErr(arg.Pos, "compute_at: %s is not a loop of %s; the loops of %s are %s%s", arg.Name, consumer.Name(), consumer.Name(), axisNames(consumer.Leaf), suggest(arg.Name, strings.Split(axisNames(consumer.Leaf), ", ")))
	}
	c.a.el.prog.AttachPos[c.st] = c.p.Pos
	return c.st.ComputeAt(consumer, ax)
}

func applyRFactor(c *primCall) error {
	a, tArg, axArg := c.a, c.args["C"], c.args["ki"]
	t := a.el.prog.Tensor(tArg.Name)
	if t == nil || a.sched.Stage(t) == nil {
		return argErr(tArg.Pos, "rfactor: expected a computed tensor; write %s", c.spec.usage)
	}
	rst := a.sched.Stage(t)
	if a.names(rst)[axArg.Name] == nil {
		return argErr(axArg.Pos, "rfactor: expected a reduction loop of %s; its loops are %s", t.Name, axisNames(rst.Leaf))
	}
	// factor_axis (TVM's): where the partial results' axis goes among
	// CF's axes, 0 (first) unless given; RFactorAt checks the range
	factorAxis := int64(0)
	if fa := c.args["factor_axis"]; fa != nil {
		factorAxis = fa.Value
	}
	made, err := a.sched.RFactorAt(t, a.names(rst)[axArg.Name], int(factorAxis))
	if err != nil {
		return err
	}
	c.made(made)
	delete(a.axes, rst) // its loops are new: the data axes and the reduction over the partial results
	return nil
}

// applyPrefetch: the tensor is one of the program's or a stage a
// primitive made (a cache_read copy); Halide's default offset is one
// iteration ahead.
func applyPrefetch(c *primCall) error {
	var t *te.Tensor
	if st := c.a.stageNamed(c.args["T"].Name); st != nil {
		t = st.Tensor
	} else {
		var err error
		if t, err = c.tensor(c.args["T"]); err != nil {
			return err
		}
	}
	ax, err := c.axis(c.args["axis"])
	if err != nil {
		return err
	}
	offset := int64(1)
	if o := c.args["offset"]; o != nil {
		if offset, err = c.number(o, "offset"); err != nil {
			return err
		}
	}
	return c.st.Prefetch(t, ax, offset)
}

// tensor is the tensor of the program that arg names.
func (c *primCall) tensor(arg *PrimArg) (*te.Tensor, error) {
	if t := c.a.el.prog.Tensor(arg.Name); t != nil {
		return t, nil
	}
	return nil, argErr(arg.Pos, "%s: expected a tensor; write %s", c.p.Name, c.spec.usage)
}

// scope is the memory scope arg names.
func (c *primCall) scope(arg *PrimArg) (string, error) {
	if !arg.IsName || !slices.Contains(schedule.Scopes, arg.Name) {
		return "", argErr(arg.Pos, "%s: unknown scope %q; the scopes are %s", c.p.Name, arg.Name, strings.Join(schedule.Scopes, ", "))
	}
	return arg.Name, nil
}

func applyCacheWrite(c *primCall) error {
	t, err := c.tensor(c.args["C"])
	if err != nil {
		return err
	}
	scope := "local"
	if s := c.args["scope"]; s != nil {
		if !s.IsName {
			return argErr(s.Pos, "cache_write takes a tensor and a scope; write %s", c.spec.usage)
		}
		if scope, err = c.scope(s); err != nil {
			return err
		}
	}
	made, err := c.a.sched.CacheWrite(t, scope)
	if err != nil {
		return err
	}
	c.made(made)
	return nil
}

func applyCacheRead(c *primCall) error {
	t, err := c.tensor(c.args["A"])
	if err != nil {
		return err
	}
	scope, readerArgs := "local", c.rest
	if len(readerArgs) > 0 && readerArgs[0].IsName && slices.Contains(schedule.Scopes, readerArgs[0].Name) {
		scope, readerArgs = readerArgs[0].Name, readerArgs[1:]
	}
	if s := c.args["scope"]; s != nil {
		if scope, err = c.scope(s); err != nil {
			return err
		}
	}
	readers := []*schedule.Stage{c.st}
	if len(readerArgs) > 0 && readerArgs[0].IsName && c.a.stageNamed(readerArgs[0].Name) == nil && !c.a.isLost(readerArgs[0].Name) {
		// cache_read(X, shared): a scope TVM has for GPUs, taken for a reader
		return argErr(readerArgs[0].Pos, "cache_read: %q is neither a scope nor a stage; the scopes are %s (on a CPU both are a buffer where the stage is computed; GPU scopes such as shared do not exist here); write %s", readerArgs[0].Name, strings.Join(schedule.Scopes, ", "), c.spec.usage)
	}
	if len(readerArgs) > 0 {
		readers = nil
		for _, r := range readerArgs {
			rs, err := c.stage(r)
			if err != nil {
				return err
			}
			readers = append(readers, rs)
		}
	}
	made, err := c.a.sched.CacheRead(t, scope, readers)
	if err != nil {
		return err
	}
	c.made(made)
	return nil
}

// noLoops says that a stage has no loops: a 0-d tensor (one element)
// computed without a reduction (schedule.ComputeAt says it as well).
func noLoops(st *schedule.Stage) string {
	return fmt.Sprintf("%s is 0-d (one element, no reduction) and has no loops", st.Name())
}
