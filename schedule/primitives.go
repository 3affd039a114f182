package schedule

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tide-compiler/tide/te"
)

// Error is a misuse of a primitive. Arg is the index of the argument at
// fault (in the primitive's argument order), or -1 for the whole statement,
// so a caller with source positions can point at it.
type Error struct {
	Arg int
	Msg string
}

func (e *Error) Error() string { return e.Msg }

func errAt(arg int, format string, args ...any) *Error {
	return &Error{Arg: arg, Msg: fmt.Sprintf(format, args...)}
}

func names(axes []*Axis) string {
	var ns []string
	for _, a := range axes {
		ns = append(ns, a.Name())
	}
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ", ")
}

// leaf checks that ax is a leaf axis of st, naming what became of it if not.
func (st *Stage) leaf(prim string, arg int, ax *Axis) *Error {
	if ax == nil {
		return errAt(arg, "%s: missing axis", prim)
	}
	if ax.stage != st {
		return errAt(arg, "%s: %s is an axis of %s, not of %s; the loops of %s are %s",
			prim, ax.Name(), ax.stage.Name(), st.Name(), st.Name(), names(st.Leaf))
	}
	if slices.Contains(st.Leaf, ax) {
		return nil
	}
	switch r := ax.usedBy.(type) {
	case *Split:
		return errAt(arg, "%s: %s was already split into %s and %s; use those (the loops of %s are %s)",
			prim, ax.Name(), r.Outer.Name(), r.Inner.Name(), st.Name(), names(st.Leaf))
	case *Fuse:
		return errAt(arg, "%s: %s was already fused into %s; use that (the loops of %s are %s)",
			prim, ax.Name(), r.Fused.Name(), st.Name(), names(st.Leaf))
	}
	return errAt(arg, "%s: %s is not a loop of %s; the loops are %s", prim, ax.Name(), st.Name(), names(st.Leaf))
}

func (st *Stage) newAxis(name string, reduce bool) *Axis {
	return &Axis{Var: &te.Var{Name: name}, Reduce: reduce, stage: st}
}

// replaceLeaf puts repl where old is in the loop order.
func (st *Stage) replaceLeaf(old *Axis, repl ...*Axis) {
	i := slices.Index(st.Leaf, old)
	st.Leaf = slices.Replace(st.Leaf, i, i+1, repl...)
}

// maxFactor bounds split factors, so that extent arithmetic cannot overflow.
const maxFactor = 1 << 31

// Split divides ax into outer and inner loops with inner extent factor
// (TVM's split(factor=)). The factor need not divide the extent.
func (st *Stage) Split(ax *Axis, factor int64) (outer, inner *Axis, err error) {
	return st.SplitBy(ax, &Split{Factor: factor})
}

// SplitNParts divides ax into nparts outer iterations (split(nparts=)).
func (st *Stage) SplitNParts(ax *Axis, nparts int64) (outer, inner *Axis, err error) {
	return st.SplitBy(ax, &Split{NParts: nparts})
}

// SplitBy applies a split described by spec (Factor or NParts, and Tail);
// spec's axes are filled in.
func (st *Stage) SplitBy(ax *Axis, spec *Split) (outer, inner *Axis, err error) {
	if e := st.leaf("split", 0, ax); e != nil {
		return nil, nil, e
	}
	if (spec.Factor > 0) == (spec.NParts > 0) {
		return nil, nil, errAt(1, "split: give a positive factor= or nparts=, not %d and %d", spec.Factor, spec.NParts)
	}
	if max(spec.Factor, spec.NParts) > maxFactor {
		return nil, nil, errAt(1, "split: %d is too large; factors and part counts go up to 2^31", max(spec.Factor, spec.NParts))
	}
	if ax.Ann != Serial {
		return nil, nil, errAt(0, "split: %s is already %s; split it before annotating its parts", ax.Name(), ax.Ann)
	}
	if st.Attach == Inline {
		return nil, nil, errAt(-1, "split: %s is computed inline and has no loops of its own", st.Name())
	}
	spec.Parent = ax
	spec.Outer = st.newAxis(ax.Name()+".outer", ax.Reduce)
	spec.Inner = st.newAxis(ax.Name()+".inner", ax.Reduce)
	ax.usedBy = spec
	st.Rels = append(st.Rels, spec)
	st.replaceLeaf(ax, spec.Outer, spec.Inner)
	return spec.Outer, spec.Inner, nil
}

