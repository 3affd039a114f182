package te

import (
	"math"
	"math/bits"
	"sync"
	"unsafe"
)

// Reductions evaluated a whole box at a time. When every read of a
// reduction's body is a box read (eval_affine.go) and the box has at most
// maxLanes points, the body is also compiled to lane closures: each node
// computes its value at every point of the box (a lane per point, in loop
// order, first axis outermost) in one call, so the cost of a closure call
// is shared by all the points. The lanes are then folded in order, exactly
// as the loops would. Values are the scalar semantics, lane by lane. A lane
// that meets an undefined operation (a shift amount, a cast of a float out
// of range) abandons the element, which the checked scalar path then
// evaluates from the start: it fails where the tree walk fails, or
// succeeds when the lane belonged to an if_then_else branch not taken
// (lanes compute both branches; nothing they compute has an effect).

const maxLanes = 1 << 14

type (
	laneFrame struct {
		f      frame
		ints   [][]int64
		floats [][]float64
	}
	intLanes   func(*laneFrame) []int64
	floatLanes func(*laneFrame) []float64
)

// abandon is the panic value of a lane that meets an undefined operation.
type abandon struct{}

type laneCompiler struct {
	ev       *evaluator
	n        int             // lanes: points of the box
	laneVals map[int][]int64 // each reduce variable's value at every lane
	box      map[*Read]*boxRead
	nInts    int // int buffers of a lane frame
	nFloats  int
}

func (lc *laneCompiler) intBuf() int   { lc.nInts++; return lc.nInts - 1 }
func (lc *laneCompiler) floatBuf() int { lc.nFloats++; return lc.nFloats - 1 }

// newLaneCompiler enumerates the box of axes; nil when it is empty or has
// more than maxLanes points.
func newLaneCompiler(ev *evaluator, axes []reduceAxis, boxes []*boxRead) *laneCompiler {
	n := int64(1)
	for _, a := range axes {
		if a.ext <= 0 || n*a.ext > maxLanes {
			return nil
		}
		n *= a.ext
	}
	if len(axes) == 0 {
		return nil
	}
	lc := &laneCompiler{ev: ev, n: int(n), laneVals: map[int][]int64{}, box: boxMap(boxes)}
	for _, a := range axes {
		lc.laneVals[a.slot] = make([]int64, n)
	}
	idx := make([]int64, len(axes))
	for j := range lc.n {
		for d, a := range axes {
			lc.laneVals[a.slot][j] = a.min + idx[d]
		}
		for d := len(axes) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < axes[d].ext {
				break
			}
			idx[d] = 0
		}
	}
	return lc
}

// innerSum is sum(coef * lane value) over the reduce terms of ts, per lane.
func (lc *laneCompiler) innerSum(ts []term) []int64 {
	s := make([]int64, lc.n)
	for _, t := range ts {
		if vals, ok := lc.laneVals[t.slot]; ok {
			for j, v := range vals {
				s[j] += t.coef * v
			}
		}
	}
	return s
}

// frames hands out lane frames to the workers, one per element at a time.
func (lc *laneCompiler) frames() *sync.Pool {
	nInts, nFloats, n := lc.nInts, lc.nFloats, lc.n
	return &sync.Pool{New: func() any {
		lf := &laneFrame{ints: make([][]int64, nInts), floats: make([][]float64, nFloats)}
		for i := range lf.ints {
			lf.ints[i] = make([]int64, n)
		}
		for i := range lf.floats {
			lf.floats[i] = make([]float64, n)
		}
		return lf
	}}
}

