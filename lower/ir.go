// Package lower turns a scheduled te graph into loop IR: loop nests over
// flat buffers, built and transformed by a pipeline of passes, printed like
// TVM's lowered IR, and executed by an interpreter that serves as the second
// oracle next to te's reference evaluator.
package lower

import (
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// Buffer is a flat, row-major array in memory: a kernel argument or an
// intermediate allocation.
type Buffer struct {
	Name  string
	DType te.DType
	Shape []te.Expr // Index expressions over symbolic dims
	Align int       // in bytes; 0 when unknown
}

// Stmt is a loop-IR statement.
type Stmt interface{ stmtNode() }

// ForKind says how a loop runs: the annotation of the schedule axis it
// comes from (one enum for both layers).
type ForKind = schedule.Ann

const (
	Serial     = schedule.Serial
	Parallel   = schedule.Parallel
	Vectorized = schedule.Vectorized
	Unrolled   = schedule.Unrolled
)

// For runs Body for Var in [Min, Min+Extent).
type For struct {
	Var         *te.Var
	Min, Extent te.Expr
	Kind        ForKind
	Body        Stmt
	// Axis is the schedule axis the loop comes from (nil for loops lowering
	// made up), so diagnostics can name the primitive behind it.
	Axis *schedule.Axis
	// Tail marks the part of a loop the partition pass split off that
	// keeps the guard: the iterations past a split's last full factor, or
	// the first ones that a guard against a lower bound fails.
	Tail bool
}

// Store writes Value at flat position Index of Buffer.
type Store struct {
	Buffer *Buffer
	Index  te.Expr
	Value  te.Expr
}

// Allocate makes Buffer live during Body.
type Allocate struct {
	Buffer *Buffer
	Body   Stmt
}

// IfThenElse runs Then when Cond holds, else Else (which may be nil).
type IfThenElse struct {
	Cond       te.Expr
	Then, Else Stmt
	// Likely marks the guard of a split's partial last iteration: true in
	// all but a few iterations, which loop partitioning separates out.
	Likely bool
}

// Seq runs statements in order.
type Seq []Stmt

// LetStmt binds Var to Value in Body.
type LetStmt struct {
	Var   *te.Var
	Value te.Expr
	Body  Stmt
}

// Prefetch asks for the cache line holding flat position Index of Buffer
// (schedule's prefetch primitive); it never faults, so Index may lie past
// the buffer's end at a loop's last iterations.
type Prefetch struct {
	Buffer *Buffer
	Index  te.Expr
}

func (*Prefetch) stmtNode()   {}
func (*For) stmtNode()        {}
func (*Store) stmtNode()      {}
func (*Allocate) stmtNode()   {}
func (*IfThenElse) stmtNode() {}
func (Seq) stmtNode()         {}
func (*LetStmt) stmtNode()    {}

// Load reads Buffer at flat position Index (an expression of the loop IR,
// next to te's scalar expressions; Read of a tensor does not survive lowering).
// A vector load with a Predicate reads only the lanes where it holds, the
// others are zero: vectorizing if_then_else(c, A[i], 0) must not touch A
// where c is false.
type Load struct {
	Buffer    *Buffer
	Index     te.Expr
	Predicate te.Expr // nil, or a bool vector with Index's lanes
}

func (l *Load) Type() te.DType { return l.Buffer.DType.WithLanes(l.Index.Type().Lanes) }

func (l *Load) Children() []te.Expr {
	if l.Predicate != nil {
		return []te.Expr{l.Index, l.Predicate}
	}
	return []te.Expr{l.Index}
}

func (l *Load) WithChildren(c []te.Expr) te.Expr {
	n := &Load{Buffer: l.Buffer, Index: c[0]}
	if len(c) > 1 {
		n.Predicate = c[1]
	}
	return n
}

// Ramp is the vector Base, Base+Stride, ..., Base+(Lanes-1)*Stride.
type Ramp struct {
	Base, Stride te.Expr
	Lanes        int
}

func (r *Ramp) Type() te.DType { return r.Base.Type().WithLanes(r.Lanes) }

func (r *Ramp) Children() []te.Expr { return []te.Expr{r.Base, r.Stride} }

func (r *Ramp) WithChildren(c []te.Expr) te.Expr {
	return &Ramp{Base: c[0], Stride: c[1], Lanes: r.Lanes}
}

// Broadcast is Value repeated in Lanes lanes.
type Broadcast struct {
	Value te.Expr
	Lanes int
}

func (b *Broadcast) Type() te.DType { return b.Value.Type().WithLanes(b.Lanes) }

func (b *Broadcast) Children() []te.Expr { return []te.Expr{b.Value} }

func (b *Broadcast) WithChildren(c []te.Expr) te.Expr { return &Broadcast{Value: c[0], Lanes: b.Lanes} }

// VectorReduce combines the lanes of a vector into a scalar with Op (Add,
// Min or Max), lane 0 first: the horizontal reduction after a vectorized
// reduction loop.
type VectorReduce struct {
	Op    te.BinOp
	Value te.Expr
}

func (v *VectorReduce) Type() te.DType { return v.Value.Type().Element() }

func (v *VectorReduce) Children() []te.Expr { return []te.Expr{v.Value} }

func (v *VectorReduce) WithChildren(c []te.Expr) te.Expr { return &VectorReduce{Op: v.Op, Value: c[0]} }

// Func is a lowered kernel: its argument buffers and symbolic dims, and its body.
// A SigArg is one argument of a function's C signature: a buffer or a
// symbolic dimension (Param), in Signature's order.
type SigArg struct {
	Buffer *Buffer
	Param  *te.Var
}

// Signature is f's C arguments in order: the inputs with the params at
// their declared places, then the outputs (the workspace, for a network,
// comes last and is not listed).
func (f *Func) Signature() []SigArg {
	nIn := len(f.Args) - f.Outputs
	var out []SigArg
	for i := 0; i <= nIn; i++ {
		for j, p := range f.Params {
			pos := nIn // a param without a place follows the inputs
			if j < len(f.ParamPos) {
				pos = min(f.ParamPos[j], nIn)
			}
			if pos == i {
				out = append(out, SigArg{Param: p})
			}
		}
		if i < nIn {
			out = append(out, SigArg{Buffer: f.Args[i]})
		}
	}
	for _, a := range f.Args[nIn:] {
		out = append(out, SigArg{Buffer: a})
	}
	return out
}

type Func struct {
	Name   string
	Args   []*Buffer // inputs, then outputs, in the kernel's order
	Params []*te.Var // symbolic dimensions
	// ParamPos places each param among the inputs in the C signature
	// (te.Kernel.ParamPos): param j right before Args[ParamPos[j]].
	ParamPos []int
	Body     Stmt
	Outputs  int // the last Outputs of Args are outputs
	// Passes names the pipeline steps run on Body so far, in order.
	Passes []string

	// A network's function (see network.go) also has a memory plan for
	// its intermediates and weights held as constant data.
	Workspace *Workspace
	Constants []Constant
}

func (l *Load) SameHead(o te.Expr) bool {
	m, ok := o.(*Load)
	return ok && m.Buffer == l.Buffer && (m.Predicate == nil) == (l.Predicate == nil)
}
func (l *Load) HeadHash() uint64 { return 1 }

func (r *Ramp) SameHead(o te.Expr) bool { s, ok := o.(*Ramp); return ok && s.Lanes == r.Lanes }
func (r *Ramp) HeadHash() uint64        { return 2 + uint64(r.Lanes)<<8 }

func (b *Broadcast) SameHead(o te.Expr) bool {
	c, ok := o.(*Broadcast)
	return ok && c.Lanes == b.Lanes
}
func (b *Broadcast) HeadHash() uint64 { return 3 + uint64(b.Lanes)<<8 }

func (v *VectorReduce) SameHead(o te.Expr) bool {
	w, ok := o.(*VectorReduce)
	return ok && w.Op == v.Op
}
func (v *VectorReduce) HeadHash() uint64 { return 4 + uint64(v.Op)<<8 }

// The loop IR's nodes are te.Composite: Walk, Mutate, Equal and Hash reach
// into them (a node missing a method would silently stop matching).
var (
	_ te.Composite = (*Load)(nil)
	_ te.Composite = (*Ramp)(nil)
	_ te.Composite = (*Broadcast)(nil)
	_ te.Composite = (*VectorReduce)(nil)
)