// Tile splits x and y by the factors and orders the loops xo, yo, xi, yi.
func (st *Stage) Tile(x, y *Axis, fx, fy int64) (xo, yo, xi, yi *Axis, err error) {
	if e := st.leaf("tile", 0, x); e != nil {
		return nil, nil, nil, nil, e
	}
	if e := st.leaf("tile", 1, y); e != nil {
		return nil, nil, nil, nil, e
	}
	if x == y {
		return nil, nil, nil, nil, errAt(1, "tile: %s is given twice; tile takes two different loops", x.Name())
	}
	for i, f := range []int64{fx, fy} {
		if f <= 0 || f > maxFactor {
			return nil, nil, nil, nil, errAt(2+i, "tile: the factor must be between 1 and 2^31, not %d", f)
		}
	}
	for i, a := range []*Axis{x, y} {
		if a.Ann != Serial {
			return nil, nil, nil, nil, errAt(i, "tile: %s is already %s; tile before annotating", a.Name(), a.Ann)
		}
	}
	if st.Attach == Inline {
		return nil, nil, nil, nil, errAt(-1, "tile: %s is computed inline and has no loops of its own", st.Name())
	}
	// both splits are legal now, so nothing is half done on an error
	xo, xi, _ = st.Split(x, fx)
	yo, yi, _ = st.Split(y, fy)
	if err := st.Reorder(xo, yo, xi, yi); err != nil {
		return nil, nil, nil, nil, err
	}
	return xo, yo, xi, yi, nil
}

// Fuse merges adjacent loops, given outermost first, into one: TVM's
// fuse(*args), where fuse(a, b, c) is fuse(fuse(a, b), c). An error's
// argument index is that of the loop at fault.
func (st *Stage) Fuse(axes ...*Axis) (*Axis, error) {
	if len(axes) < 2 {
		return nil, errAt(-1, "fuse: give at least two loops")
	}
	for k, a := range axes {
		if e := st.leaf("fuse", k, a); e != nil {
			return nil, e
		}
	}
	for k := 1; k < len(axes); k++ {
		outer, inner := axes[k-1], axes[k]
		i, j := slices.Index(st.Leaf, outer), slices.Index(st.Leaf, inner)
		if j != i+1 {
			var hint string
			if j == i-1 {
				hint = fmt.Sprintf("; they are in the order %s, %s: fuse(%s, %s)", inner.Name(), outer.Name(), inner.Name(), outer.Name())
			} else {
				hint = fmt.Sprintf("; the loops of %s are %s (reorder first to make them adjacent)", st.Name(), names(st.Leaf))
			}
			return nil, errAt(k, "fuse: %s must come right after %s in the loop order%s", inner.Name(), outer.Name(), hint)
		}
		if outer.Reduce != inner.Reduce {
			return nil, errAt(k, "fuse: %s is a reduction axis and %s is not; only axes of the same kind fuse",
				map[bool]string{true: outer.Name(), false: inner.Name()}[outer.Reduce], map[bool]string{true: inner.Name(), false: outer.Name()}[outer.Reduce])
		}
	}
	for k, a := range axes {
		if a.Ann != Serial {
			return nil, errAt(k, "fuse: %s is already %s; fuse before annotating", a.Name(), a.Ann)
		}
	}
	fused := axes[0]
	for _, inner := range axes[1:] {
		f := &Fuse{Outer: fused, Inner: inner, Fused: st.newAxis(fused.Name()+"."+inner.Name()+".fused", fused.Reduce)}
		fused.usedBy, inner.usedBy = f, f
		st.Rels = append(st.Rels, f)
		i := slices.Index(st.Leaf, fused)
		st.Leaf = slices.Replace(st.Leaf, i, i+2, f.Fused)
		fused = f.Fused
	}
	return fused, nil
}

// Reorder puts the given loops in the given order, in the positions they
// occupy now; the other loops stay where they are.
func (st *Stage) Reorder(axes ...*Axis) error {
	var pos []int
	for k, a := range axes {
		if e := st.leaf("reorder", k, a); e != nil {
			return e
		}
		if slices.Index(axes, a) != k {
			return errAt(k, "reorder: %s is given twice; name each loop once", a.Name())
		}
		pos = append(pos, slices.Index(st.Leaf, a))
	}
	slices.Sort(pos)
	for k, p := range pos {
		st.Leaf[p] = axes[k]
	}
	return nil
}

