// Package schedule holds a schedule of a te graph: one stage per compute,
// each with its iteration axes, the relations between them (split, fuse),
// its loop order, loop annotations and where it is computed. Primitives keep
// TVM's names and meaning and check their legality as they are applied;
// Check verifies what only the finished schedule can tell. The lower package
// gives a schedule its loops.
package schedule

import (
	"fmt"
	"slices"

	"github.com/tide-compiler/tide/te"
)

// Ann is how a loop runs.
type Ann uint8

const (
	Serial Ann = iota
	Parallel
	Vectorized
	Unrolled
)

var annNames = [...]string{"serial", "parallel", "vectorized", "unrolled"}

func (a Ann) String() string { return annNames[a] }

// Tail is what happens to the last, partial iteration of a split whose
// factor does not divide the extent.
type Tail uint8

const (
	// TailPartition guards the partial iteration and lets lowering split the
	// loop into a main part without the guard (full vectors, full unrolling)
	// and a separate tail: TVM's loop partitioning.
	TailPartition Tail = iota
	// TailGuard keeps one loop with the guard inside; a vectorized or
	// unrolled loop under such a guard runs scalar (with a diagnostic).
	TailGuard
)

// TailNames are the tail strategies as the language spells them.
var TailNames = []string{"partition", "guard"}

func (t Tail) String() string { return TailNames[t] }

// Axis is an iteration axis of a stage: a root axis (a dimension of the
// tensor or a reduce axis) or an axis made by split or fuse.
type Axis struct {
	Var    *te.Var // the loop variable
	Reduce bool    // a reduction axis (or made from one)
	Ann    Ann
	stage  *Stage
	// usedBy is the relation that replaced this axis, once it is no longer a leaf.
	usedBy Relation
}

// Name is the axis's name, as in messages and printed loops.
func (a *Axis) Name() string { return a.Var.Name }

// SetName renames the axis (the .te language names split results after the
// targets of the statement).
func (a *Axis) SetName(n string) { a.Var.Name = n }

// Stage returns the stage the axis belongs to.
func (a *Axis) Stage() *Stage { return a.stage }

// Relation says how axes derive from each other.
type Relation interface{ relation() }

// Split divides Parent into Outer*factor + Inner. Exactly one of Factor and
// NParts is set.
type Split struct {
	Parent, Outer, Inner *Axis
	Factor, NParts       int64
	Tail                 Tail
}

// Fuse merges two adjacent axes into one of the product extent.
type Fuse struct {
	Outer, Inner, Fused *Axis
}

func (*Split) relation() {}
func (*Fuse) relation()  {}

// AttachKind says where a stage is computed.
type AttachKind uint8

const (
	AtRoot AttachKind = iota // its own loop nest at the top level
	Inline                   // substituted into its consumers
	AtAxis                   // inside a loop of a consumer
)

// Stage is the schedule of one computed tensor.
type Stage struct {
	Tensor *te.Tensor
	// Body is what the stage computes, over the root axes: the tensor's body,
	// unless cache_write or cache_read rewrote it.
	Body te.Expr
	Root []*Axis // one per dimension, then the reduce axes of Body
	Leaf []*Axis // the loop order, outermost first
	Rels []Relation

	Attach      AttachKind
	AttachStage *Stage // for AtAxis
	AttachAxis  *Axis  // for AtAxis

	// Place, when set, stores the stage's tensor in another's buffer;
	// Assembled marks a tensor whose elements its placed parts compute
	// (place.go).
	Place     *Placement
	Assembled bool

	// Origin says how a stage made by a primitive came about, for messages
	// (e.g. "cache_write of C"); empty for the stages of the te graph.
	Origin string

	// Prefetches are the stage's prefetch primitives, in order.
	Prefetches []Prefetch

	sched *Schedule
}

// Name is the stage's tensor's name.
func (s *Stage) Name() string { return s.Tensor.Name }

// Schedule holds the stages of a kernel's computes.
type Schedule struct {
	Outputs []*te.Tensor
	Stages  []*Stage // in creation order; Order gives producers first
	byT     map[*te.Tensor]*Stage
}

// New makes the default schedule of everything the outputs depend on: every
// compute at the root, one serial loop per axis in declaration order.
func New(outputs ...*te.Tensor) *Schedule {
	s := &Schedule{Outputs: outputs, byT: map[*te.Tensor]*Stage{}}
	for _, t := range te.PostOrder(outputs) {
		if !t.IsPlaceholder() {
			s.add(t, t.Body, "")
		}
	}
	return s
}

