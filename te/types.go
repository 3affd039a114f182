package te

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
)

// The type rules. No implicit conversion ever happens between typed values:
// both operands of an arithmetic, bitwise or comparison operator have one
// type, or the program says cast(T, x). Untyped literals (Int, Float) take
// the type of the other operand when they fit it; expressions of literals
// alone are folded at once. Shifts are the exception: the shift amount may be
// of any integer type, and the result has the left operand's type (as in Go).

// convertConst gives the untyped constant c the type t, or a Bad saying why
// it cannot have it. Typed expressions are returned unchanged.
func convertConst(c Expr, t DType) Expr {
	if !c.Type().IsUntyped() || t.IsUntyped() {
		return c
	}
	switch c := c.(type) {
	case *IntImm:
		switch {
		case t.IsFloat():
			return &FloatImm{Value: IntToFloat(t, Int64, c.Value), T: t} // rounds once
		case t.IsInteger():
			if !fitsInt(c.Value, t) {
				return badf("constant %d overflows %v (range %d..%s)", c.Value, t, t.MinInt(), maxString(t))
			}
			return &IntImm{Value: t.Wrap(c.Value), T: t}
		case t.IsBool():
			return badf("integer constant %d cannot be a bool; use true or false", c.Value)
		}
	case *FloatImm:
		if t.IsFloat() {
			if t.Bits == 32 && math.Abs(c.Value) > math.MaxFloat32 && !math.IsInf(c.Value, 0) {
				return badf("constant %v overflows float32", c.Value)
			}
			return &FloatImm{Value: roundTo(t, c.Value), T: t}
		}
		return badf("float constant %v cannot be used as %v; to compute in floating point, convert the %v operand: cast(float32, x)", c.Value, t, t)
	}
	return badf("cannot convert %v to %v", c.Type(), t)
}

func fitsInt(v int64, t DType) bool {
	if t.Kind == KindUInt && t.Bits == 64 {
		return v >= 0 // untyped literals are int64; all non-negative ones fit
	}
	return v >= t.MinInt() && v <= t.MaxInt()
}

func maxString(t DType) string {
	if t.Kind == KindUInt && t.Bits == 64 {
		return "18446744073709551615"
	}
	return fmt.Sprint(t.MaxInt())
}

// roundTo rounds a float64 to the precision of float type t.
func roundTo(t DType, v float64) float64 {
	if t.Bits == 32 {
		return float64(float32(v))
	}
	return v
}

// unify gives a and b one type, converting an untyped literal to the other
// operand's type. what names the operation for messages.
func unify(what string, a, b Expr) (Expr, Expr, error) {
	ta, tb := a.Type(), b.Type()
	switch {
	case ta == tb:
		return a, b, nil
	case ta.IsUntyped() && tb.IsUntyped():
		// int literal meets float literal: both become untyped float
		return toUntypedFloat(a), toUntypedFloat(b), nil
	case ta.IsUntyped():
		a = convertConst(a, tb)
	case tb.IsUntyped():
		b = convertConst(b, ta)
	default:
		return a, b, fmt.Errorf("mismatched types %v and %v in %s; convert one side explicitly, e.g. cast(%v, x)", ta, tb, what, ta)
	}
	if bad := firstBad(a, b); bad != nil {
		return a, b, fmt.Errorf("in %s: %w", what, bad.Err)
	}
	return a, b, nil
}

func toUntypedFloat(e Expr) Expr {
	if c, ok := e.(*IntImm); ok && c.T == UntypedInt {
		return &FloatImm{Value: float64(c.Value), T: UntypedFloat}
	}
	return e
}

// Bin builds a binary operation, checking its operand types.
func Bin(op BinOp, a, b Expr) Expr {
	if bad := firstBad(a, b); bad != nil {
		return bad
	}
	if op == Shl || op == Shr {
		return shift(op, a, b)
	}
	a, b, err := unify("'"+op.String()+"'", a, b)
	if err != nil {
		return &Bad{Err: err}
	}
	t := a.Type()
	if err := checkOperandType(op, t); err != nil {
		return &Bad{Err: err}
	}
	if t.IsUntyped() {
		return foldUntyped(op, a, b)
	}
	rt := t
	if op.IsComparison() {
		rt = Bool
	}
	return foldTyped(&Binary{Op: op, A: a, B: b, T: rt})
}

