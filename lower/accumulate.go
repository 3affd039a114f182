package lower

import (
	"fmt"
	"slices"

	"github.com/tide-compiler/tide/te"
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
	f.Body = accumulateLoops(f.Body, &n)
}

// accumulateLoops applies accumulateLoop to every loop of s, inner first.
func accumulateLoops(s Stmt, n *int) Stmt {
	return rewriteLoops(s, func(l *For, _ []*For) Stmt { return accumulateLoop(l, n) })
}

// accumulateLoop rewrites one loop (whose inner loops are done); n numbers
// the partial-sum buffers.
func accumulateLoop(l *For, n *int) Stmt {
	var s Stmt = l
	if l.Kind == Parallel {
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
		buf      *Buffer
		index    te.Expr
		castTerm       // the cast, its shifts and sign (e is the group's first)
		hi       int64 // the largest sum of one iteration's e
		bounded  bool
		at       int64 // offset in the partial-sum buffer
	}
	var groups []*group
	var addends []te.Expr
	var groupOf []*group
	written := map[*Buffer]bool{}
	for _, st := range stores {
		written[st.Buffer] = true
	}
	for _, st := range stores {
		ts, ok := accumulation(st)
		// the index must be the same in every iteration, whatever the loop
		// writes
		if !ok || usesVar(st.Index, l.Var) || readsAny(st.Index, written) {
			return s
		}
		for _, t := range ts {
			narrow := t.e.Type()
			if !t.wide.IsInteger() || !narrow.IsInteger() || narrow.Element() == t.wide.Element() || readsAny(t.e, written) {
				return s
			}
			for _, sh := range t.shifts {
				if usesVar(sh, l.Var) || readsAny(sh, written) {
					return s
				}
			}
			i := slices.IndexFunc(groups, func(g *group) bool {
				return g.buf == st.Buffer && te.Equal(g.index, st.Index) && g.e.Type() == narrow && g.sameShiftsAndSign(t)
			})
			var g *group
			if i >= 0 {
				g = groups[i]
			} else {
				g = &group{buf: st.Buffer, index: st.Index, castTerm: t, bounded: true}
				groups = append(groups, g)
			}
			hi, ok := maxValue(t.e)
			g.bounded = g.bounded && ok
			g.hi += hi
			addends = append(addends, t.e)
			groupOf = append(groupOf, g)
		}
	}
	if !slices.ContainsFunc(groups, func(g *group) bool { return g.saves() }) {
		return s
	}
	elem := groups[0].e.Type().Element()
	for _, g := range groups[1:] {
		if g.e.Type().Element() != elem {
			return s // one partial-sum buffer holds one type
		}
	}
	limit := trips // the most iterations whose sums fit e's type
	for _, g := range groups {
		narrow := g.e.Type()
		if narrow.Bits >= g.wide.Bits {
			continue // a truncation: always exact
		}
		// a widening: the loop's sums must fit e's type
		if !g.bounded || !narrow.IsUInt() || g.hi > narrow.MaxInt() {
			return s
		}
		if g.hi > 0 {
			limit = min(limit, narrow.MaxInt()/g.hi)
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
		total += int64(g.e.Type().Lanes)
	}
	*n++
	part := &Buffer{Name: fmt.Sprintf("%s.part%d", groups[0].buf.Name, *n), DType: elem, Shape: []te.Expr{idx(total)}, Align: 64}
	at := func(g *group) te.Expr {
		if lanes := g.e.Type().Lanes; lanes > 1 {
			return &Ramp{Base: idx(g.at), Stride: idx(1), Lanes: lanes}
		}
		return idx(g.at)
	}
	zero := func(g *group) te.Expr {
		if lanes := g.e.Type().Lanes; lanes > 1 {
			return &Broadcast{Value: te.Const(elem, 0), Lanes: lanes}
		}
		return te.Const(elem, 0)
	}
	var init, body, after Seq
	for _, g := range groups {
		init = append(init, &Store{Buffer: part, Index: at(g), Value: zero(g)})
		// B[i] = B[i] +- (cast(W, P[g]) << s1 << s2 ...), the shifts in
		// their original nesting
		sum := te.Expr(&te.Cast{T: g.wide, X: &Load{Buffer: part, Index: at(g)}})
		for _, sh := range g.shifts {
			sum = te.Bin(te.Shl, sum, sh)
		}
		op := te.Add
		if g.neg {
			op = te.Sub
		}
		after = append(after, &Store{Buffer: g.buf, Index: g.index, Value: te.Bin(op, &Load{Buffer: g.buf, Index: g.index}, sum)})
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
	return &For{Var: outer, Min: idx(0), Extent: idx(trips / chunk), Kind: Serial, Body: accumulateLoops(in, n), Axis: l.Axis}
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

// castTerm is one cast in an accumulation: +- (cast(wide, e) << shifts...),
// the shifts innermost first.
type castTerm struct {
	e      te.Expr
	wide   te.DType
	shifts []te.Expr
	neg    bool
}

// saves reports whether a partial sum in e's type saves work: a cast
// that widens or narrows, or shifts, then happen once after the loop
// instead of at every step. A cast between integers of one width (uint16
// popcounts into int16 accumulators) is free, and a partial sum would only
// add its zeroing and final add: in a short loop (a 3x3 window's 6 steps)
// that was 12% of a convolution's work on cortex-a53.
func (t castTerm) saves() bool {
	return t.e.Type().Bits != t.wide.Bits || len(t.shifts) > 0
}

// sameShiftsAndSign reports whether two terms are shifted alike and have
// one sign: their casts then add up in one partial sum.
func (t castTerm) sameShiftsAndSign(o castTerm) bool {
	return t.neg == o.neg && slices.EqualFunc(t.shifts, o.shifts, te.Equal)
}

// accumulation matches B[i] = B[i] + T, where T adds and subtracts casts,
// each maybe shifted left: cast(W, e), (cast(W, p) << 1) - cast(W, q),
// (... ) << k. It returns T's casts.
func accumulation(st *Store) ([]castTerm, bool) {
	add, isAdd := st.Value.(*te.Binary)
	if !isAdd || add.Op != te.Add {
		return nil, false
	}
	self, t := add.A, add.B
	if !isSelfLoad(self, st) {
		self, t = add.B, add.A
		if !isSelfLoad(self, st) {
			return nil, false
		}
	}
	var out []castTerm
	return out, casts(t, nil, false, &out)
}

// casts collects the casts of x, under outer shifts and a sign.
func casts(x te.Expr, outer []te.Expr, neg bool, out *[]castTerm) bool {
	switch v := x.(type) {
	case *te.Cast:
		*out = append(*out, castTerm{e: v.X, wide: v.T, shifts: outer, neg: neg})
		return true
	case *Broadcast:
		// a uniform cast, made a vector: the cast of the broadcast
		if c, ok := v.Value.(*te.Cast); ok {
			e := &Broadcast{Value: c.X, Lanes: v.Lanes}
			*out = append(*out, castTerm{e: e, wide: c.T.WithLanes(v.Lanes), shifts: outer, neg: neg})
			return true
		}
	case *te.Binary:
		switch v.Op {
		case te.Add:
			return casts(v.A, outer, neg, out) && casts(v.B, outer, neg, out)
		case te.Sub:
			return casts(v.A, outer, neg, out) && casts(v.B, outer, !neg, out)
		case te.Shl:
			// (a << s) under outer shifts: s applies first
			return casts(v.A, append([]te.Expr{v.B}, outer...), neg, out)
		}
	}
	return false
}

func isSelfLoad(e te.Expr, st *Store) bool {
	l, ok := e.(*Load)
	return ok && l.Buffer == st.Buffer && l.Predicate == nil && te.Equal(l.Index, st.Index)
}

func usesVar(e te.Expr, v *te.Var) bool { return te.Uses(e, map[*te.Var]bool{v: true}) }

func readsAny(e te.Expr, bufs map[*Buffer]bool) bool {
	return te.Any(e, func(x te.Expr) bool { l, ok := x.(*Load); return ok && bufs[l.Buffer] })
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