func (s *Schedule) add(t *te.Tensor, body te.Expr, origin string) *Stage {
	st := &Stage{Tensor: t, Body: body, Origin: origin, sched: s}
	for _, iv := range t.Axis {
		st.Root = append(st.Root, &Axis{Var: iv.Var, stage: st})
	}
	if r, ok := body.(*te.Reduce); ok {
		for _, iv := range r.Axes {
			st.Root = append(st.Root, &Axis{Var: iv.Var, Reduce: true, stage: st})
		}
	}
	st.Leaf = slices.Clone(st.Root)
	s.Stages = append(s.Stages, st)
	s.byT[t] = st
	return st
}

// Stage returns the stage computing t, or nil for a placeholder or a tensor
// outside the schedule.
func (s *Schedule) Stage(t *te.Tensor) *Stage { return s.byT[t] }

// IsOutput reports whether the stage computes an output of the kernel.
func (s *Schedule) IsOutput(st *Stage) bool { return slices.Contains(s.Outputs, st.Tensor) }

// RootRange is the range of a root axis: the tensor's dimension or the
// reduce axis's declared range.
func (st *Stage) RootRange(ax *Axis) (min, extent te.Expr) {
	for i, r := range st.Root {
		if r != ax {
			continue
		}
		if i < len(st.Tensor.Axis) {
			return te.Const(te.Index, 0), st.Tensor.Shape[i]
		}
		iv := st.Body.(*te.Reduce).Axes[i-len(st.Tensor.Axis)]
		return iv.Min, iv.Extent
	}
	panic(fmt.Sprintf("RootRange: %s is not a root axis of %s", ax.Name(), st.Name()))
}

// Inputs are the tensors the stage's body reads, in first-use order.
func (st *Stage) Inputs() []*te.Tensor {
	var out []*te.Tensor
	te.Walk(st.Body, func(x te.Expr) bool {
		if r, ok := x.(*te.Read); ok && !slices.Contains(out, r.Tensor) {
			out = append(out, r.Tensor)
		}
		return true
	})
	return out
}

// Consumers are the stages whose bodies read st's tensor.
func (st *Stage) Consumers() []*Stage {
	var out []*Stage
	for _, c := range st.sched.Stages {
		if slices.Contains(c.Inputs(), st.Tensor) {
			out = append(out, c)
		}
	}
	return out
}

// Order returns the stages producers first (consumers after everything they
// read), ties in creation order.
func (s *Schedule) Order() []*Stage {
	var out []*Stage
	done := map[*Stage]bool{}
	var visit func(st *Stage)
	visit = func(st *Stage) {
		if done[st] {
			return
		}
		done[st] = true
		for _, t := range st.Inputs() {
			if p := s.byT[t]; p != nil {
				visit(p)
			}
		}
		out = append(out, st)
	}
	for _, st := range s.Stages {
		visit(st)
	}
	return out
}

// StaticExtent is the extent of an axis computed from the declared ranges of
// the root axes, simplified to a constant when it is one. Under compute_at a
// stage may run over a smaller region; lowering computes that.
func (a *Axis) StaticExtent() te.Expr {
	st := a.stage
	ext := map[*Axis]te.Expr{}
	for _, r := range st.Root {
		_, ext[r] = st.RootRange(r)
	}
	for _, rel := range st.Rels {
		switch r := rel.(type) {
		case *Split:
			ext[r.Outer], ext[r.Inner] = SplitExtents(ext[r.Parent], r)
		case *Fuse:
			ext[r.Fused] = te.Bin(te.Mul, ext[r.Outer], ext[r.Inner])
		}
	}
	return ext[a]
}

// SplitExtents gives the extents of a split's outer and inner axes for a
// parent of the given extent.
func SplitExtents(parent te.Expr, r *Split) (outer, inner te.Expr) {
	if r.NParts > 0 {
		n := &te.IntImm{Value: r.NParts, T: te.Index}
		inner = ceilDiv(parent, n)
		if e, ok := te.IntValue(parent); ok && e > 0 {
			// as TVM: the parts of ceil(parent/nparts) iterations that
			// hold any, so nparts=32 over 8 runs 8 outer iterations, not 32
			// with 24 empty ones (a symbolic or empty parent keeps
			// nparts: the quotient could be zero)
			return ceilDiv(parent, inner), inner
		}
		return n, inner
	}
	f := &te.IntImm{Value: r.Factor, T: te.Index}
	return ceilDiv(parent, f), f
}

// ceilDiv is (a + b - 1) floordiv b, folded when both are constants.
func ceilDiv(a, b te.Expr) te.Expr {
	return te.Bin(te.FloorDiv, te.Bin(te.Add, a, te.Bin(te.Sub, b, te.Const(te.Index, 1))), b)
}