// vint compiles an int expression to lanes, or returns false.
func (lc *laneCompiler) vint(e Expr) (intLanes, bool) {
	t := e.Type()
	switch e := e.(type) {
	case *IntImm:
		c := make([]int64, lc.n)
		for j := range c {
			c[j] = e.Value
		}
		return func(*laneFrame) []int64 { return c }, true
	case *Var:
		slot, ok := lc.ev.slots[e]
		if !ok {
			return nil, false
		}
		if vals, ok := lc.laneVals[slot]; ok {
			return func(*laneFrame) []int64 { return vals }, true
		}
		o := lc.intBuf()
		return func(lf *laneFrame) []int64 {
			out, v := lf.ints[o], lf.f[slot]
			for j := range out {
				out[j] = v
			}
			return out
		}, true
	case *Read:
		b := lc.box[e]
		if b == nil {
			return nil, false
		}
		data, off, base, o := lc.ev.bufs[e.Tensor].Ints, lc.innerSum(b.inner), b.base, lc.intBuf()
		return func(lf *laneFrame) []int64 {
			out, at := lf.ints[o], lf.f[base]
			for j, d := range off {
				out[j] = data[at+d]
			}
			return out
		}, true
	case *Cast:
		return lc.vcastInt(t, e.X)
	case *Select:
		c, ok1 := lc.vint(e.Cond)
		a, ok2 := lc.vint(e.True)
		b, ok3 := lc.vint(e.False)
		if !ok1 || !ok2 || !ok3 {
			return nil, false
		}
		o := lc.intBuf()
		return func(lf *laneFrame) []int64 {
			out, cv, av, bv := lf.ints[o], c(lf), a(lf), b(lf)
			for j := range out {
				out[j] = select64(cv[j] != 0, av[j], bv[j])
			}
			return out
		}, true
	case *Unary:
		x, ok := lc.vint(e.X)
		if !ok {
			return nil, false
		}
		if e.Op == Popcount {
			mask := uint64(math.MaxUint64)
			if t.Bits < 64 {
				mask = 1<<t.Bits - 1
			}
			o := lc.intBuf()
			return func(lf *laneFrame) []int64 {
				out, xv := lf.ints[o], x(lf)
				for j, v := range xv {
					out[j] = int64(bits.OnesCount64(uint64(v) & mask))
				}
				return out
			}, true
		}
		op := e.Op
		return lc.mapInt(x, func(v int64) int64 { return IntUnary(op, t, v) }), true
	case *Binary:
		return lc.vbinaryInt(e)
	}
	return nil, false
}

// mapInt applies fn to every lane of x.
func (lc *laneCompiler) mapInt(x intLanes, fn func(int64) int64) intLanes {
	o := lc.intBuf()
	return func(lf *laneFrame) []int64 {
		out, xv := lf.ints[o], x(lf)
		for j, v := range xv {
			out[j] = fn(v)
		}
		return out
	}
}

func (lc *laneCompiler) vcastInt(t DType, x Expr) (intLanes, bool) {
	if x.Type().IsFloat() {
		xf, ok := lc.vfloat(x)
		if !ok {
			return nil, false
		}
		o := lc.intBuf()
		return func(lf *laneFrame) []int64 {
			out, xv := lf.ints[o], xf(lf)
			for j, v := range xv {
				r, err := FloatToInt(t, v)
				if err != nil {
					panic(abandon{})
				}
				out[j] = r
			}
			return out
		}, true
	}
	xi, ok := lc.vint(x)
	if !ok {
		return nil, false
	}
	if u, isPop := x.(*Unary); isPop && u.Op == Popcount && !t.IsBool() && t.Bits >= 8 {
		return xi, true // a popcount (at most 64) fits every integer type
	}
	return lc.mapInt(xi, func(v int64) int64 { return IntToInt(t, v) }), true
}