// foldTyped evaluates an operation on two typed constants (so that shapes
// and ranges such as 2 - 5 are known numbers), with the language's semantics;
// an undefined operation becomes a Bad.
func foldTyped(e *Binary) Expr {
	switch a := e.A.(type) {
	case *IntImm:
		b, ok := e.B.(*IntImm)
		if !ok || e.Op == And || e.Op == Or {
			return e
		}
		var v int64
		var err error
		if e.Op == Shl || e.Op == Shr {
			v, err = Shift(e.Op, a.T, a.Value, b.T, b.Value)
		} else {
			v, err = IntBinary(e.Op, a.T, a.Value, b.Value)
		}
		if err != nil {
			return &Bad{Err: err}
		}
		return &IntImm{Value: v, T: e.T}
	case *FloatImm:
		b, ok := e.B.(*FloatImm)
		if !ok {
			return e
		}
		if e.Op.IsComparison() {
			return &IntImm{Value: boolInt(FloatCompare(e.Op, a.Value, b.Value)), T: Bool}
		}
		return &FloatImm{Value: FloatBinary(e.Op, a.T, a.Value, b.Value), T: e.T}
	}
	return e
}

func checkOperandType(op BinOp, t DType) error {
	ok := false
	var need string
	switch op {
	case Add, Sub, Mul, Div, Min, Max:
		ok, need = t.IsNumeric(), "numbers (int, uint or float)"
	case Mod, FloorDiv, FloorMod:
		ok, need = t.IsInteger(), "integers"
		if op == FloorDiv && t.IsFloat() {
			need += "; for floats write floor(a / b)" // Python's // on floats
		}
	case BitAnd, BitOr, BitXor:
		ok, need = t.IsInteger() || t.IsBool(), "integers or bools"
	case And, Or:
		ok, need = t.IsBool(), "bools (compare numbers first, e.g. x != 0)"
	case EQ, NE:
		ok, need = true, ""
	case LT, LE, GT, GE:
		ok, need = t.IsNumeric(), "numbers"
	case Pow:
		ok, need = t.IsFloat() || t == UntypedFloat, "floats (use cast(float32, x) for integers)"
	}
	if !ok {
		return fmt.Errorf("operator '%s' is not defined on %v; it takes %s", op, t, need)
	}
	return nil
}

func shift(op BinOp, a, b Expr) Expr {
	ta, tb := a.Type(), b.Type()
	if !ta.IsInteger() || !tb.IsInteger() {
		return badf("operator '%s' takes integers, not %v and %v", op, ta, tb)
	}
	if ta.IsUntyped() && tb.IsUntyped() {
		return foldUntyped(op, a, b)
	}
	if ta.IsUntyped() {
		a = convertConst(a, ta.Default())
	}
	if tb.IsUntyped() {
		b = convertConst(b, a.Type())
	}
	if bad := firstBad(a, b); bad != nil {
		return &Bad{Err: fmt.Errorf("in '%s': %w", op, bad.Err)}
	}
	if c, ok := b.(*IntImm); ok && (c.Value < 0 || c.Value >= int64(a.Type().Bits)) {
		return badf("shift amount %d is out of range for %v (0..%d)", c.Value, a.Type(), a.Type().Bits-1)
	}
	return foldTyped(&Binary{Op: op, A: a, B: b, T: a.Type()})
}

