package te

// Composite is implemented by expression nodes defined outside te (the loop
// IR's loads and vector forms), so that Walk and Mutate reach their children.
type Composite interface {
	Expr
	Children() []Expr
	// WithChildren returns a copy of the node with new children, in the
	// order Children gives them.
	WithChildren([]Expr) Expr
	// SameHead reports whether o is a node of the same kind with the same
	// attributes (buffer, lanes, operator): Equal compares the children.
	SameHead(o Expr) bool
	// HeadHash hashes what SameHead compares.
	HeadHash() uint64
}

// Mutate rebuilds e bottom-up: children first, then fn on the node with its
// new children. fn returns its argument to keep a node. Nodes whose children
// did not change are kept, so unchanged trees share their storage.
// Types are not re-checked: fn must keep each node's type.
func Mutate(e Expr, fn func(Expr) Expr) Expr {
	switch x := e.(type) {
	case *Binary:
		a, b := Mutate(x.A, fn), Mutate(x.B, fn)
		if a != x.A || b != x.B {
			e = &Binary{Op: x.Op, A: a, B: b, T: x.T}
		}
	case *Unary:
		if v := Mutate(x.X, fn); v != x.X {
			e = &Unary{Op: x.Op, X: v}
		}
	case *Cast:
		if v := Mutate(x.X, fn); v != x.X {
			e = &Cast{T: x.T, X: v}
		}
	case *Select:
		c, a, b := Mutate(x.Cond, fn), Mutate(x.True, fn), Mutate(x.False, fn)
		if c != x.Cond || a != x.True || b != x.False {
			e = &Select{Cond: c, True: a, False: b, Lazy: x.Lazy}
		}
	case *Read:
		if idx, changed := mutateList(x.Indices, fn); changed {
			e = &Read{Tensor: x.Tensor, Indices: idx}
		}
	case *Reduce:
		if v := Mutate(x.Body, fn); v != x.Body {
			e = &Reduce{Op: x.Op, Body: v, Axes: x.Axes}
		}
	case Composite:
		if kids, changed := mutateList(x.Children(), fn); changed {
			e = x.WithChildren(kids)
		}
	}
	return fn(e)
}

func mutateList(es []Expr, fn func(Expr) Expr) ([]Expr, bool) {
	out := make([]Expr, len(es))
	changed := false
	for i, x := range es {
		out[i] = Mutate(x, fn)
		changed = changed || out[i] != x
	}
	return out, changed
}

// Substitute replaces variables by expressions of the same type.
func Substitute(e Expr, m map[*Var]Expr) Expr {
	if len(m) == 0 {
		return e
	}
	return Mutate(e, func(x Expr) Expr {
		if v, ok := x.(*Var); ok {
			if r, ok := m[v]; ok {
				return r
			}
		}
		return x
	})
}

// Any reports whether some node of e satisfies match, stopping at the
// first (Halide's ExprUsesVar and friends in one walk).
func Any(e Expr, match func(Expr) bool) bool {
	found := false
	Walk(e, func(x Expr) bool {
		found = found || match(x)
		return !found
	})
	return found
}

// Uses reports whether e mentions any of the variables in vs.
func Uses(e Expr, vs map[*Var]bool) bool {
	return Any(e, func(x Expr) bool { v, ok := x.(*Var); return ok && vs[v] })
}