func (lc *laneCompiler) vbinaryInt(e *Binary) (intLanes, bool) {
	op, ot, t := e.Op, e.A.Type(), e.T
	if op.IsComparison() && ot.IsFloat() {
		a, okA := lc.vfloat(e.A)
		b, okB := lc.vfloat(e.B)
		if !okA || !okB {
			return nil, false
		}
		o := lc.intBuf()
		return func(lf *laneFrame) []int64 {
			out, av, bv := lf.ints[o], a(lf), b(lf)
			for j := range out {
				out[j] = boolInt(FloatCompare(op, av[j], bv[j]))
			}
			return out
		}, true
	}
	if l, ok := lc.ev.linearOf(e, nil); ok && t == Index {
		// index arithmetic: the element's part plus each lane's
		outer := linear{c: l.c}
		for _, tm := range l.terms {
			if _, isReduce := lc.laneVals[tm.slot]; !isReduce {
				outer.terms = append(outer.terms, tm)
			}
		}
		inner, o := lc.innerSum(l.terms), lc.intBuf()
		return func(lf *laneFrame) []int64 {
			out, a := lf.ints[o], outer.eval(lf.f)
			for j, d := range inner {
				out[j] = a + d
			}
			return out
		}, true
	}
	a, okA := lc.vint(e.A)
	b, okB := lc.vint(e.B)
	if !okA || !okB {
		return nil, false
	}
	var fn func(x, y int64) int64
	switch op {
	case Div, Mod, FloorDiv, FloorMod:
		c, ok := e.B.(*IntImm)
		if !ok || c.Value == 0 || c.Value == -1 || ot.IsBool() {
			return nil, false // a division by a value: the scalar path
		}
		fn = func(x, y int64) int64 { v, _ := IntBinary(op, ot, x, y); return v }
	case Shl, Shr:
		bt := e.B.Type()
		fn = func(x, y int64) int64 {
			v, err := Shift(op, t, x, bt, y)
			if err != nil {
				panic(abandon{})
			}
			return v
		}
		if op == Shl && !t.IsBool() {
			return byIntType(t, nil, laneShlT[int8](lc.intBuf(), a, b), laneShlT[int16](lc.intBuf(), a, b),
				laneShlT[int32](lc.intBuf(), a, b), laneShlT[int64](lc.intBuf(), a, b), laneShlT[uint8](lc.intBuf(), a, b),
				laneShlT[uint16](lc.intBuf(), a, b), laneShlT[uint32](lc.intBuf(), a, b), laneShlT[uint64](lc.intBuf(), a, b)), true
		}
	case BitAnd, BitOr, BitXor:
		o := lc.intBuf()
		return func(lf *laneFrame) []int64 {
			out, av, bv := lf.ints[o], a(lf), b(lf)
			bv = bv[:len(av)]
			switch op {
			case BitAnd:
				for j := range av {
					out[j] = av[j] & bv[j]
				}
			case BitOr:
				for j := range av {
					out[j] = av[j] | bv[j]
				}
			default:
				for j := range av {
					out[j] = av[j] ^ bv[j]
				}
			}
			return out
		}, true
	default:
		fn = func(x, y int64) int64 { v, _ := IntBinary(op, ot, x, y); return v }
		if (op == Add || op == Sub || op == Mul) && !t.IsBool() {
			o := lc.intBuf()
			return byIntType(t, nil, laneArithT[int8](op, o, a, b), laneArithT[int16](op, o, a, b),
				laneArithT[int32](op, o, a, b), laneArithT[int64](op, o, a, b), laneArithT[uint8](op, o, a, b),
				laneArithT[uint16](op, o, a, b), laneArithT[uint32](op, o, a, b), laneArithT[uint64](op, o, a, b)), true
		}
	}
	o := lc.intBuf()
	return func(lf *laneFrame) []int64 {
		out, av, bv := lf.ints[o], a(lf), b(lf)
		for j := range out {
			out[j] = fn(av[j], bv[j])
		}
		return out
	}, true
}

