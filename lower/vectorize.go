package lower

import (
	"fmt"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// Vectorization: a vectorized loop of constant extent L becomes one
// iteration over vectors of L lanes. Its variable becomes ramp(min, 1, L),
// and expressions are rewritten bottom-up so that affine indices stay ramps
// (a contiguous vector access) and loop-invariant values stay scalars until
// they meet a vector (then they are broadcast). Loads under a lane-dependent
// if_then_else or && / || get a predicate, so no lane reads where the
// reference evaluator would not. When a loop cannot be vectorized it runs
// as a scalar loop and a diagnostic says why.

// vectorAccumulator is the lanes of a vector accumulator for a reduction
// whose innermost loop is a vectorized reduce loop of constant extent
// (more than one lane), or 0: the nest then keeps partial sums in a vector
// and reduces it across lanes after the reduction loops, instead of
// vectorizing a loop that would add into one element.
func vectorAccumulator(leaves []*schedule.Axis, ext map[*schedule.Axis]te.Expr) int64 {
	v := leaves[len(leaves)-1]
	if v.Ann != schedule.Vectorized || !v.Reduce {
		return 0
	}
	if lanes := lanesOf(ext[v]); lanes > 1 {
		return lanes
	}
	return 0
}

func vectorize(f *Func, d *diags) {
	f.Body = rewriteLoops(f.Body, func(l *For, around []*For) Stmt { return vectorizeLoop(l, around, d) })
}

// (the outer loops' kinds matter: a guard on an unrolled loop's variable
// becomes a constant per copy, as a tail's does; unroll runs after
// vectorize, so such copies run scalar too, noted as a tail.)

// vectorizeLoop vectorizes loop l (its inner loops are done), inside the
// loops around. In a split's tail (a loop the partition pass split off, l
// or one around it) guarded iterations may run scalar; a split's guard
// that stays outside any tail and depends on a parallel loop around makes
// every iteration of that loop scalar.
func vectorizeLoop(l *For, around []*For, d *diags) Stmt {
	if l.Kind != Vectorized {
		return l
	}
	inTail := l.Tail
	outer := map[*te.Var]ForKind{}
	for _, a := range around {
		inTail = inTail || a.Tail
		outer[a.Var] = a.Kind
	}
	scalar := func(warn bool, format string, args ...any) Stmt {
		msg := fmt.Sprintf("vectorize(%s): runs as a scalar loop: ", l.Var.Name) + fmt.Sprintf(format, args...)
		if warn {
			d.warn(l.Axis, "%s", msg)
		} else {
			d.note(l.Axis, "%s", msg)
		}
		c := *l
		c.Kind = Serial
		return &c
	}
	lanes, ok := te.IntValue(l.Extent)
	if !ok {
		return scalar(true, "its extent %s is not a constant", te.ExprString(l.Extent))
	}
	if lanes == 1 {
		c := *l
		c.Kind = Serial
		return &c
	}
	v := &vectorizer{v: l.Var, lanes: int(lanes), ramp: &Ramp{Base: l.Min, Stride: idx(1), Lanes: int(lanes)}, sp: newSimplifier()}
	body, err := v.stmt(l.Body)
	if err != nil {
		if g, ok := err.(tailGuard); ok && g.likely {
			cond := te.ExprString(g.cond)
			if inTail || !usesOuterLoop(g.cond, l.Var, outer) {
				return tighten(scalar(false, "this is the tail of a split that does not divide its extent (%s)", cond).(*For))
			}
			// no partition split the guard off: every iteration is guarded
			return tighten(scalar(true, "on every iteration: the guard of a split that does not divide its extent (%s) could not be split off the loops around it (the split's outer loop is fused, or the partition budget is spent): give the extent a multiple of the factor, or do not fuse the split's outer loop", cond).(*For))
		}
		return scalar(true, "%v", err)
	}
	for _, a := range v.strided {
		d.warn(l.Axis, "vectorize(%s): %s is not contiguous: it becomes a gather or scatter, one lane at a time", l.Var.Name, a)
	}
	return body
}

type tailGuard struct {
	cond   te.Expr
	likely bool
}

// usesOuterLoop reports whether e reads the variable of a parallel loop
// of outer other than v: a split guard that no partition could take off a
// parallel loop (whose iterations are the work) runs every vector scalar.
// Serial loops around are left to the note: the random schedule tester
// counts such schedules as clean, a gap named in issue 12's notes.
func usesOuterLoop(e te.Expr, v *te.Var, outer map[*te.Var]ForKind) bool {
	return te.Any(e, func(x te.Expr) bool {
		w, ok := x.(*te.Var)
		k, in := outer[w]
		return ok && w != v && in && k == Parallel
	})
}

func (g tailGuard) Error() string {
	return fmt.Sprintf("the guard if (%s) depends on the vectorized variable; with tail=guard the split keeps it inside the loop (use the default tail=partition)", te.ExprString(g.cond))
}

type vectorizer struct {
	v     *te.Var
	lanes int
	ramp  *Ramp
	sp    *simplifier
	pred  te.Expr // the lane predicate loads are under, or nil
	// accesses whose lanes are neither consecutive nor one address: code
	// generation gathers or scatters them lane by lane
	strided []string
}

// access notes an access whose lanes are not consecutive elements.
func (v *vectorizer) access(what string, b *Buffer, index te.Expr) {
	switch x := SimplifyExpr(index).(type) {
	case *Broadcast:
		return
	case *Ramp:
		if s, ok := te.IntValue(x.Stride); ok && s == 1 {
			return
		}
		v.strided = append(v.strided, fmt.Sprintf("the %s of %s[%s] (lanes %s elements apart)", what, b.Name, te.ExprString(x), te.ExprString(x.Stride)))
	default:
		v.strided = append(v.strided, fmt.Sprintf("the %s of %s[%s]", what, b.Name, te.ExprString(x)))
	}
}

func (v *vectorizer) isVec(e te.Expr) bool { return e.Type().Lanes > 1 }

func (v *vectorizer) stmt(s Stmt) (Stmt, error) {
	switch s := s.(type) {
	case Seq:
		out := Seq{}
		for _, x := range s {
			y, err := v.stmt(x)
			if err != nil {
				return nil, err
			}
			out = append(out, y)
		}
		return out, nil
	case *Store:
		index, err := v.expr(s.Index)
		if err != nil {
			return nil, err
		}
		val, err := v.expr(s.Value)
		if err != nil {
			return nil, err
		}
		switch {
		case !v.isVec(index) && v.isVec(val):
			return nil, fmt.Errorf("every lane stores to the same element %s[%s]", s.Buffer.Name, te.ExprString(index))
		case !v.isVec(index):
			return nil, fmt.Errorf("the store to %s[%s] does not depend on %s", s.Buffer.Name, te.ExprString(index), v.v.Name)
		}
		v.access("store", s.Buffer, index)
		return &Store{Buffer: s.Buffer, Index: index, Value: v.broadcast(val)}, nil
	case *IfThenElse:
		if te.Uses(s.Cond, map[*te.Var]bool{v.v: true}) {
			return nil, tailGuard{cond: s.Cond, likely: s.Likely}
		}
		then, err := v.stmt(s.Then)
		if err != nil {
			return nil, err
		}
		var els Stmt
		if s.Else != nil {
			if els, err = v.stmt(s.Else); err != nil {
				return nil, err
			}
		}
		return &IfThenElse{Cond: s.Cond, Then: then, Else: els, Likely: s.Likely}, nil
	case *For:
		return nil, fmt.Errorf("loop %s is inside it; only the innermost loop vectorizes", s.Var.Name)
	}
	return nil, fmt.Errorf("it contains a %T, which the vectorizer does not handle", s)
}

func (v *vectorizer) broadcast(e te.Expr) te.Expr {
	if v.isVec(e) {
		return e
	}
	return &Broadcast{Value: e, Lanes: v.lanes}
}

func (v *vectorizer) expr(e te.Expr) (te.Expr, error) {
	switch x := e.(type) {
	case *te.Var:
		if x == v.v {
			return v.ramp, nil
		}
		return x, nil
	case *te.IntImm, *te.FloatImm:
		return x, nil
	case *Load:
		index, err := v.expr(x.Index)
		if err != nil {
			return nil, err
		}
		if v.isVec(index) {
			v.access("load", x.Buffer, index)
		}
		if v.pred != nil {
			// even a load of one address is only made in the lanes that
			// reach it: if_then_else(i >= 1, A[j - 1], 0) must not read A[-1]
			return &Load{Buffer: x.Buffer, Index: v.broadcast(index), Predicate: v.pred}, nil
		}
		return &Load{Buffer: x.Buffer, Index: index}, nil
	case *te.Unary:
		a, err := v.expr(x.X)
		if err != nil {
			return nil, err
		}
		return &te.Unary{Op: x.Op, X: a}, nil
	case *te.Cast:
		a, err := v.expr(x.X)
		if err != nil {
			return nil, err
		}
		return &te.Cast{T: x.T.WithLanes(a.Type().Lanes), X: a}, nil
	case *te.Select:
		return v.sel(x)
	case *te.Binary:
		return v.binary(x)
	}
	if te.Uses(e, map[*te.Var]bool{v.v: true}) {
		return nil, fmt.Errorf("it cannot vectorize %s", te.ExprString(e))
	}
	return e, nil
}

func (v *vectorizer) sel(x *te.Select) (te.Expr, error) {
	c, err := v.expr(x.Cond)
	if err != nil {
		return nil, err
	}
	if !v.isVec(c) && x.Lazy {
		a, err := v.expr(x.True)
		if err != nil {
			return nil, err
		}
		b, err := v.expr(x.False)
		if err != nil {
			return nil, err
		}
		if v.isVec(a) || v.isVec(b) {
			a, b = v.broadcast(a), v.broadcast(b)
		}
		return &te.Select{Cond: c, True: a, False: b, Lazy: true}, nil
	}
	var a, b te.Expr
	if x.Lazy {
		// each branch is evaluated only in the lanes that take it
		if a, err = v.under(c, x.True); err != nil {
			return nil, err
		}
		if b, err = v.under(&te.Unary{Op: te.Not, X: c}, x.False); err != nil {
			return nil, err
		}
	} else {
		if a, err = v.expr(x.True); err != nil {
			return nil, err
		}
		if b, err = v.expr(x.False); err != nil {
			return nil, err
		}
	}
	return &te.Select{Cond: v.broadcast(c), True: v.broadcast(a), False: v.broadcast(b)}, nil
}

// under vectorizes e for the lanes where cond holds: its loads get the
// predicate, and operations that could fail in the other lanes are refused.
func (v *vectorizer) under(cond, e te.Expr) (te.Expr, error) {
	if trap := v.mayTrap(e); trap != "" {
		return nil, fmt.Errorf("a lane-dependent condition guards %s, which may be undefined in the lanes it excludes", trap)
	}
	saved := v.pred
	defer func() { v.pred = saved }()
	if v.pred == nil {
		v.pred = cond
	} else {
		v.pred = &te.Binary{Op: te.And, A: v.pred, B: cond, T: te.Bool.WithLanes(v.lanes)}
	}
	return v.expr(e)
}

// mayTrap names an operation in e whose result is undefined for some
// operands: a division by what may be 0 (or -1, for MIN / -1), a shift by
// a variable amount, a float-to-int conversion.
func (v *vectorizer) mayTrap(e te.Expr) string {
	trap := ""
	te.Walk(e, func(x te.Expr) bool {
		switch x := x.(type) {
		case *te.Binary:
			switch x.Op {
			case te.Div, te.Mod, te.FloorDiv, te.FloorMod:
				safe := x.T.IsFloat()
				if r, ok := v.sp.rangeOf(x.B); ok && isIndex(x.B) && (r.lo > 0 || r.hi < -1) {
					safe = true // e.g. a symbolic dimension, at least 1
				} else if c, ok := te.IntValue(x.B); ok && c != 0 && c != -1 {
					safe = true
				}
				if !safe {
					trap = "the division " + te.ExprString(x)
				}
			case te.Shl, te.Shr:
				if _, ok := te.IntValue(x.B); !ok {
					trap = "the shift " + te.ExprString(x)
				}
			}
		case *te.Cast:
			if x.X.Type().IsFloat() && !x.T.IsFloat() {
				trap = "the conversion " + te.ExprString(x)
			}
		}
		return trap == ""
	})
	return trap
}

func (v *vectorizer) binary(x *te.Binary) (te.Expr, error) {
	if (x.Op == te.And || x.Op == te.Or) && (v.isVecExpr(x.A) || v.isVecExpr(x.B)) {
		// the right side is evaluated only in the lanes the left lets through
		a, err := v.expr(x.A)
		if err != nil {
			return nil, err
		}
		a = v.broadcast(a)
		cond := a
		if x.Op == te.Or {
			cond = &te.Unary{Op: te.Not, X: a}
		}
		b, err := v.under(cond, x.B)
		if err != nil {
			return nil, err
		}
		return &te.Binary{Op: x.Op, A: a, B: v.broadcast(b), T: x.T.WithLanes(v.lanes)}, nil
	}
	a, err := v.expr(x.A)
	if err != nil {
		return nil, err
	}
	b, err := v.expr(x.B)
	if err != nil {
		return nil, err
	}
	if !v.isVec(a) && !v.isVec(b) {
		if a == x.A && b == x.B {
			return x, nil
		}
		return &te.Binary{Op: x.Op, A: a, B: b, T: x.T}, nil
	}
	ra, aRamp := a.(*Ramp)
	rb, bRamp := b.(*Ramp)
	sp := v.sp
	switch {
	case x.Op == te.Add && aRamp && bRamp:
		return &Ramp{Base: sp.expr(bin(te.Add, ra.Base, rb.Base)), Stride: sp.expr(bin(te.Add, ra.Stride, rb.Stride)), Lanes: v.lanes}, nil
	case x.Op == te.Sub && aRamp && bRamp:
		return &Ramp{Base: sp.expr(bin(te.Sub, ra.Base, rb.Base)), Stride: sp.expr(bin(te.Sub, ra.Stride, rb.Stride)), Lanes: v.lanes}, nil
	case (x.Op == te.Add || x.Op == te.Sub) && aRamp && !v.isVec(b):
		return &Ramp{Base: sp.expr(bin(x.Op, ra.Base, b)), Stride: ra.Stride, Lanes: v.lanes}, nil
	case x.Op == te.Add && bRamp && !v.isVec(a):
		return &Ramp{Base: sp.expr(bin(te.Add, a, rb.Base)), Stride: rb.Stride, Lanes: v.lanes}, nil
	case x.Op == te.Sub && bRamp && !v.isVec(a):
		return &Ramp{Base: sp.expr(bin(te.Sub, a, rb.Base)), Stride: sp.expr(bin(te.Sub, idx(0), rb.Stride)), Lanes: v.lanes}, nil
	case x.Op == te.Mul && aRamp && !v.isVec(b):
		return &Ramp{Base: sp.expr(bin(te.Mul, ra.Base, b)), Stride: sp.expr(bin(te.Mul, ra.Stride, b)), Lanes: v.lanes}, nil
	case x.Op == te.Mul && bRamp && !v.isVec(a):
		return &Ramp{Base: sp.expr(bin(te.Mul, a, rb.Base)), Stride: sp.expr(bin(te.Mul, a, rb.Stride)), Lanes: v.lanes}, nil
	case (x.Op == te.FloorDiv || x.Op == te.FloorMod) && aRamp && !v.isVec(b):
		// a fused axis: floordiv(ramp(c*k, 1, L), c) with L <= c is k in every lane
		c, ok := te.IntValue(b)
		if s, ok2 := te.IntValue(ra.Stride); ok && ok2 && s == 1 && int64(v.lanes) <= c {
			if m, ok := te.IntValue(sp.expr(bin(te.FloorMod, ra.Base, b))); ok && m == 0 {
				if x.Op == te.FloorDiv {
					return &Broadcast{Value: sp.expr(bin(te.FloorDiv, ra.Base, b)), Lanes: v.lanes}, nil
				}
				return &Ramp{Base: idx(0), Stride: idx(1), Lanes: v.lanes}, nil
			}
		}
	}
	return &te.Binary{Op: x.Op, A: v.broadcast(a), B: v.broadcast(b), T: x.T.WithLanes(v.lanes)}, nil
}

// isVecExpr reports whether e depends on the vectorized variable.
func (v *vectorizer) isVecExpr(e te.Expr) bool { return te.Uses(e, map[*te.Var]bool{v.v: true}) }
