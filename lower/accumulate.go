package lower

import (
	"fmt"

	"tide/te"
)

// accumulate keeps the partial sums of a loop in the type of what it adds,
// converting once after the loop. A loop whose body only accumulates casts,
// B[i] = B[i] + cast(W, e) with i the same in every iteration, becomes
//
//	P[g] = 0; for (...) { P[g] = P[g] + e }; B[i] = B[i] + cast(W, P[g])
//
// with P a small buffer of e's type. For integers this is exact when the
// cast truncates (wrapping addition commutes with truncation) and when it
// widens a value that the loop's sum cannot overflow in e's own type (the
// largest e times the trip count fits). It is what a fast popcount kernel
// needs: byte-wide popcounts summed as bytes (add.16b on NEON, vpaddb on
// AVX2), widened once per loop instead of at every step.
func accumulate(f *Func, _ *diags) {
	n := 0
	f.Body = accumulateStmt(f.Body, &n)
}

func accumulateStmt(s Stmt, n *int) Stmt {
	s = mapChildren(s, func(x Stmt) Stmt { return accumulateStmt(x, n) })
	l, ok := s.(*For)
	if !ok || l.Kind == Parallel {
		return s
	}
	trips, ok := te.IntValue(l.Extent)
	if !ok || trips < 2 {
		return s
	}
	var stores []*Store
	if !flatStores(l.Body, &stores) {
		return s
	}
	type group struct {
		buf       *Buffer
		index     te.Expr
		wide      te.DType // the cast's type
		narrow    te.DType // e's type
		shift     te.Expr  // nil, or a left shift after the cast
		hi        int64    // the largest sum of one iteration's e
		bounded   bool
		at        int64 // offset in the partial-sum buffer
		addendsIn []int // stores adding to it
	}
	var groups []*group
	byKey := map[string]*group{}
	var addends []te.Expr
	var groupOf []*group
	written := map[*Buffer]bool{}
	for _, st := range stores {
		written[st.Buffer] = true
	}
	for _, st := range stores {
		e, wide, shift, ok := accumulation(st)
		if !ok || usesVar(st.Index, l.Var) || (shift != nil && usesVar(shift, l.Var)) || readsAny(e, written) {
			return s
		}
		narrow := e.Type()
		if !wide.IsInteger() || !narrow.IsInteger() || narrow.Element() == wide.Element() {
			return s
		}
		key := fmt.Sprintf("%s[%s]<<%s:%v", st.Buffer.Name, te.ExprString(st.Index), exprKey(shift), narrow)
		g := byKey[key]
		if g == nil {
			g = &group{buf: st.Buffer, index: st.Index, wide: wide, narrow: narrow, shift: shift, bounded: true}
			byKey[key] = g
			groups = append(groups, g)
		}
		hi, ok := maxValue(e)
		g.bounded = g.bounded && ok
		g.hi += hi
		addends = append(addends, e)
		groupOf = append(groupOf, g)
	}
	limit := trips // the most iterations whose sums fit e's type
	for _, g := range groups {
		if g.narrow.Bits >= g.wide.Bits {
			continue // a truncation: always exact
		}
		// a widening: the loop's sums must fit e's type
		if !g.bounded || !g.narrow.IsUInt() || g.hi > g.narrow.MaxInt() {
			return s
		}
		if g.hi > 0 {
			limit = min(limit, g.narrow.MaxInt()/g.hi)
		}
	}
	if limit < trips {
		// too many iterations for e's type: accumulate chunks of the loop
		// (the largest that divides it), widening once per chunk
		return chunked(l, trips, limit, n)
	}
	// the partial sums: one vector (or element) per group
	total := int64(0)
	for _, g := range groups {
		g.at = total
		total += int64(g.narrow.Lanes)
	}
	*n++
	part := &Buffer{Name: fmt.Sprintf("%s.part%d", groups[0].buf.Name, *n), DType: groups[0].narrow.Element(), Shape: []te.Expr{idx(total)}, Align: 64}
	for _, g := range groups[1:] {
		if g.narrow.Element() != part.DType {
			return s // one buffer holds one type
		}
	}
	at := func(g *group) te.Expr {
		if g.narrow.Lanes == 1 {
			return idx(g.at)
		}
		return &Ramp{Base: idx(g.at), Stride: idx(1), Lanes: g.narrow.Lanes}
	}
	zero := func(g *group) te.Expr {
		z := te.Const(g.narrow.Element(), 0)
		if g.narrow.Lanes == 1 {
			return z
		}
		return &Broadcast{Value: z, Lanes: g.narrow.Lanes}
	}
	var init, body, after Seq
	for _, g := range groups {
		init = append(init, &Store{Buffer: part, Index: at(g), Value: zero(g)})
		sum := te.Expr(&te.Cast{T: g.wide, X: &Load{Buffer: part, Index: at(g)}})
		if g.shift != nil {
			sum = te.Bin(te.Shl, sum, g.shift)
		}
		after = append(after, &Store{Buffer: g.buf, Index: g.index, Value: te.Bin(te.Add, &Load{Buffer: g.buf, Index: g.index}, sum)})
	}
	for i, e := range addends {
		g := groupOf[i]
		body = append(body, &Store{Buffer: part, Index: at(g), Value: te.Bin(te.Add, &Load{Buffer: part, Index: at(g)}, e)})
	}
	loop := *l
	loop.Body = body
	return &Allocate{Buffer: part, Body: Seq{init, &loop, after}}
}