// laneShlT shifts left lane by lane, abandoning the element at an amount
// out of range.
func laneShlT[T goInt](o int, a, b intLanes) intLanes {
	var zero T
	w := uint64(8 * unsafe.Sizeof(zero))
	return func(lf *laneFrame) []int64 {
		out, av, bv := lf.ints[o], a(lf), b(lf)
		bv = bv[:len(av)]
		for j, x := range av {
			s := bv[j]
			if uint64(s) >= w {
				panic(abandon{})
			}
			out[j] = int64(T(x) << s)
		}
		return out
	}
}

// laneArithT is + - or * of type T lane by lane.
func laneArithT[T goInt](op BinOp, o int, a, b intLanes) intLanes {
	return func(lf *laneFrame) []int64 {
		out, av, bv := lf.ints[o], a(lf), b(lf)
		bv = bv[:len(av)]
		switch op {
		case Add:
			for j := range av {
				out[j] = int64(T(av[j]) + T(bv[j]))
			}
		case Sub:
			for j := range av {
				out[j] = int64(T(av[j]) - T(bv[j]))
			}
		default:
			for j := range av {
				out[j] = int64(T(av[j]) * T(bv[j]))
			}
		}
		return out
	}
}

// vfloat compiles a float expression to lanes, or returns false.
func (lc *laneCompiler) vfloat(e Expr) (floatLanes, bool) {
	t := e.Type()
	switch e := e.(type) {
	case *FloatImm:
		c := make([]float64, lc.n)
		for j := range c {
			c[j] = e.Value
		}
		return func(*laneFrame) []float64 { return c }, true
	case *Read:
		b := lc.box[e]
		if b == nil {
			return nil, false
		}
		data, off, base, o := lc.ev.bufs[e.Tensor].Floats, lc.innerSum(b.inner), b.base, lc.floatBuf()
		return func(lf *laneFrame) []float64 {
			out, at := lf.floats[o], lf.f[base]
			for j, d := range off {
				out[j] = data[at+d]
			}
			return out
		}, true
	case *Cast:
		from := e.X.Type()
		o := lc.floatBuf()
		if from.IsFloat() {
			x, ok := lc.vfloat(e.X)
			return func(lf *laneFrame) []float64 {
				out, xv := lf.floats[o], x(lf)
				for j, v := range xv {
					out[j] = RoundTo(t, v)
				}
				return out
			}, ok
		}
		x, ok := lc.vint(e.X)
		return func(lf *laneFrame) []float64 {
			out, xv := lf.floats[o], x(lf)
			for j, v := range xv {
				out[j] = IntToFloat(t, from, v)
			}
			return out
		}, ok
	case *Select:
		c, ok1 := lc.vint(e.Cond)
		a, ok2 := lc.vfloat(e.True)
		b, ok3 := lc.vfloat(e.False)
		o := lc.floatBuf()
		return func(lf *laneFrame) []float64 {
			out, cv, av, bv := lf.floats[o], c(lf), a(lf), b(lf)
			for j := range out {
				if cv[j] != 0 {
					out[j] = av[j]
				} else {
					out[j] = bv[j]
				}
			}
			return out
		}, ok1 && ok2 && ok3
	case *Unary:
		x, ok := lc.vfloat(e.X)
		op, o := e.Op, lc.floatBuf()
		return func(lf *laneFrame) []float64 {
			out, xv := lf.floats[o], x(lf)
			for j, v := range xv {
				out[j] = FloatUnary(op, t, v)
			}
			return out
		}, ok
	case *Binary:
		a, okA := lc.vfloat(e.A)
		b, okB := lc.vfloat(e.B)
		op, o := e.Op, lc.floatBuf()
		if t.Bits == 32 && op == Mul {
			return func(lf *laneFrame) []float64 {
				out, av, bv := lf.floats[o], a(lf), b(lf)
				for j := range out {
					out[j] = float64(float32(float64(av[j] * bv[j])))
				}
				return out
			}, okA && okB
		}
		return func(lf *laneFrame) []float64 {
			out, av, bv := lf.floats[o], a(lf), b(lf)
			for j := range out {
				out[j] = FloatBinary(op, t, av[j], bv[j])
			}
			return out
		}, okA && okB
	}
	return nil, false
}