func (st *Stage) annotate(prim string, ax *Axis, ann Ann) error {
	if e := st.leaf(prim, 0, ax); e != nil {
		return e
	}
	if ax.Ann != Serial && ax.Ann != ann {
		return errAt(0, "%s: %s is already %s; a loop has one annotation", prim, ax.Name(), ax.Ann)
	}
	if ann == Parallel && ax.Reduce {
		return errAt(0, "parallel: %s is a reduction axis; its iterations add into the same element, so they cannot run in parallel (parallelize a data axis)", ax.Name())
	}
	if ann == Vectorized || ann == Unrolled {
		ext := ax.StaticExtent()
		if _, ok := te.IntValue(ext); !ok {
			return errAt(0, "%s: %s has extent %s, not a constant; split it by a constant factor and %s the inner loop (e.g. %so, %si = split(%s, factor=8))",
				prim, ax.Name(), te.ExprString(ext), prim, ax.Name(), ax.Name(), ax.Name())
		}
	}
	ax.Ann = ann
	return nil
}

// Prefetch is TVM's prefetch (Halide's): at the start of every iteration
// of the stage's loop Axis, the part of Tensor that the iteration Offset
// iterations later reads is fetched into the cache, for a stream the
// hardware prefetchers do not run far enough ahead of (a matmul's packed
// panel of B read from L2: 1.08x at 2048³, BENCHMARKS.md).
type Prefetch struct {
	Tensor *te.Tensor
	Axis   *Axis
	Offset int64
}

// maxPrefetchOffset bounds how far ahead a prefetch reaches, far past any
// use (an index offset by it must not overflow).
const maxPrefetchOffset = 1 << 20

// Prefetch asks for t, which the stage reads, to be prefetched offset
// iterations of ax ahead (TVM's s[C].prefetch(t, ax, offset)). The loop
// must stay a loop of the stage, not vectorized; lowering prefetches each
// cache line of what one iteration reads of t, a contiguous region of up
// to 4 KiB.
func (st *Stage) Prefetch(t *te.Tensor, ax *Axis, offset int64) error {
	if e := st.leaf("prefetch", 1, ax); e != nil {
		return e
	}
	if inputs := st.Inputs(); t == nil || !slices.Contains(inputs, t) {
		var reads []string
		for _, in := range inputs {
			reads = append(reads, in.Name)
		}
		name := "nil"
		if t != nil {
			name = t.Name
		}
		return errAt(0, "prefetch: %s does not read %s; it reads %s", st.Name(), name, strings.Join(reads, ", "))
	}
	if offset < 1 || offset > maxPrefetchOffset {
		return errAt(2, "prefetch: offset %d; it counts iterations of %s ahead, from 1 to %d (e.g. prefetch(%s, %s, offset=16))", offset, ax.Name(), maxPrefetchOffset, t.Name, ax.Name())
	}
	st.Prefetches = append(st.Prefetches, Prefetch{Tensor: t, Axis: ax, Offset: offset})
	return nil
}

// Vectorize runs the loop as SIMD lanes. It must end up the innermost loop
// of its stage. On a reduction axis it makes a vector accumulator that is
// reduced across lanes once after the reduction loops.
func (st *Stage) Vectorize(ax *Axis) error { return st.annotate("vectorize", ax, Vectorized) }

// Unroll replaces the loop by copies of its body.
func (st *Stage) Unroll(ax *Axis) error { return st.annotate("unroll", ax, Unrolled) }

// Parallel runs the loop's iterations on several threads.
func (st *Stage) Parallel(ax *Axis) error { return st.annotate("parallel", ax, Parallel) }

