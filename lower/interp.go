package lower

import (
	"fmt"

	"github.com/tide-compiler/tide/te"
)

// Run executes a lowered function: the second oracle next to te's reference
// evaluator. Vector values are computed lane by lane with the same scalar
// semantics (te/semantics.go). Inputs come in argument order; the outputs are
// returned in the kernel's order. Parallel loops run their iterations in
// reverse order, so a schedule that makes iterations depend on each other
// shows up as a wrong result.
func Run(f *Func, inputs []*te.Buffer, sizes map[*te.Var]int64) (outs []*te.Buffer, err error) {
	in := &interp{env: map[*te.Var]int64{}, mem: map[*Buffer]*te.Buffer{}}
	for v, x := range sizes {
		in.env[v] = x
	}
	nIn := len(f.Args) - f.Outputs
	if len(inputs) != nIn {
		return nil, fmt.Errorf("%s takes %d inputs, got %d", f.Name, nIn, len(inputs))
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(runError)
			if !ok {
				panic(r)
			}
			outs, err = nil, fmt.Errorf("running %s: %w", f.Name, e.err)
		}
	}()
	for i, a := range f.Args {
		shape := in.shape(a)
		if i < nIn {
			if inputs[i].DType != a.DType || te.NumElements(inputs[i].Shape) != te.NumElements(shape) {
				return nil, fmt.Errorf("input %s: got %v%v, want %v%v", a.Name, inputs[i].DType, inputs[i].Shape, a.DType, shape)
			}
			in.mem[a] = inputs[i]
		} else {
			in.mem[a] = te.NewBuffer(a.DType, shape)
			outs = append(outs, in.mem[a])
		}
	}
	for _, c := range f.Constants {
		in.mem[c.Buffer] = c.Value
	}
	if f.Workspace != nil {
		// each slot its own memory: the plan itself is checked by
		// CheckWorkspace, and in generated code
		for _, s := range f.Workspace.Slots {
			in.mem[s.Buffer] = te.NewBuffer(s.Buffer.DType, in.shape(s.Buffer))
		}
	}
	in.stmt(f.Body)
	return outs, nil
}

type runError struct{ err error }

func fail(err error) { panic(runError{err}) }

type interp struct {
	env map[*te.Var]int64
	mem map[*Buffer]*te.Buffer
}

// value is a scalar (one lane) or a vector; ints holds integers and bools
// canonically, floats holds floats.
type value struct {
	ints   []int64
	floats []float64
}

func (v value) lanes() int { return max(len(v.ints), len(v.floats)) }

func (in *interp) shape(b *Buffer) []int {
	shape := make([]int, len(b.Shape))
	for i, s := range b.Shape {
		shape[i] = int(in.scalar(s))
	}
	return shape
}

func (in *interp) scalar(e te.Expr) int64 {
	v := in.expr(e)
	if v.lanes() != 1 || v.ints == nil {
		fail(fmt.Errorf("%s is not a scalar integer", te.ExprString(e)))
	}
	return v.ints[0]
}

func (in *interp) stmt(s Stmt) {
	switch s := s.(type) {
	case Seq:
		for _, x := range s {
			in.stmt(x)
		}
	case *For:
		lo, n := in.scalar(s.Min), in.scalar(s.Extent)
		for i := int64(0); i < n; i++ {
			v := lo + i
			if s.Kind == Parallel {
				v = lo + n - 1 - i
			}
			in.env[s.Var] = v
			in.stmt(s.Body)
		}
		delete(in.env, s.Var)
	case *Store:
		buf := in.mem[s.Buffer]
		idx, val := in.expr(s.Index), in.expr(s.Value)
		if idx.lanes() != val.lanes() {
			fail(fmt.Errorf("store to %s: %d index lanes, %d value lanes", s.Buffer.Name, idx.lanes(), val.lanes()))
		}
		for l, off := range idx.ints {
			checkBounds(s.Buffer, buf, off)
			if val.floats != nil {
				buf.Floats[off] = val.floats[l]
			} else {
				buf.Ints[off] = val.ints[l]
			}
		}
	case *Prefetch:
		// a hint: no effect on the results
	case *Allocate:
		in.mem[s.Buffer] = te.NewBuffer(s.Buffer.DType, in.shape(s.Buffer))
		in.stmt(s.Body)
		delete(in.mem, s.Buffer)
	case *IfThenElse:
		if in.scalar(s.Cond) != 0 {
			in.stmt(s.Then)
		} else if s.Else != nil {
			in.stmt(s.Else)
		}
	case *LetStmt:
		in.env[s.Var] = in.scalar(s.Value)
		in.stmt(s.Body)
		delete(in.env, s.Var)
	case *Group:
		in.stmt(s.Body)
	default:
		fail(fmt.Errorf("unknown statement %T", s))
	}
}

func checkBounds(b *Buffer, buf *te.Buffer, off int64) {
	if buf == nil {
		fail(fmt.Errorf("buffer %s is used outside its allocation", b.Name))
	}
	if off < 0 || off >= int64(buf.Len()) {
		fail(fmt.Errorf("%w: access %s[%d] is out of bounds (%d elements)", te.ErrUndefined, b.Name, off, buf.Len()))
	}
}

func must(v int64, err error) int64 {
	if err != nil {
		fail(err)
	}
	return v
}