// intBody and floatBody compile a reduction's body to lanes with the fold of
// op over them, or return nil. The function they return reports false when
// a lane abandoned the element.
func (lc *laneCompiler) intBody(op ReduceOp, t DType, body Expr) func(f frame, acc int64) (int64, bool) {
	vals, ok := lc.vint(body)
	if !ok {
		return nil
	}
	fold := foldInt(op, t)
	pool := lc.frames()
	return func(f frame, acc int64) (int64, bool) {
		return onLanes(pool, f, func(lf *laneFrame) int64 { return fold(acc, vals(lf)) })
	}
}

func (lc *laneCompiler) floatBody(op ReduceOp, t DType, body Expr) func(f frame, acc float64) (float64, bool) {
	vals, ok := lc.vfloat(body)
	if !ok {
		return nil
	}
	fold := foldFloat(op, t)
	pool := lc.frames()
	return func(f frame, acc float64) (float64, bool) {
		return onLanes(pool, f, func(lf *laneFrame) float64 { return fold(acc, vals(lf)) })
	}
}

// onLanes runs compute on a lane frame from pool set to f; ok is false
// when a lane abandoned the element (an undefined operation, which the
// scalar path then reports).
func onLanes[V int64 | float64](pool *sync.Pool, f frame, compute func(*laneFrame) V) (v V, ok bool) {
	lf := pool.Get().(*laneFrame)
	defer func() {
		pool.Put(lf)
		if r := recover(); r != nil {
			if _, isAbandon := r.(abandon); !isAbandon {
				panic(r)
			}
			v, ok = 0, false
		}
	}()
	lf.f = f
	return compute(lf), true
}

// foldInt and foldFloat combine the lanes into acc in lane order, each step
// as intStep and floatStep.
func foldInt(op ReduceOp, t DType) func(int64, []int64) int64 {
	bop := op.Combiner()
	generic := func(acc int64, vs []int64) int64 {
		for _, v := range vs {
			acc, _ = IntBinary(bop, t, acc, v)
		}
		return acc
	}
	if t.IsBool() {
		return generic
	}
	return byIntType(t, generic, foldIntT[int8](bop), foldIntT[int16](bop), foldIntT[int32](bop), foldIntT[int64](bop),
		foldIntT[uint8](bop), foldIntT[uint16](bop), foldIntT[uint32](bop), foldIntT[uint64](bop))
}

func foldIntT[T goInt](op BinOp) func(int64, []int64) int64 {
	switch op {
	case Add:
		return func(acc int64, vs []int64) int64 {
			a := T(acc)
			for _, v := range vs {
				a += T(v)
			}
			return int64(a)
		}
	case Min:
		return func(acc int64, vs []int64) int64 {
			for _, v := range vs {
				acc = select64(T(acc) < T(v), acc, v)
			}
			return acc
		}
	}
	return func(acc int64, vs []int64) int64 {
		for _, v := range vs {
			acc = select64(T(acc) > T(v), acc, v)
		}
		return acc
	}
}

func foldFloat(op ReduceOp, t DType) func(float64, []float64) float64 {
	bop := op.Combiner()
	if bop == Add && t.Bits == 32 {
		// Summed in float32 itself: for float32 operands, the float64 sum
		// rounded to float32 is the correctly rounded float32 sum (53 bits
		// hold more than 2*24 + 2), which is what float32 addition gives, so
		// the chain runs without two conversions per step.
		return func(acc float64, vs []float64) float64 {
			a := float32(acc)
			for _, v := range vs {
				a += float32(v)
			}
			return float64(a)
		}
	}
	return func(acc float64, vs []float64) float64 {
		for _, v := range vs {
			acc = FloatBinary(bop, t, acc, v)
		}
		return acc
	}
}