// chunked splits loop l (trips iterations) into chunks of at most limit
// iterations, the largest that divides trips, and accumulates each chunk.
func chunked(l *For, trips, limit int64, n *int) Stmt {
	chunk := int64(0)
	for c := limit; c >= 2; c-- {
		if trips%c == 0 {
			chunk = c
			break
		}
	}
	if chunk == 0 {
		return l
	}
	outer, inner := &te.Var{Name: l.Var.Name + ".chunk"}, &te.Var{Name: l.Var.Name + ".in"}
	at := te.Bin(te.Add, te.Bin(te.Add, l.Min, te.Bin(te.Mul, outer, idx(chunk))), inner)
	body := substStmt(l.Body, map[*te.Var]te.Expr{l.Var: at})
	in := &For{Var: inner, Min: idx(0), Extent: idx(chunk), Kind: l.Kind, Body: body, Axis: l.Axis}
	return &For{Var: outer, Min: idx(0), Extent: idx(trips / chunk), Kind: Serial, Body: accumulateStmt(in, n), Axis: l.Axis}
}

// flatStores collects the stores of a body made of stores only.
func flatStores(s Stmt, out *[]*Store) bool {
	switch s := s.(type) {
	case *Store:
		*out = append(*out, s)
		return true
	case Seq:
		for _, x := range s {
			if !flatStores(x, out) {
				return false
			}
		}
		return len(s) > 0
	}
	return false
}

// accumulation matches B[i] = B[i] + cast(W, e), or the same with the cast
// shifted left: B[i] = B[i] + (cast(W, e) << k).
func accumulation(st *Store) (e te.Expr, wide te.DType, shift te.Expr, ok bool) {
	add, isAdd := st.Value.(*te.Binary)
	if !isAdd || add.Op != te.Add {
		return nil, te.DType{}, nil, false
	}
	self, term := add.A, add.B
	if !isSelfLoad(self, st) {
		self, term = add.B, add.A
		if !isSelfLoad(self, st) {
			return nil, te.DType{}, nil, false
		}
	}
	if sh, isShift := term.(*te.Binary); isShift && sh.Op == te.Shl {
		term, shift = sh.A, sh.B
	}
	c, isCast := term.(*te.Cast)
	if !isCast {
		return nil, te.DType{}, nil, false
	}
	return c.X, c.T, shift, true
}

func isSelfLoad(e te.Expr, st *Store) bool {
	l, ok := e.(*Load)
	return ok && l.Buffer == st.Buffer && l.Predicate == nil && te.ExprString(l.Index) == te.ExprString(st.Index)
}

func usesVar(e te.Expr, v *te.Var) bool { return te.Uses(e, map[*te.Var]bool{v: true}) }

func readsAny(e te.Expr, bufs map[*Buffer]bool) bool {
	found := false
	te.Walk(e, func(x te.Expr) bool {
		if l, ok := x.(*Load); ok && bufs[l.Buffer] {
			found = true
		}
		return !found
	})
	return found
}

func exprKey(e te.Expr) string {
	if e == nil {
		return ""
	}
	return te.ExprString(e)
}

// maxValue is an upper bound of a non-negative integer expression, per
// lane, where one is easy to see: popcounts, sums of bounded terms, zero
// extensions and constants.
func maxValue(e te.Expr) (int64, bool) {
	switch x := e.(type) {
	case *te.IntImm:
		return x.Value, x.Value >= 0
	case *Broadcast:
		return maxValue(x.Value)
	case *te.Unary:
		if x.Op == te.Popcount {
			return int64(x.X.Type().Bits), true
		}
	case *te.Cast:
		if x.X.Type().IsUInt() && x.T.IsInteger() && x.T.Bits >= x.X.Type().Bits {
			return maxValue(x.X)
		}
	case *te.Binary:
		if x.Op == te.Add {
			a, okA := maxValue(x.A)
			b, okB := maxValue(x.B)
			return a + b, okA && okB && a+b >= a
		}
	}
	return 0, false
}