// foldUntyped evaluates an operator on two untyped literals.
func foldUntyped(op BinOp, a, b Expr) Expr {
	if a.Type() == UntypedFloat || b.Type() == UntypedFloat {
		x, y := a.(*FloatImm).Value, b.(*FloatImm).Value
		if op.IsComparison() {
			return BoolConst(compare(op, x, y))
		}
		return &FloatImm{Value: FloatBinary(op, Float64, x, y), T: UntypedFloat}
	}
	x, y := a.(*IntImm).Value, b.(*IntImm).Value
	if (op == Div || op == Mod || op == FloorDiv || op == FloorMod) && y == 0 {
		return badf("division by zero in constant expression")
	}
	if (op == Shl || op == Shr) && (y < 0 || y > 63) {
		return badf("shift amount %d is out of range (0..63)", y)
	}
	var r int64
	overflow := false
	switch op {
	case Add:
		r, ok := addChecked(x, y)
		return checkedConst(r, ok, x, op, y)
	case Sub:
		r, ok := subChecked(x, y)
		return checkedConst(r, ok, x, op, y)
	case Mul:
		r, ok := mulChecked(x, y)
		return checkedConst(r, ok, x, op, y)
	case Div:
		overflow = x == math.MinInt64 && y == -1
		r = x / y
	case Mod:
		r = x % y
	case FloorDiv:
		overflow = x == math.MinInt64 && y == -1
		r = floorDiv(x, y)
	case FloorMod:
		r = floorMod(x, y)
	case Min:
		r = min(x, y)
	case Max:
		r = max(x, y)
	case BitAnd:
		r = x & y
	case BitOr:
		r = x | y
	case BitXor:
		r = x ^ y
	case Shl:
		r = x << y
		overflow = r>>y != x
	case Shr:
		r = x >> y
	case EQ, NE, LT, LE, GT, GE:
		return BoolConst(compare(op, x, y))
	}
	return checkedConst(r, !overflow, x, op, y)
}

// checkedConst is the untyped constant r = x op y, or an error when it
// overflowed (ok false).
func checkedConst(r int64, ok bool, x int64, op BinOp, y int64) Expr {
	if !ok {
		return badf("constant expression %d %s %d overflows 64 bits", x, op, y)
	}
	return &IntImm{Value: r, T: UntypedInt}
}

// addChecked, subChecked and mulChecked are a + b, a - b and a * b, and
// whether the result is exact (no int64 overflow): constant folding and
// value ranges (valuerange.go) share them.
func addChecked(a, b int64) (int64, bool) {
	r := a + b
	return r, (a >= 0) != (b >= 0) || (r >= 0) == (a >= 0)
}

func subChecked(a, b int64) (int64, bool) {
	r := a - b
	return r, (a >= 0) == (b >= 0) || (r >= 0) == (a >= 0)
}

func mulChecked(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(magnitude(a), magnitude(b))
	limit := uint64(math.MaxInt64)
	if (a < 0) != (b < 0) {
		limit++ // a negative product may reach -2^63
	}
	return a * b, hi == 0 && lo <= limit
}

// magnitude is |x| as a uint64 (exact for math.MinInt64 too).
func magnitude(x int64) uint64 {
	if x < 0 {
		return -uint64(x)
	}
	return uint64(x)
}

