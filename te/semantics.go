package te

import (
	"fmt"
	"math"
	"math/bits"
)

// The meaning of each scalar operation on canonical values (see DType.Wrap),
// in one place: the reference evaluator and the loop-IR interpreter both call
// these, so they cannot disagree. Operations the language leaves undefined
// return an error wrapping ErrUndefined.

func undefinedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUndefined}, args...)...)
}

// IntBinary applies op to integer or bool operands of type t. Comparisons
// return 0 or 1. And/Or are the non-short-circuit forms (callers that must
// short-circuit do so themselves).
func IntBinary(op BinOp, t DType, a, b int64) (int64, error) {
	unsigned := t.Kind == KindUInt
	switch op {
	case EQ, NE, LT, LE, GT, GE:
		if unsigned {
			return boolInt(compare(op, uint64(a), uint64(b))), nil
		}
		return boolInt(compare(op, a, b)), nil
	case And, BitAnd:
		return a & b, nil
	case Or, BitOr:
		return a | b, nil
	case BitXor:
		return a ^ b, nil
	case Add:
		return t.Wrap(a + b), nil
	case Sub:
		return t.Wrap(a - b), nil
	case Mul:
		return t.Wrap(a * b), nil
	case Min:
		if unsigned {
			return select64(uint64(a) < uint64(b), a, b), nil
		}
		return select64(a < b, a, b), nil
	case Max:
		if unsigned {
			return select64(uint64(a) > uint64(b), a, b), nil
		}
		return select64(a > b, a, b), nil
	case Div, Mod, FloorDiv, FloorMod:
		if b == 0 {
			return 0, undefinedf("integer %s by zero", op)
		}
		if unsigned {
			if op == Div || op == FloorDiv {
				return int64(uint64(a) / uint64(b)), nil
			}
			return int64(uint64(a) % uint64(b)), nil
		}
		if b == -1 && a == t.MinInt() {
			return 0, undefinedf("signed %s overflow: %d %s -1", op, a, op)
		}
		switch op {
		case Div:
			return a / b, nil
		case Mod:
			return a % b, nil
		case FloorDiv:
			return floorDiv(a, b), nil
		}
		return floorMod(a, b), nil
	}
	return 0, fmt.Errorf("operator %s is not an integer operation", op)
}

// Shift applies << or >> to a of type t by amount s of type st.
func Shift(op BinOp, t DType, a int64, st DType, s int64) (int64, error) {
	width := int64(t.Bits)
	if s < 0 || s >= width {
		return 0, undefinedf("shift of %v by %s is out of range (0..%d)", t, st.format(s), width-1)
	}
	if op == Shl {
		return t.Wrap(a << s), nil
	}
	if t.Kind == KindUInt {
		return int64(uint64(a) >> s), nil
	}
	return a >> s, nil
}

// FloatBinary applies an arithmetic op (+ - * / min max pow; min and max
// are IEEE 754-2019 minimum and maximum, see floatMin; pow is C's) to floats
// of type t, rounding the result to t's precision.
func FloatBinary(op BinOp, t DType, a, b float64) float64 {
	var r float64
	switch op {
	case Add:
		r = a + b
	case Sub:
		r = a - b
	case Mul:
		r = a * b
	case Div:
		r = a / b
	case Min:
		r = floatMin(a, b)
	case Max:
		r = floatMax(a, b)
	case Pow:
		r = math.Pow(a, b)
	}
	return RoundTo(t, r)
}

// FloatCompare applies a comparison to floats (false when either is NaN, except !=).
func FloatCompare(op BinOp, a, b float64) bool { return compare(op, a, b) }

// IntUnary applies -, !, ~, abs or popcount to an integer or bool of type t.
func IntUnary(op UnOp, t DType, x int64) int64 {
	switch op {
	case Neg:
		return t.Wrap(-x)
	case Not:
		return x ^ 1
	case BitNot:
		return t.Wrap(^x)
	case Abs:
		if x < 0 && t.Kind == KindInt {
			return t.Wrap(-x)
		}
		return x
	case Popcount:
		mask := uint64(math.MaxUint64)
		if t.Bits < 64 {
			mask = 1<<t.Bits - 1
		}
		return int64(bits.OnesCount64(uint64(x) & mask))
	}
	return x
}

// FloatUnary applies -, abs or one of FloatFunctions to a float of type t.
// The functions are computed in float64 and rounded once to t: generated
// code calls libm (or LLVM's intrinsics) in t's precision, which agrees
// within a few ulp, not bit for bit.
func FloatUnary(op UnOp, t DType, x float64) float64 {
	var r float64
	switch op {
	case Neg:
		r = -x
	case Abs:
		r = math.Abs(x)
	case Exp:
		r = math.Exp(x)
	case Sqrt:
		r = math.Sqrt(x)
	case Round:
		r = math.RoundToEven(x)
	case Floor:
		r = math.Floor(x)
	case Log2:
		r = math.Log2(x)
	case Log:
		r = math.Log(x)
	case Exp2:
		r = math.Exp2(x)
	case Tanh:
		r = math.Tanh(x)
	case Sigmoid:
		r = 1 / (1 + math.Exp(-x))
	case Erf:
		r = math.Erf(x)
	}
	return RoundTo(t, r)
}

// RoundTo rounds v to the precision of float type t.
func RoundTo(t DType, v float64) float64 { return roundTo(t, v) }

// IntToInt converts an integer or bool of type from to type to.
func IntToInt(to DType, x int64) int64 {
	if to.IsBool() {
		return boolInt(x != 0)
	}
	return to.Wrap(x)
}

// IntToFloat converts an integer or bool of type from to float type to.
func IntToFloat(to, from DType, x int64) float64 {
	if from.Kind == KindUInt {
		if to.Bits == 32 {
			return float64(float32(uint64(x)))
		}
		return float64(uint64(x))
	}
	if to.Bits == 32 {
		return float64(float32(x))
	}
	return float64(x)
}

// FloatToInt converts a float to integer or bool type to, truncating toward
// zero; NaN and values outside the type are undefined.
func FloatToInt(to DType, x float64) (int64, error) {
	if to.IsBool() {
		return boolInt(x != 0), nil
	}
	lo, hi := float64(to.MinInt()), float64(to.MaxInt())+1 // exact powers of two
	if to.Kind == KindUInt && to.Bits == 64 {
		hi = 1 << 64
	}
	v := math.Trunc(x)
	if !(v >= lo && v < hi) {
		return 0, undefinedf("cast of %v to %v is out of range", x, to)
	}
	if v >= 1<<63 {
		return int64(uint64(v)), nil
	}
	return int64(v), nil
}

// floatMin and floatMax are IEEE 754-2019's minimum and maximum (numpy's
// np.minimum and np.maximum, LLVM's llvm.minimum and llvm.maximum, AArch64's
// fmin and fmax): a NaN operand gives NaN, and -0 is below +0. Both are
// commutative and associative, so a reduction gives the same result in
// any order: scalar, vectorized or split across threads.
func floatMin(a, b float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.NaN()
	case a == 0 && b == 0:
		if math.Signbit(a) {
			return a
		}
		return b
	case a < b:
		return a
	}
	return b
}

// floatMax is floatMin mirrored: negation is exact, keeps NaN a NaN and
// turns "-0 below +0" into "+0 above -0".
func floatMax(a, b float64) float64 { return -floatMin(-a, -b) }