func (in *interp) expr(e te.Expr) value {
	t := e.Type()
	switch e := e.(type) {
	case *te.IntImm:
		return value{ints: []int64{e.Value}}
	case *te.FloatImm:
		return value{floats: []float64{e.Value}}
	case *te.Var:
		v, ok := in.env[e]
		if !ok {
			fail(fmt.Errorf("variable %s is used outside its loop", e.Name))
		}
		return value{ints: []int64{v}}
	case *Load:
		buf := in.mem[e.Buffer]
		idx := in.expr(e.Index)
		var pred value
		if e.Predicate != nil {
			pred = in.expr(e.Predicate)
		}
		out := value{}
		for l, off := range idx.ints {
			if pred.ints != nil && pred.ints[l] == 0 {
				// a lane the predicate excludes reads nothing
				if buf != nil && buf.Floats != nil {
					out.floats = append(out.floats, 0)
				} else {
					out.ints = append(out.ints, 0)
				}
				continue
			}
			checkBounds(e.Buffer, buf, off)
			if buf.Floats != nil {
				out.floats = append(out.floats, buf.Floats[off])
			} else {
				out.ints = append(out.ints, buf.Ints[off])
			}
		}
		return out
	case *Ramp:
		base, stride := in.scalar(e.Base), in.scalar(e.Stride)
		out := value{ints: make([]int64, e.Lanes)}
		for l := range out.ints {
			out.ints[l] = te.Index.Wrap(base + int64(l)*stride)
		}
		return out
	case *Broadcast:
		v := in.expr(e.Value)
		out := value{}
		for l := 0; l < e.Lanes; l++ {
			if v.floats != nil {
				out.floats = append(out.floats, v.floats[0])
			} else {
				out.ints = append(out.ints, v.ints[0])
			}
		}
		return out
	case *te.Unary:
		x := in.expr(e.X)
		return lanewise(x.lanes(), t, func(l int) (int64, float64) {
			if x.floats != nil {
				return 0, te.FloatUnary(e.Op, t.Element(), x.floats[l])
			}
			return te.IntUnary(e.Op, t.Element(), x.ints[l]), 0
		})
	case *te.Cast:
		x := in.expr(e.X)
		from := e.X.Type().Element()
		to := t.Element()
		return lanewise(x.lanes(), t, func(l int) (int64, float64) {
			switch {
			case from.IsFloat() && to.IsFloat():
				return 0, te.RoundTo(to, x.floats[l])
			case from.IsFloat():
				return must(te.FloatToInt(to, x.floats[l])), 0
			case to.IsFloat():
				return 0, te.IntToFloat(to, from, x.ints[l])
			}
			return te.IntToInt(to, x.ints[l]), 0
		})
	case *te.Select:
		c := in.expr(e.Cond)
		if e.Lazy && c.lanes() == 1 {
			if c.ints[0] != 0 {
				return in.expr(e.True)
			}
			return in.expr(e.False)
		}
		a, b := in.expr(e.True), in.expr(e.False)
		return lanewise(c.lanes(), t, func(l int) (int64, float64) {
			src := b
			if c.ints[l] != 0 {
				src = a
			}
			if src.floats != nil {
				return 0, src.floats[l]
			}
			return src.ints[l], 0
		})
	case *te.Binary:
		return in.binary(e)
	case *VectorReduce:
		x := in.expr(e.Value)
		et := t.Element()
		acc := value{}
		for l := 0; l < x.lanes(); l++ {
			lane := value{}
			if x.floats != nil {
				lane.floats = []float64{x.floats[l]}
			} else {
				lane.ints = []int64{x.ints[l]}
			}
			if l == 0 {
				acc = lane
				continue
			}
			acc = in.combine(e.Op, et, acc, lane)
		}
		return acc
	}
	fail(fmt.Errorf("cannot interpret %T %s", e, te.ExprString(e)))
	return value{}
}

// lanewise builds a value of type t with n lanes from a per-lane function.
func lanewise(n int, t te.DType, f func(l int) (int64, float64)) value {
	out := value{}
	if t.IsFloat() {
		out.floats = make([]float64, n)
	} else {
		out.ints = make([]int64, n)
	}
	for l := 0; l < n; l++ {
		i, x := f(l)
		if out.floats != nil {
			out.floats[l] = x
		} else {
			out.ints[l] = i
		}
	}
	return out
}

func (in *interp) binary(e *te.Binary) value {
	op := e.Op
	a := in.expr(e.A)
	if a.lanes() == 1 && (op == te.And || op == te.Or) {
		// scalar logical operators short-circuit, as in the evaluator
		if (op == te.And) == (a.ints[0] == 0) {
			return a
		}
		return in.expr(e.B)
	}
	b := in.expr(e.B)
	if a.lanes() != b.lanes() {
		fail(fmt.Errorf("%s: operands have %d and %d lanes", te.ExprString(e), a.lanes(), b.lanes()))
	}
	return in.apply(op, e.A.Type().Element(), e.T, e.B.Type().Element(), a, b)
}

// combine applies a reduction's combiner (Add, Min, Max) to two scalars of type t.
func (in *interp) combine(op te.BinOp, t te.DType, a, b value) value {
	return in.apply(op, t, t, t, a, b)
}

// apply computes a binary operation lane by lane: ot is the operands'
// element type, rt the result type, st the type of a shift amount.
func (in *interp) apply(op te.BinOp, ot, rt0, st te.DType, a, b value) value {
	rt := rt0.Element()
	return lanewise(a.lanes(), rt0, func(l int) (int64, float64) {
		switch {
		case ot.IsFloat() && op.IsComparison():
			if te.FloatCompare(op, a.floats[l], b.floats[l]) {
				return 1, 0
			}
			return 0, 0
		case ot.IsFloat():
			return 0, te.FloatBinary(op, rt, a.floats[l], b.floats[l])
		case op == te.Shl || op == te.Shr:
			return must(te.Shift(op, rt, a.ints[l], st, b.ints[l])), 0
		}
		return must(te.IntBinary(op, ot, a.ints[l], b.ints[l])), 0
	})
}
