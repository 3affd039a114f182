package te

import (
	"math"
	"math/bits"
	"slices"
)

// IntRange bounds the values of an integer (or bool) tensor: every element
// of t lies in [lo, hi]. It follows the computes that produce t, by
// interval arithmetic over their bodies: a sum reduction is its extent
// times its term's bounds, a popcount is at most its operand's bits, x & c
// for a constant c >= 0 is in [0, c], and a value that may pass its type's
// limits (and wrap) has the type's whole range. Where it cannot tell
// (placeholders, variables used as values, floats converted to integers,
// symbolic extents, chains of more than maxRangeDepth computes) it gives
// the type's limits, which are always true. A uint64 tensor without a
// bound gives [math.MinInt64, math.MaxInt64]: "unknown", as its limits do
// not fit an int64.
//
// The operator library narrows arithmetic with it: a glue compares a
// convolution's accumulators, whose bound is known, in their own type.
func IntRange(t *Tensor) (lo, hi int64) {
	r := ranger{memo: map[*Tensor]interval{}, vars: map[*Var]interval{}}
	i := r.tensor(t)
	return i.lo, i.hi
}

// maxRangeDepth bounds how many computes IntRange follows back from one
// tensor: a network's chain of layers need not be walked to its input.
const maxRangeDepth = 16

type interval struct{ lo, hi int64 }

var unknown = interval{math.MinInt64, math.MaxInt64}

// limits is the range of type t: all its values.
func limits(t DType) interval {
	switch {
	case t.IsBool():
		return interval{0, 1}
	case !hasRange(t):
		return unknown
	}
	return interval{t.MinInt(), t.MaxInt()}
}

// hasRange reports whether an interval of int64s can bound t's values:
// bools and integers, but for uint64 (whose values past 2^63 are
// negative int64s).
func hasRange(t DType) bool {
	return t.IsBool() || (t.IsInteger() && !(t.Kind == KindUInt && t.Bits == 64))
}

// fit is i when every value in it is a value of type t, else t's limits
// (the computation may wrap).
func fit(i interval, t DType) interval {
	l := limits(t)
	if i.lo >= l.lo && i.hi <= l.hi && i.lo <= i.hi {
		return i
	}
	return l
}

type ranger struct {
	memo  map[*Tensor]interval
	vars  map[*Var]interval // the axes of the computes walked, by their extents
	depth int
}

func (r *ranger) tensor(t *Tensor) interval {
	if i, ok := r.memo[t]; ok {
		return i
	}
	i := limits(t.DType)
	if t.Body != nil && r.depth < maxRangeDepth && hasRange(t.DType) {
		for _, ax := range append(slices.Clone(t.Axis), t.ReduceAxis...) {
			lo, ok0 := IntValue(ax.Min)
			n, ok1 := IntValue(ax.Extent)
			if ok0 && ok1 && n >= 1 {
				r.vars[ax.Var] = interval{lo, lo + n - 1}
			}
		}
		r.depth++
		i = fit(r.body(t), t.DType)
		r.depth--
	}
	r.memo[t] = i
	return i
}

func (r *ranger) body(t *Tensor) interval {
	red, ok := t.Body.(*Reduce)
	if !ok {
		return r.expr(t.Body)
	}
	n := int64(1)
	for _, ax := range red.Axes {
		ext, ok := IntValue(ax.Extent)
		if !ok || ext < 1 {
			// symbolic, or empty: the identity, which for min and max
			// is the type's limit
			return limits(t.DType)
		}
		if n, ok = mulChecked(n, ext); !ok {
			return limits(t.DType)
		}
	}
	b := r.expr(red.Body)
	if red.Op != Sum {
		return b
	}
	lo, ok0 := mulChecked(b.lo, n)
	hi, ok1 := mulChecked(b.hi, n)
	if !ok0 || !ok1 {
		return unknown
	}
	return interval{lo, hi}
}

func (r *ranger) expr(e Expr) interval {
	i := r.node(e)
	if t := e.Type(); t.IsInteger() && !hasRange(t) && i.lo < 0 {
		// a uint64 of 2^63 or more is held as a negative int64: a
		// negative bound says nothing about the unsigned value
		return unknown
	}
	return i
}