func absInt(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func floorDiv(x, y int64) int64 {
	q := x / y
	if (x%y != 0) && ((x < 0) != (y < 0)) {
		q--
	}
	return q
}

func floorMod(x, y int64) int64 {
	r := x % y
	if r != 0 && ((r < 0) != (y < 0)) {
		r += y
	}
	return r
}

// compare applies a comparison operator (false for NaN floats, except !=).
func compare[T cmp.Ordered](op BinOp, x, y T) bool {
	switch op {
	case EQ:
		return x == y
	case NE:
		return x != y
	case LT:
		return x < y
	case LE:
		return x <= y
	case GT:
		return x > y
	}
	return x >= y
}

// Un builds a unary operation, checking its operand type.
func Un(op UnOp, x Expr) Expr {
	if bad := firstBad(x); bad != nil {
		return bad
	}
	t := x.Type()
	var ok bool
	var need string
	switch op {
	case Neg, Abs:
		ok, need = t.IsNumeric(), "a number"
	case Not:
		ok, need = t.IsBool(), "a bool"
	case BitNot, Popcount:
		ok, need = t.IsInteger(), "an integer"
	case Exp, Sqrt, Round, Floor, Log2, Log, Exp2, Tanh, Sigmoid, Erf:
		ok, need = t.IsFloat() || t == UntypedFloat, "a float (use cast(float32, x) for integers)"
	}
	if !ok {
		return badf("%s is not defined on %v; it takes %s", op, t, need)
	}
	if t.IsUntyped() {
		if op == Popcount || op == BitNot {
			// the result depends on the width: decide the type first
			return Un(op, convertConst(x, t.Default()))
		}
		return foldUntypedUnary(op, x)
	}
	return &Unary{Op: op, X: x}
}

func foldUntypedUnary(op UnOp, x Expr) Expr {
	if c, ok := x.(*IntImm); ok {
		switch op {
		case Neg:
			if c.Value == math.MinInt64 {
				return badf("constant -(%d) overflows 64 bits", c.Value)
			}
			return &IntImm{Value: -c.Value, T: UntypedInt}
		case Abs:
			if c.Value == math.MinInt64 {
				return badf("constant abs(%d) overflows 64 bits", c.Value)
			}
			return &IntImm{Value: absInt(c.Value), T: UntypedInt}
		}
	}
	// untyped floats have float64 precision
	return &FloatImm{Value: FloatUnary(op, Float64, x.(*FloatImm).Value), T: UntypedFloat}
}

// CastTo converts x to the scalar type t. Any scalar type converts to any
// other; an untyped constant must fit t exactly.
func CastTo(t DType, x Expr) Expr {
	if bad := firstBad(x); bad != nil {
		return bad
	}
	if t.IsUntyped() || t.Kind == KindInvalid {
		return badf("cannot cast to %v", t)
	}
	if x.Type().IsUntyped() {
		if c, ok := x.(*FloatImm); ok && t.IsInteger() {
			if c.Value != math.Trunc(c.Value) {
				return badf("cast(%v, %v): the constant is not a whole number; write the integer you mean (casts of computed values truncate toward zero)", t, c.Value)
			}
			if math.Abs(c.Value) < 1<<63 {
				x = Int(int64(c.Value))
			}
		}
		if t.IsBool() {
			switch c := x.(type) {
			case *IntImm:
				return BoolConst(c.Value != 0)
			case *FloatImm:
				return BoolConst(c.Value != 0)
			}
		}
		return convertConst(x, t)
	}
	if x.Type() == t {
		return x
	}
	return &Cast{T: t, X: x}
}

// SelectOf is select(cond, a, b): both branches are evaluated.
func SelectOf(cond, a, b Expr) Expr { return selectOf(cond, a, b, false) }

// IfThenElse is if_then_else(cond, a, b): only the chosen branch is evaluated.
func IfThenElse(cond, a, b Expr) Expr { return selectOf(cond, a, b, true) }

func selectOf(cond, a, b Expr, lazy bool) Expr {
	if bad := firstBad(cond, a, b); bad != nil {
		return bad
	}
	name := "select"
	if lazy {
		name = "if_then_else"
	}
	if !cond.Type().IsBool() {
		return badf("the condition of %s must be a bool, not %v", name, cond.Type())
	}
	a, b, err := unify(name, a, b)
	if err != nil {
		return &Bad{Err: err}
	}
	if a.Type().IsUntyped() {
		a, b = convertConst(a, a.Type().Default()), convertConst(b, a.Type().Default())
	}
	return &Select{Cond: cond, True: a, False: b, Lazy: lazy}
}

// Convenience constructors for Go users.
func AddOf(a, b Expr) Expr      { return Bin(Add, a, b) }
func SubOf(a, b Expr) Expr      { return Bin(Sub, a, b) }
func MulOf(a, b Expr) Expr      { return Bin(Mul, a, b) }
func DivOf(a, b Expr) Expr      { return Bin(Div, a, b) }
func ModOf(a, b Expr) Expr      { return Bin(Mod, a, b) }
func MinOf(a, b Expr) Expr      { return Bin(Min, a, b) }
func MaxOf(a, b Expr) Expr      { return Bin(Max, a, b) }
func PopcountOf(x Expr) Expr    { return Un(Popcount, x) }
func FloorDivOf(a, b Expr) Expr { return Bin(FloorDiv, a, b) }
func FloorModOf(a, b Expr) Expr { return Bin(FloorMod, a, b) }
