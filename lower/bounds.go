package lower

import "github.com/tide-compiler/tide/te"

// Bound inference: the region of a producer that one iteration of a
// consumer's loop reads. Index expressions are bounded by interval
// arithmetic over symbolic bounds: loops inside the attachment point vary
// over their ranges, everything outside is fixed (it stays a symbol).

// symInterval is an inclusive range [Lo, Hi] of index expressions. Span,
// when not 0, bounds Hi - Lo + 1 by a constant where the difference itself
// is no provable constant: a window that straddles blocks (fuse, then a
// split whose factor does not divide the inner axis) has bounds
// floordiv(lo, c) and floordiv(lo + k, c), at most ceil(k/c) apart. A
// window of Span elements from Lo then holds the interval.
type symInterval struct {
	Lo, Hi te.Expr
	Span   int64
}

// span is the constant bound of iv's Hi - Lo + 1, or 0.
func (sp *simplifier) span(iv symInterval) int64 {
	if k, ok := te.IntValue(sp.expr(bin(te.Sub, iv.Hi, iv.Lo))); ok && k >= 0 {
		return k + 1
	}
	return iv.Span
}

// spanLimit keeps span arithmetic far from overflow (no window is larger).
const spanLimit = int64(1) << 40

func bin(op te.BinOp, a, b te.Expr) te.Expr { return &te.Binary{Op: op, A: a, B: b, T: te.Index} }

// boundsOf bounds an index expression when the variables in vary range over
// their intervals; ok is false when the expression is beyond the interval
// arithmetic (a data-dependent index, a product of two varying values), in
// which case the caller takes the whole dimension.
func (sp *simplifier) boundsOf(e te.Expr, vary map[*te.Var]symInterval) (symInterval, bool) {
	if readsTensor(e) {
		return symInterval{}, false // a data-dependent index
	}
	if !dependsOn(e, vary) {
		return symInterval{Lo: e, Hi: e}, true
	}
	switch x := e.(type) {
	case *te.Var:
		r, ok := vary[x]
		return r, ok
	case *te.Binary:
		if !isIndex(x.A) {
			return symInterval{}, false
		}
		a, okA := sp.boundsOf(x.A, vary)
		b, okB := sp.boundsOf(x.B, vary)
		if !okA || !okB {
			return symInterval{}, false
		}
		// the span of a sum or difference: both spans, less the shared end
		sumSpan := func() int64 {
			sa, sb := sp.span(a), sp.span(b)
			if sa == 0 || sb == 0 || sa+sb > spanLimit {
				return 0
			}
			return sa + sb - 1
		}
		switch x.Op {
		case te.Add:
			return symInterval{bin(te.Add, a.Lo, b.Lo), bin(te.Add, a.Hi, b.Hi), sumSpan()}, true
		case te.Sub:
			return symInterval{bin(te.Sub, a.Lo, b.Hi), bin(te.Sub, a.Hi, b.Lo), sumSpan()}, true
		case te.Mul:
			c, ok := te.IntValue(x.B)
			iv := a
			if !ok {
				c, ok = te.IntValue(x.A)
				iv = b
			}
			if !ok {
				return symInterval{}, false
			}
			lo, hi := bin(te.Mul, iv.Lo, idx(c)), bin(te.Mul, iv.Hi, idx(c))
			if c < 0 {
				lo, hi = hi, lo
			}
			out := symInterval{Lo: lo, Hi: hi}
			if s := sp.span(iv); s > 0 && c > -spanLimit && c < spanLimit && (s-1)*max(c, -c) < spanLimit {
				out.Span = (s-1)*max(c, -c) + 1
			}
			return out, true
		case te.Div, te.FloorDiv:
			// both round monotonically, so the bounds divide
			if c, ok := te.IntValue(x.B); ok && c > 0 {
				if x.Op == te.FloorDiv && sp.inOneBlock(a, c) {
					q := bin(te.FloorDiv, a.Lo, x.B)
					return symInterval{Lo: q, Hi: q}, true
				}
				out := symInterval{Lo: bin(x.Op, a.Lo, x.B), Hi: bin(x.Op, a.Hi, x.B)}
				if s := sp.span(a); s > 0 {
					out.Span = (s-1+c-1)/c + 1 // a run of s values meets at most this many blocks
				}
				return out, true
			}
		case te.FloorMod:
			if c, ok := te.IntValue(x.B); ok && c > 0 {
				if sp.inOneBlock(a, c) {
					r := bin(te.FloorMod, a.Lo, x.B)
					return symInterval{Lo: r, Hi: bin(te.Add, r, bin(te.Sub, a.Hi, a.Lo))}, true
				}
				return symInterval{Lo: idx(0), Hi: idx(c - 1)}, true
			}
		case te.Mod:
			if c, ok := te.IntValue(x.B); ok && c > 0 {
				return symInterval{Lo: idx(-(c - 1)), Hi: idx(c - 1)}, true
			}
		case te.Min, te.Max:
			return symInterval{Lo: bin(x.Op, a.Lo, b.Lo), Hi: bin(x.Op, a.Hi, b.Hi)}, true
		}
	}
	return symInterval{}, false
}

// inOneBlock reports whether the interval provably lies inside one block
// [k*c, k*c + c): its width w is a constant dividing c and its start a
// multiple of w. This is the window of a loop split off a fused loop whose
// factor divides the inner axis (TVM's tight case for fuse): the
// iteration's region is then part of one row, not every row.
func (sp *simplifier) inOneBlock(a symInterval, c int64) bool {
	k, ok := te.IntValue(sp.expr(bin(te.Sub, a.Hi, a.Lo)))
	if !ok || k < 0 || c%(k+1) != 0 {
		return false
	}
	return sp.multipleOf(sp.expr(a.Lo), k+1)
}

// multipleOf reports whether e is provably a multiple of m: every
// coefficient of its linear form and its constant are.
func (sp *simplifier) multipleOf(e te.Expr, m int64) bool {
	l := sp.linearOf(e)
	if l.c%m != 0 {
		return false
	}
	for _, t := range l.terms {
		if t.coef%m != 0 {
			return false
		}
	}
	return true
}

func dependsOn(e te.Expr, vary map[*te.Var]symInterval) bool {
	return te.Any(e, func(x te.Expr) bool {
		v, ok := x.(*te.Var)
		_, varies := vary[v]
		return ok && varies
	})
}

func readsTensor(e te.Expr) bool {
	return te.Any(e, func(x te.Expr) bool { _, isRead := x.(*te.Read); return isRead })
}