func (r *ranger) node(e Expr) interval {
	t := e.Type()
	switch x := e.(type) {
	case *IntImm:
		return interval{x.Value, x.Value}
	case *Var:
		if i, ok := r.vars[x]; ok {
			return i
		}
	case *Read:
		return r.tensor(x.Tensor)
	case *Cast:
		if from := x.X.Type(); from.IsInteger() || from.IsBool() {
			return fit(r.expr(x.X), t)
		}
	case *Select:
		a, b := r.expr(x.True), r.expr(x.False)
		return fit(interval{min(a.lo, b.lo), max(a.hi, b.hi)}, t)
	case *Unary:
		return fit(r.unary(x), t)
	case *Binary:
		if x.Op.IsComparison() || x.Op == And || x.Op == Or {
			return interval{0, 1}
		}
		return fit(r.binary(x), t)
	}
	return limits(t)
}

func (r *ranger) unary(x *Unary) interval {
	switch x.Op {
	case Popcount:
		return interval{0, int64(x.X.Type().Bits)}
	case Not:
		return interval{0, 1}
	case Neg:
		a := r.expr(x.X)
		if a.lo == math.MinInt64 {
			return unknown
		}
		return interval{-a.hi, -a.lo}
	case BitNot:
		a := r.expr(x.X)
		return interval{^a.hi, ^a.lo}
	}
	return unknown
}

func (r *ranger) binary(x *Binary) interval {
	// x & c for a constant c >= 0: in [0, c] whatever x is (not followed)
	if x.Op == BitAnd {
		for _, c := range []Expr{x.A, x.B} {
			if v, ok := IntValue(c); ok && v >= 0 {
				return interval{0, v}
			}
		}
	}
	a, b := r.expr(x.A), r.expr(x.B)
	if a == unknown || b == unknown {
		return unknown
	}
	c, isConst := IntValue(x.B)
	switch x.Op {
	case Add:
		lo, ok0 := addChecked(a.lo, b.lo)
		hi, ok1 := addChecked(a.hi, b.hi)
		if ok0 && ok1 {
			return interval{lo, hi}
		}
	case Sub:
		lo, ok0 := subChecked(a.lo, b.hi)
		hi, ok1 := subChecked(a.hi, b.lo)
		if ok0 && ok1 {
			return interval{lo, hi}
		}
	case Mul:
		return corners(a, b, mulChecked)
	case Min:
		return interval{min(a.lo, b.lo), min(a.hi, b.hi)}
	case Max:
		return interval{max(a.lo, b.lo), max(a.hi, b.hi)}
	case BitAnd:
		if a.lo >= 0 || b.lo >= 0 {
			// the non-negative operand bounds the result
			hi := int64(math.MaxInt64)
			if a.lo >= 0 {
				hi = a.hi
			}
			if b.lo >= 0 {
				hi = min(hi, b.hi)
			}
			return interval{0, hi}
		}
	case BitOr, BitXor:
		if a.lo >= 0 && b.lo >= 0 {
			// no bit above the larger operand's highest
			return interval{0, int64(uint64(1)<<bits.Len64(uint64(max(a.hi, b.hi)))) - 1}
		}
	case Shl:
		// x << s is x * 2^s: monotone in s for either sign of x
		if b.lo >= 0 && b.hi < 62 {
			return corners(a, b, func(x, s int64) (int64, bool) { return mulChecked(x, int64(1)<<s) })
		}
	case Shr:
		if isConst && c >= 0 && c < 64 {
			return interval{a.lo >> c, a.hi >> c}
		}
		// by any amount in range: toward 0 or -1
		return interval{min(a.lo, 0), max(a.hi, 0)}
	case Div, FloorDiv:
		if isConst && c > 0 {
			if x.Op == Div {
				return interval{a.lo / c, a.hi / c}
			}
			return interval{floorDiv(a.lo, c), floorDiv(a.hi, c)}
		}
	case Mod, FloorMod:
		if isConst && c > 0 {
			switch {
			case a.lo >= 0:
				return interval{0, min(a.hi, c-1)}
			case x.Op == FloorMod:
				return interval{0, c - 1}
			}
			return interval{-(c - 1), c - 1}
		}
	}
	return unknown
}

// corners bounds f over a x b by its values at the four corners, for an f
// monotone in each operand over the other's sign (a product, a shift);
// unknown when one overflows.
func corners(a, b interval, f func(x, y int64) (int64, bool)) interval {
	out := interval{math.MaxInt64, math.MinInt64}
	for _, p := range [][2]int64{{a.lo, b.lo}, {a.lo, b.hi}, {a.hi, b.lo}, {a.hi, b.hi}} {
		v, ok := f(p[0], p[1])
		if !ok {
			return unknown
		}
		out = interval{min(out.lo, v), max(out.hi, v)}
	}
	return out
}