// ComputeAt computes st inside loop ax of consumer, over the region that
// one iteration of ax needs.
func (st *Stage) ComputeAt(consumer *Stage, ax *Axis) error {
	if consumer == nil {
		return errAt(0, "compute_at: missing stage")
	}
	if consumer == st {
		return errAt(0, "compute_at: %s cannot be computed inside its own loops", st.Name())
	}
	if st.sched.IsOutput(st) {
		return errAt(-1, "compute_at: %s is an output of the kernel; outputs are computed at the root", st.Name())
	}
	if !consumer.readsThroughInline(st.Tensor) && st.readerInside(consumer) == nil {
		var cs []string
		for _, c := range st.Consumers() {
			cs = append(cs, c.Name())
		}
		return errAt(0, "compute_at: %s does not read %s; compute %s at a loop of a stage that reads it (%s), or of a stage that one is computed inside (after that one's compute_at)",
			consumer.Name(), st.Name(), st.Name(), strings.Join(append(cs, "none")[:max(1, len(cs))], ", "))
	}
	if len(consumer.Leaf) == 0 {
		return errAt(1, "compute_at: %s is 0-d (one element, no reduction) and has no loops to compute %s in; leave %s at the root (the default: computed once, before %s) or inline it (compute_inline)", consumer.Name(), st.Name(), st.Name(), consumer.Name())
	}
	if ax == nil || ax.stage != consumer {
		name := "?"
		if ax != nil {
			name = ax.Name()
		}
		return errAt(1, "compute_at: %s is not a loop of %s; the loops of %s are %s", name, consumer.Name(), consumer.Name(), names(consumer.Leaf))
	}
	if e := consumer.leaf("compute_at", 1, ax); e != nil {
		return e
	}
	for c := consumer; c != nil; c = c.AttachStage {
		if c == st {
			return errAt(0, "compute_at: %s is computed inside %s, so %s cannot be computed inside %s (a cycle)", consumer.Name(), st.Name(), st.Name(), consumer.Name())
		}
	}
	st.Attach, st.AttachStage, st.AttachAxis = AtAxis, consumer, ax
	return nil
}

// readerInside is a reader of st (through inline stages) that is computed
// inside c, at one of c's loops or inside a stage computed there, or nil.
func (st *Stage) readerInside(c *Stage) *Stage {
	for _, r := range st.sched.Stages {
		if r == st || r.Attach != AtAxis || !r.readsThroughInline(st.Tensor) {
			continue
		}
		for a := r; a != nil && a.Attach == AtAxis; a = a.AttachStage {
			if a.AttachStage == c {
				return r
			}
		}
	}
	return nil
}

// readsThroughInline reports whether the stage reads t, directly or
// through stages computed inline (whose bodies become part of its own).
func (st *Stage) readsThroughInline(t *te.Tensor) bool {
	for _, in := range st.Inputs() {
		if in == t {
			return true
		}
		if p := st.sched.Stage(in); p != nil && p.Attach == Inline && p.readsThroughInline(t) {
			return true
		}
	}
	return false
}

// ComputeInline substitutes st's body into its consumers: it gets no loops
// or storage of its own.
func (st *Stage) ComputeInline() error {
	if _, ok := st.Body.(*te.Reduce); ok {
		return errAt(-1, "compute_inline: %s is a reduction; only element-wise computes can be inlined (use compute_at instead)", st.Name())
	}
	if st.sched.IsOutput(st) {
		return errAt(-1, "compute_inline: %s is an output of the kernel; outputs must be stored", st.Name())
	}
	for _, o := range st.sched.Stages {
		if o.AttachStage == st {
			return errAt(-1, "compute_inline: %s is computed at a loop of %s; compute it elsewhere first", o.Name(), st.Name())
		}
	}
	st.Attach, st.AttachStage, st.AttachAxis = Inline, nil, nil
	return nil
}

// ComputeRoot gives st its own loop nest at the top level (the default).
func (st *Stage) ComputeRoot() error {
	st.Attach, st.AttachStage, st.AttachAxis = AtRoot, nil, nil
	return nil
}

// Axis finds a leaf or root axis of st by name.
func (st *Stage) Axis(name string) *Axis {
	for _, a := range st.Leaf {
		if a.Name() == name {
			return a
		}
	}
	for _, a := range st.Root {
		if a.Name() == name {
			return a
		}
	}
	for _, r := range st.Rels {
		switch r := r.(type) {
		case *Split:
			for _, a := range []*Axis{r.Outer, r.Inner} {
				if a.Name() == name {
					return a
				}
			}
		case *Fuse:
			if r.Fused.Name() == name {
				return r.Fused
			}
		}
	}
	return nil
}
