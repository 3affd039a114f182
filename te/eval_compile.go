package te

import (
	"fmt"
	"math"
	"math/bits"
	"unsafe"
)

// Compilation of expressions to closures. Every operator and dtype gets its
// own closure, chosen here once, so that no operator switch runs per
// element; each computes exactly what the scalar semantics (semantics.go)
// define, evaluating operands left to right as a tree walk would, so that the
// first undefined operation is the same. Narrow integer types wrap by a Go
// conversion to their own width (int64(int8(x)) is DType.Wrap for int8).

type goInt interface {
	int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64
}

type goFloat interface{ float32 | float64 }

func select64(c bool, a, b int64) int64 {
	if c {
		return a
	}
	return b
}

// check turns an undefined operation into an evaluation error.
func check(v int64, err error) int64 {
	if err != nil {
		panic(evalError{err})
	}
	return v
}

func (t DType) format(v int64) string {
	if t.Kind == KindUInt {
		return fmt.Sprint(uint64(v))
	}
	return fmt.Sprint(v)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// compileInt compiles an expression of bool or integer type.
func (ev *evaluator) compileInt(e Expr) intFn {
	t := e.Type()
	if b, ok := e.(*Binary); ok && t == Index {
		// index arithmetic (i*2 + kh, n + m) as one linear form
		if l, ok := ev.linearOf(b, nil); ok {
			return l.compile()
		}
	}
	switch e := e.(type) {
	case *IntImm:
		v := e.Value
		return func(frame) int64 { return v }
	case *Var:
		slot, ok := ev.slots[e]
		if !ok {
			panic(evalError{fmt.Errorf("variable %s has no value", e.Name)})
		}
		return func(f frame) int64 { return f[slot] }
	case *Read:
		offset := ev.compileOffset(e)
		ints := ev.bufs[e.Tensor].Ints
		if b := ev.box[e]; b != nil {
			return boxLoad(ints, b)
		}
		return func(f frame) int64 { return ints[offset(f)] }
	case *Cast:
		return ev.compileCastToInt(t, e.X)
	case *Select:
		return ev.compileSelectInt(e)
	case *Unary:
		if fn := ev.popcountOf(e); fn != nil {
			return fn
		}
		x := ev.compileInt(e.X)
		if fn := intUnary(e.Op, t, x); fn != nil {
			return fn
		}
		op := e.Op
		return func(f frame) int64 { return IntUnary(op, t, x(f)) }
	case *Binary:
		return ev.compileBinaryInt(e)
	}
	panic(evalError{fmt.Errorf("cannot evaluate %s as an integer", ExprString(e))})
}

func (ev *evaluator) compileSelectInt(e *Select) intFn {
	c, a, b := ev.compileInt(e.Cond), ev.compileInt(e.True), ev.compileInt(e.False)
	if e.Lazy {
		return func(f frame) int64 {
			if c(f) != 0 {
				return a(f)
			}
			return b(f)
		}
	}
	return func(f frame) int64 {
		cv, av, bv := c(f), a(f), b(f)
		return select64(cv != 0, av, bv)
	}
}

func (ev *evaluator) compileBinaryInt(e *Binary) intFn {
	op := e.Op
	ot := e.A.Type() // operand type
	if op.IsComparison() && ot.IsFloat() {
		a, b := ev.compileFloat(e.A), ev.compileFloat(e.B)
		return floatCompare(op, a, b)
	}
	a, b := ev.compileInt(e.A), ev.compileInt(e.B)
	t := e.T
	switch op {
	case And:
		return func(f frame) int64 {
			if a(f) == 0 {
				return 0
			}
			return b(f)
		}
	case Or:
		return func(f frame) int64 {
			if a(f) != 0 {
				return 1
			}
			return b(f)
		}
	case Shl, Shr:
		// a constant amount in range cannot fail: shift without the check
		if c, ok := e.B.(*IntImm); ok && c.Value >= 0 && c.Value < int64(t.Bits) && !t.IsBool() {
			s := uint(c.Value)
			switch {
			case op == Shr && t.Kind == KindUInt:
				return func(f frame) int64 { return int64(uint64(a(f)) >> s) }
			case op == Shr:
				return func(f frame) int64 { return a(f) >> s }
			}
			return byIntType(t, func(f frame) int64 { return t.Wrap(a(f) << s) }, shlT[int8](a, s), shlT[int16](a, s),
				shlT[int32](a, s), shlT[int64](a, s), shlT[uint8](a, s), shlT[uint16](a, s), shlT[uint32](a, s), shlT[uint64](a, s))
		}
		bt := e.B.Type()
		shift := func(f frame) int64 { return check(Shift(op, t, a(f), bt, b(f))) }
		if t.IsBool() {
			return shift
		}
		// the amount checked inline; Shift only to report an amount out of range
		w := uint64(t.Bits)
		switch {
		case op == Shr && t.Kind == KindUInt:
			return func(f frame) int64 {
				x, s := a(f), b(f)
				if uint64(s) >= w {
					return check(Shift(op, t, x, bt, s))
				}
				return int64(uint64(x) >> s)
			}
		case op == Shr:
			return func(f frame) int64 {
				x, s := a(f), b(f)
				if uint64(s) >= w {
					return check(Shift(op, t, x, bt, s))
				}
				return x >> s
			}
		}
		return byIntType(t, shift, shlVarT[int8](a, b, t, bt), shlVarT[int16](a, b, t, bt), shlVarT[int32](a, b, t, bt),
			shlVarT[int64](a, b, t, bt), shlVarT[uint8](a, b, t, bt), shlVarT[uint16](a, b, t, bt),
			shlVarT[uint32](a, b, t, bt), shlVarT[uint64](a, b, t, bt))
	case Div, Mod, FloorDiv, FloorMod:
		// a constant divisor other than 0 and -1 cannot fail
		if c, ok := e.B.(*IntImm); ok && c.Value != 0 && c.Value != -1 && !ot.IsBool() {
			return divConst(op, ot.Kind == KindUInt, a, c.Value)
		}
	}
	var bConst *int64
	if c, ok := e.B.(*IntImm); ok {
		bConst = &c.Value
	}
	if fn := intBinary(op, ot, a, b, bConst); fn != nil {
		return fn
	}
	return func(f frame) int64 { return check(IntBinary(op, ot, a(f), b(f))) }
}

// shlVarT shifts left by an amount computed at run time, of type bt; out
// of range, Shift reports the error.
func shlVarT[T goInt](a, b intFn, t, bt DType) intFn {
	var zero T
	w := uint64(8 * unsafe.Sizeof(zero))
	return func(f frame) int64 {
		x, s := a(f), b(f)
		if uint64(s) >= w {
			return check(Shift(Shl, t, x, bt, s))
		}
		return int64(T(x) << s)
	}
}

func shlT[T goInt](a intFn, s uint) intFn {
	return func(f frame) int64 { return int64(T(a(f)) << s) }
}

// byIntType picks the function for integer type t (bool: other).
func byIntType[F any](t DType, other, i8, i16, i32, i64, u8, u16, u32, u64 F) F {
	switch {
	case t.Kind == KindInt && t.Bits == 8:
		return i8
	case t.Kind == KindInt && t.Bits == 16:
		return i16
	case t.Kind == KindInt && t.Bits == 32:
		return i32
	case t.Kind == KindInt && t.Bits == 64:
		return i64
	case t.Kind == KindUInt && t.Bits == 8:
		return u8
	case t.Kind == KindUInt && t.Bits == 16:
		return u16
	case t.Kind == KindUInt && t.Bits == 32:
		return u32
	case t.Kind == KindUInt && t.Bits == 64:
		return u64
	}
	return other
}

// intBinary returns op on operands of type t, or nil for the generic path
// (bool arithmetic, division by a value, shifts); bConst is b's value when
// it is a constant.
func intBinary(op BinOp, t DType, a, b intFn, bConst *int64) intFn {
	switch op {
	case BitAnd:
		return func(f frame) int64 { return a(f) & b(f) }
	case BitOr:
		return func(f frame) int64 { return a(f) | b(f) }
	case BitXor:
		return func(f frame) int64 { return a(f) ^ b(f) }
	}
	if t.IsBool() {
		return nil
	}
	return byIntType(t, nil, intBinaryT[int8](op, a, b, bConst), intBinaryT[int16](op, a, b, bConst),
		intBinaryT[int32](op, a, b, bConst), intBinaryT[int64](op, a, b, bConst), intBinaryT[uint8](op, a, b, bConst),
		intBinaryT[uint16](op, a, b, bConst), intBinaryT[uint32](op, a, b, bConst), intBinaryT[uint64](op, a, b, bConst))
}

// intBinaryT is IntBinary for canonical values of Go type T: T(x) is exact,
// and int64(T(r)) wraps r to the width.
func intBinaryT[T goInt](op BinOp, a, b intFn, bConst *int64) intFn {
	if bConst != nil { // a constant right operand, read once
		c := T(*bConst)
		switch op {
		case Add:
			return func(f frame) int64 { return int64(T(a(f)) + c) }
		case Sub:
			return func(f frame) int64 { return int64(T(a(f)) - c) }
		case Mul:
			return func(f frame) int64 { return int64(T(a(f)) * c) }
		}
	}
	switch op {
	case Add:
		return func(f frame) int64 { return int64(T(a(f)) + T(b(f))) }
	case Sub:
		return func(f frame) int64 { return int64(T(a(f)) - T(b(f))) }
	case Mul:
		return func(f frame) int64 { return int64(T(a(f)) * T(b(f))) }
	case Min:
		return func(f frame) int64 {
			x, y := a(f), b(f)
			return select64(T(x) < T(y), x, y)
		}
	case Max:
		return func(f frame) int64 {
			x, y := a(f), b(f)
			return select64(T(x) > T(y), x, y)
		}
	case EQ:
		return func(f frame) int64 { return boolInt(a(f) == b(f)) }
	case NE:
		return func(f frame) int64 { return boolInt(a(f) != b(f)) }
	case LT:
		return func(f frame) int64 { return boolInt(T(a(f)) < T(b(f))) }
	case LE:
		return func(f frame) int64 { return boolInt(T(a(f)) <= T(b(f))) }
	case GT:
		return func(f frame) int64 { return boolInt(T(a(f)) > T(b(f))) }
	case GE:
		return func(f frame) int64 { return boolInt(T(a(f)) >= T(b(f))) }
	}
	return nil
}

// divConst is IntBinary's division or remainder by c, neither 0 nor -1, so
// that nothing is undefined. Canonical operands of a narrow type give a
// quotient within the type.
func divConst(op BinOp, unsigned bool, a intFn, c int64) intFn {
	if unsigned {
		uc := uint64(c)
		if op == Div || op == FloorDiv {
			return func(f frame) int64 { return int64(uint64(a(f)) / uc) }
		}
		return func(f frame) int64 { return int64(uint64(a(f)) % uc) }
	}
	switch op {
	case Div:
		return func(f frame) int64 { return a(f) / c }
	case Mod:
		return func(f frame) int64 { return a(f) % c }
	case FloorDiv:
		return func(f frame) int64 { return floorDiv(a(f), c) }
	}
	return func(f frame) int64 { return floorMod(a(f), c) }
}

// intUnary is IntUnary for type t, or nil for the generic path.
func intUnary(op UnOp, t DType, x intFn) intFn {
	switch op {
	case Not:
		return func(f frame) int64 { return x(f) ^ 1 }
	case Popcount:
		mask := uint64(math.MaxUint64)
		if t.Bits < 64 {
			mask = 1<<t.Bits - 1
		}
		return func(f frame) int64 { return int64(bits.OnesCount64(uint64(x(f)) & mask)) }
	}
	if t.IsBool() {
		return nil
	}
	return byIntType(t, nil, intUnaryT[int8](op, x), intUnaryT[int16](op, x), intUnaryT[int32](op, x),
		intUnaryT[int64](op, x), intUnaryT[uint8](op, x), intUnaryT[uint16](op, x), intUnaryT[uint32](op, x),
		intUnaryT[uint64](op, x))
}

func intUnaryT[T goInt](op UnOp, x intFn) intFn {
	switch op {
	case Neg:
		return func(f frame) int64 { return int64(-T(x(f))) }
	case BitNot:
		return func(f frame) int64 { return int64(^T(x(f))) }
	case Abs:
		var zero T
		if zero-1 > 0 { // unsigned: abs is the identity
			return x
		}
		return func(f frame) int64 {
			if v := x(f); v < 0 {
				return int64(-T(v))
			} else {
				return v
			}
		}
	}
	return nil
}

func wrapT[T goInt](x intFn) intFn { return func(f frame) int64 { return int64(T(x(f))) } }

// popcountOf compiles popcount(a ^ b), popcount(a & b) and
// popcount(a | b) in one closure (the binary layers' inner loop), or
// returns nil.
func (ev *evaluator) popcountOf(e *Unary) intFn {
	b, ok := e.X.(*Binary)
	if e.Op != Popcount || !ok || (b.Op != BitXor && b.Op != BitAnd && b.Op != BitOr) {
		return nil
	}
	x, y := ev.compileInt(b.A), ev.compileInt(b.B)
	mask := uint64(math.MaxUint64)
	if bits := b.T.Bits; bits < 64 {
		mask = 1<<bits - 1
	}
	switch b.Op {
	case BitXor:
		return func(f frame) int64 { return int64(bits.OnesCount64(uint64(x(f)^y(f)) & mask)) }
	case BitAnd:
		return func(f frame) int64 { return int64(bits.OnesCount64(uint64(x(f)&y(f)) & mask)) }
	}
	return func(f frame) int64 { return int64(bits.OnesCount64(uint64(x(f)|y(f)) & mask)) }
}

func (ev *evaluator) compileCastToInt(t DType, x Expr) intFn {
	if u, ok := x.(*Unary); ok && u.Op == Popcount && !t.IsBool() && t.Bits >= 8 {
		// a popcount (at most 64) fits every integer type: the cast keeps it
		return ev.compileInt(x)
	}
	if !x.Type().IsFloat() {
		xf := ev.compileInt(x)
		if t.IsBool() {
			return func(f frame) int64 { return boolInt(xf(f) != 0) }
		}
		return byIntType(t, func(f frame) int64 { return IntToInt(t, xf(f)) }, wrapT[int8](xf), wrapT[int16](xf),
			wrapT[int32](xf), xf, wrapT[uint8](xf), wrapT[uint16](xf), wrapT[uint32](xf), xf)
	}
	xf := ev.compileFloat(x)
	return func(f frame) int64 { return check(FloatToInt(t, xf(f))) }
}

// compileFloat compiles an expression of float type.
func (ev *evaluator) compileFloat(e Expr) floatFn {
	t := e.Type()
	switch e := e.(type) {
	case *FloatImm:
		v := e.Value
		return func(frame) float64 { return v }
	case *Read:
		offset := ev.compileOffset(e)
		floats := ev.bufs[e.Tensor].Floats
		if b := ev.box[e]; b != nil {
			return boxLoad(floats, b)
		}
		return func(f frame) float64 { return floats[offset(f)] }
	case *Cast:
		from := e.X.Type()
		if from.IsFloat() {
			x := ev.compileFloat(e.X)
			if t.Bits == 64 {
				return x
			}
			return func(f frame) float64 { return float64(float32(x(f))) }
		}
		x := ev.compileInt(e.X)
		switch {
		case from.Kind == KindUInt && t.Bits == 32:
			return func(f frame) float64 { return float64(float32(uint64(x(f)))) }
		case from.Kind == KindUInt:
			return func(f frame) float64 { return float64(uint64(x(f))) }
		case t.Bits == 32:
			return func(f frame) float64 { return float64(float32(x(f))) }
		}
		return func(f frame) float64 { return float64(x(f)) }
	case *Select:
		c, a, b := ev.compileInt(e.Cond), ev.compileFloat(e.True), ev.compileFloat(e.False)
		if e.Lazy {
			return func(f frame) float64 {
				if c(f) != 0 {
					return a(f)
				}
				return b(f)
			}
		}
		return func(f frame) float64 {
			cv, av, bv := c(f), a(f), b(f)
			if cv != 0 {
				return av
			}
			return bv
		}
	case *Unary:
		x, op := ev.compileFloat(e.X), e.Op
		if t.Bits == 32 {
			return floatUnaryT[float32](op, t, x)
		}
		return floatUnaryT[float64](op, t, x)
	case *Binary:
		// Each result is rounded to the type's precision on its own, so no two
		// operations fuse (an explicit conversion also forbids Go's FMA).
		a, b, op := ev.compileFloat(e.A), ev.compileFloat(e.B), e.Op
		if t.Bits == 32 {
			return floatBinaryT[float32](op, t, a, b)
		}
		return floatBinaryT[float64](op, t, a, b)
	}
	panic(evalError{fmt.Errorf("cannot evaluate %s as a float", ExprString(e))})
}

// floatBinaryT is FloatBinary for Go type F: the operation in float64, then
// rounded to F, as RoundTo does.
func floatBinaryT[F goFloat](op BinOp, t DType, a, b floatFn) floatFn {
	switch op {
	case Add:
		return func(f frame) float64 { return float64(F(float64(a(f) + b(f)))) }
	case Sub:
		return func(f frame) float64 { return float64(F(float64(a(f) - b(f)))) }
	case Mul:
		return func(f frame) float64 { return float64(F(float64(a(f) * b(f)))) }
	case Div:
		return func(f frame) float64 { return float64(F(float64(a(f) / b(f)))) }
	case Min:
		return func(f frame) float64 { return float64(F(floatMin(a(f), b(f)))) }
	case Max:
		return func(f frame) float64 { return float64(F(floatMax(a(f), b(f)))) }
	}
	return func(f frame) float64 { return FloatBinary(op, t, a(f), b(f)) }
}

func floatUnaryT[F goFloat](op UnOp, t DType, x floatFn) floatFn {
	var fn func(float64) float64
	switch op {
	case Neg:
		return func(f frame) float64 { return float64(F(-x(f))) }
	case Abs:
		fn = math.Abs
	case Exp:
		fn = math.Exp
	case Sqrt:
		fn = math.Sqrt
	case Round:
		fn = math.RoundToEven
	case Floor:
		fn = math.Floor
	case Log2:
		fn = math.Log2
	default:
		return func(f frame) float64 { return FloatUnary(op, t, x(f)) }
	}
	return func(f frame) float64 { return float64(F(fn(x(f)))) }
}

func floatCompare(op BinOp, a, b floatFn) intFn {
	switch op {
	case EQ:
		return func(f frame) int64 { return boolInt(a(f) == b(f)) }
	case NE:
		return func(f frame) int64 { return boolInt(a(f) != b(f)) }
	case LT:
		return func(f frame) int64 { return boolInt(a(f) < b(f)) }
	case LE:
		return func(f frame) int64 { return boolInt(a(f) <= b(f)) }
	case GT:
		return func(f frame) int64 { return boolInt(a(f) > b(f)) }
	}
	return func(f frame) int64 { return boolInt(a(f) >= b(f)) }
}

// floatStep and intStep return acc combined with the body at the frame, as
// the reduction's combiner applied by FloatBinary or IntBinary.
func floatStep(op ReduceOp, t DType, body floatFn) func(float64, frame) float64 {
	bop := op.Combiner()
	if t.Bits == 32 {
		return floatStepT[float32](bop, t, body)
	}
	return floatStepT[float64](bop, t, body)
}

func floatStepT[F goFloat](op BinOp, t DType, body floatFn) func(float64, frame) float64 {
	switch op {
	case Add:
		return func(acc float64, f frame) float64 { return float64(F(float64(acc + body(f)))) }
	case Min:
		return func(acc float64, f frame) float64 { return float64(F(floatMin(acc, body(f)))) }
	case Max:
		return func(acc float64, f frame) float64 { return float64(F(floatMax(acc, body(f)))) }
	}
	return func(acc float64, f frame) float64 { return FloatBinary(op, t, acc, body(f)) }
}

func intStep(op ReduceOp, t DType, body intFn) func(int64, frame) int64 {
	bop := op.Combiner()
	generic := func(acc int64, f frame) int64 { v, _ := IntBinary(bop, t, acc, body(f)); return v }
	if t.IsBool() {
		return generic
	}
	return byIntType(t, generic, intStepT[int8](bop, body), intStepT[int16](bop, body), intStepT[int32](bop, body),
		intStepT[int64](bop, body), intStepT[uint8](bop, body), intStepT[uint16](bop, body),
		intStepT[uint32](bop, body), intStepT[uint64](bop, body))
}

func intStepT[T goInt](op BinOp, body intFn) func(int64, frame) int64 {
	switch op {
	case Add:
		return func(acc int64, f frame) int64 { return int64(T(acc) + T(body(f))) }
	case Min:
		return func(acc int64, f frame) int64 { v := body(f); return select64(T(acc) < T(v), acc, v) }
	}
	return func(acc int64, f frame) int64 { v := body(f); return select64(T(acc) > T(v), acc, v) }
}
