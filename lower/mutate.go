package lower

import "tide/te"

// MutateExpr rebuilds e bottom-up: children first, then fn on the node with
// its new children. fn returns its argument to keep a node. Types do not
// change, so nodes are rebuilt directly rather than re-checked.
func MutateExpr(e te.Expr, fn func(te.Expr) te.Expr) te.Expr {
	switch x := e.(type) {
	case *te.Binary:
		a, b := MutateExpr(x.A, fn), MutateExpr(x.B, fn)
		if a != x.A || b != x.B {
			e = &te.Binary{Op: x.Op, A: a, B: b, T: x.T}
		}
	case *te.Unary:
		if v := MutateExpr(x.X, fn); v != x.X {
			e = &te.Unary{Op: x.Op, X: v}
		}
	case *te.Cast:
		if v := MutateExpr(x.X, fn); v != x.X {
			e = &te.Cast{T: x.T, X: v}
		}
	case *te.Select:
		c, a, b := MutateExpr(x.Cond, fn), MutateExpr(x.True, fn), MutateExpr(x.False, fn)
		if c != x.Cond || a != x.True || b != x.False {
			e = &te.Select{Cond: c, True: a, False: b, Lazy: x.Lazy}
		}
	case *te.Read:
		idx, changed := mutateList(x.Indices, fn)
		if changed {
			e = &te.Read{Tensor: x.Tensor, Indices: idx}
		}
	case *Load:
		if v := MutateExpr(x.Index, fn); v != x.Index {
			e = &Load{Buffer: x.Buffer, Index: v}
		}
	case *Ramp:
		b, s := MutateExpr(x.Base, fn), MutateExpr(x.Stride, fn)
		if b != x.Base || s != x.Stride {
			e = &Ramp{Base: b, Stride: s, Lanes: x.Lanes}
		}
	case *Broadcast:
		if v := MutateExpr(x.Value, fn); v != x.Value {
			e = &Broadcast{Value: v, Lanes: x.Lanes}
		}
	}
	return fn(e)
}

func mutateList(es []te.Expr, fn func(te.Expr) te.Expr) ([]te.Expr, bool) {
	out := make([]te.Expr, len(es))
	changed := false
	for i, x := range es {
		out[i] = MutateExpr(x, fn)
		changed = changed || out[i] != x
	}
	return out, changed
}
