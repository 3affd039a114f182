package lower

import "tide/te"

// Bound inference: the region of a producer that one iteration of a
// consumer's loop reads. Index expressions are bounded by interval
// arithmetic over symbolic bounds: loops inside the attachment point vary
// over their ranges, everything outside is fixed (it stays a symbol).

// symInterval is an inclusive range [Lo, Hi] of index expressions.
type symInterval struct{ Lo, Hi te.Expr }

func bin(op te.BinOp, a, b te.Expr) te.Expr { return &te.Binary{Op: op, A: a, B: b, T: te.Index} }

// boundsOf bounds an index expression when the variables in vary range over
// their intervals; ok is false when the expression is beyond the interval
// arithmetic (a data-dependent index, a product of two varying values), in
// which case the caller takes the whole dimension.
func boundsOf(e te.Expr, vary map[*te.Var]symInterval) (symInterval, bool) {
	if readsTensor(e) {
		return symInterval{}, false // a data-dependent index
	}
	if !dependsOn(e, vary) {
		return symInterval{e, e}, true
	}
	switch x := e.(type) {
	case *te.Var:
		r, ok := vary[x]
		return r, ok
	case *te.Binary:
		if !isIndex(x.A) {
			return symInterval{}, false
		}
		a, okA := boundsOf(x.A, vary)
		b, okB := boundsOf(x.B, vary)
		if !okA || !okB {
			return symInterval{}, false
		}
		switch x.Op {
		case te.Add:
			return symInterval{bin(te.Add, a.Lo, b.Lo), bin(te.Add, a.Hi, b.Hi)}, true
		case te.Sub:
			return symInterval{bin(te.Sub, a.Lo, b.Hi), bin(te.Sub, a.Hi, b.Lo)}, true
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
			return symInterval{lo, hi}, true
		case te.Div, te.FloorDiv:
			// both round monotonically, so the bounds divide
			if c, ok := te.IntValue(x.B); ok && c > 0 {
				return symInterval{bin(x.Op, a.Lo, x.B), bin(x.Op, a.Hi, x.B)}, true
			}
		case te.FloorMod:
			if c, ok := te.IntValue(x.B); ok && c > 0 {
				return symInterval{idx(0), idx(c - 1)}, true
			}
		case te.Mod:
			if c, ok := te.IntValue(x.B); ok && c > 0 {
				return symInterval{idx(-(c - 1)), idx(c - 1)}, true
			}
		case te.Min, te.Max:
			return symInterval{bin(x.Op, a.Lo, b.Lo), bin(x.Op, a.Hi, b.Hi)}, true
		}
	}
	return symInterval{}, false
}

func dependsOn(e te.Expr, vary map[*te.Var]symInterval) bool {
	found := false
	te.Walk(e, func(x te.Expr) bool {
		if v, ok := x.(*te.Var); ok {
			if _, ok := vary[v]; ok {
				found = true
			}
		}
		return !found
	})
	return found
}

func readsTensor(e te.Expr) bool {
	found := false
	te.Walk(e, func(x te.Expr) bool {
		_, isRead := x.(*te.Read)
		found = found || isRead
		return !found
	})
	return found
}
