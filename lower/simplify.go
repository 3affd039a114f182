package lower

import (
	"math"
	"slices"

	"github.com/tide-compiler/tide/te"
)

// The simplifier: constant folding, and an index algebra over int64 (the
// Index type) that puts sums of products by constants in a canonical linear
// form, so that (io*8 + ii)*K + k and floordiv(io*8 + ii, 8) with ii in
// [0, 8) become what they are. Loop variables with constant bounds give
// ranges that decide comparisons, min/max and divisions. Every rewrite is
// exact under int64's wrapping arithmetic.

// interval is an inclusive range of int64 values.
type interval struct{ lo, hi int64 }

type simplifier struct {
	ranges map[*te.Var]interval
}

func newSimplifier() *simplifier { return &simplifier{ranges: map[*te.Var]interval{}} }

// Simplify simplifies a whole statement.
func Simplify(s Stmt) Stmt { return newSimplifier().stmt(s) }

// SimplifyExpr simplifies an expression on its own (no loop ranges known).
func SimplifyExpr(e te.Expr) te.Expr { return newSimplifier().expr(e) }

func (sp *simplifier) stmt(s Stmt) Stmt {
	switch s := s.(type) {
	case nil:
		return nil
	case Seq:
		var out Seq
		for _, x := range s {
			switch y := sp.stmt(x).(type) {
			case nil:
			case Seq:
				out = append(out, y...)
			default:
				out = append(out, y)
			}
		}
		switch len(out) {
		case 0:
			return nil
		case 1:
			return out[0]
		}
		return out
	case *For:
		min, ext := sp.expr(s.Min), sp.expr(s.Extent)
		if n, ok := te.IntValue(ext); ok {
			if n <= 0 {
				return nil
			}
			if n == 1 && s.Kind != Parallel {
				return sp.stmt(substStmt(s.Body, map[*te.Var]te.Expr{s.Var: min}))
			}
		}
		r, hasRange := sp.rangeOf(min)
		if e, ok := sp.rangeOf(ext); ok && hasRange {
			sp.ranges[s.Var] = interval{r.lo, addSat(r.hi, e.hi-1)}
		}
		body := sp.stmt(s.Body)
		delete(sp.ranges, s.Var)
		if body == nil {
			return nil
		}
		c := *s // keeps every field (Axis, Tail)
		c.Min, c.Extent, c.Body = min, ext, body
		return &c
	case *Store:
		return &Store{Buffer: s.Buffer, Index: sp.expr(s.Index), Value: sp.expr(s.Value)}
	case *Prefetch:
		return &Prefetch{Buffer: s.Buffer, Index: sp.expr(s.Index)}
	case *Allocate:
		// A simpler shape makes a new buffer, as in MutateStmt: the old
		// one is shared by identity and may be held elsewhere.
		b, body := s.Buffer, s.Body
		shape := make([]te.Expr, len(b.Shape))
		for i, d := range b.Shape {
			shape[i] = sp.expr(d)
		}
		if !slices.EqualFunc(shape, b.Shape, func(x, y te.Expr) bool { return x == y }) {
			nb := *b
			nb.Shape = shape
			body = replaceBuffer(body, b, &nb)
			b = &nb
		}
		if body = sp.stmt(body); body == nil {
			return nil
		}
		if st, ok := forwardVectorSum(b, body); ok {
			return st
		}
		return &Allocate{Buffer: b, Body: body}
	case *IfThenElse:
		c := sp.expr(s.Cond)
		if v, ok := te.IntValue(c); ok {
			if v != 0 {
				return sp.stmt(s.Then)
			}
			return sp.stmt(s.Else)
		}
		then, els := sp.stmt(s.Then), sp.stmt(s.Else)
		if then == nil && els == nil {
			return nil
		}
		if then == nil {
			then = Seq{}
		}
		return &IfThenElse{Cond: c, Then: then, Else: els, Likely: s.Likely}
	case *LetStmt:
		v := sp.expr(s.Value)
		if isAffine(v) {
			// constants and sums of scaled variables are cheaper to read
			// where they are used, and cancel out there (a window's origin
			// against the loop that moves it)
			return sp.stmt(substStmt(s.Body, map[*te.Var]te.Expr{s.Var: v}))
		}
		if r, ok := sp.rangeOf(v); ok {
			sp.ranges[s.Var] = r
		}
		body := sp.stmt(s.Body)
		delete(sp.ranges, s.Var)
		if body == nil {
			return nil
		}
		return &LetStmt{Var: s.Var, Value: v, Body: body}
	}
	return s
}

// forwardVectorSum removes a vector accumulator that adds one vector to
// zero before its lanes are summed (a reduction whose only reduce loop was
// vectorized):
//
//	allocate acc { acc[r] = 0; acc[r] = acc[r] + e; Y[i] = vector_reduce_sum(acc[r]) }
//
// becomes Y[i] = vector_reduce_sum(e). Integers only: 0 + e is e, while a
// float -0.0 would turn +0.0 in the accumulator. With the sum's operand in
// sight, code generation can see what the lanes are (a bitpack's shifted
// bits become one mask move).
func forwardVectorSum(acc *Buffer, body Stmt) (Stmt, bool) {
	seq, ok := body.(Seq)
	if !ok || len(seq) != 3 || !acc.DType.IsInteger() {
		return nil, false
	}
	init, add, out := seq[0], seq[1], seq[2]
	s0, ok0 := init.(*Store)
	s1, ok1 := add.(*Store)
	s2, ok2 := out.(*Store)
	if !ok0 || !ok1 || !ok2 || s0.Buffer != acc || s1.Buffer != acc || s2.Buffer == acc || !te.Equal(s0.Index, s1.Index) {
		return nil, false
	}
	if !isZero(s0.Value) {
		return nil, false
	}
	// distinct lanes: with a repeated one (a zero stride) the last store
	// of the lane wins, and the lanes' sum is not the vector's
	if r, ok := s0.Index.(*Ramp); !ok || !nonZeroConst(r.Stride) {
		return nil, false
	}
	sum, ok := s1.Value.(*te.Binary)
	if !ok || sum.Op != te.Add || !isSelfLoad(sum.A, s1) {
		return nil, false
	}
	red, ok := s2.Value.(*VectorReduce)
	if !ok || red.Op != te.Add || !isSelfLoad(red.Value, s1) {
		return nil, false
	}
	in := map[*Buffer]bool{acc: true}
	if readsAny(sum.B, in) || readsAny(s2.Index, in) {
		return nil, false
	}
	return &Store{Buffer: s2.Buffer, Index: s2.Index, Value: &VectorReduce{Op: te.Add, Value: sum.B}}, true
}

// isAffine reports whether e is built from constants and variables with
// +, - and * by constants only.
func isAffine(e te.Expr) bool {
	return !te.Any(e, func(x te.Expr) bool {
		switch x := x.(type) {
		case *te.IntImm, *te.Var:
			return false
		case *te.Binary:
			_, ca := te.IntValue(x.A)
			_, cb := te.IntValue(x.B)
			return !(x.Op == te.Add || x.Op == te.Sub || (x.Op == te.Mul && (ca || cb)))
		}
		return true
	})
}

func isIndex(e te.Expr) bool { return e.Type() == te.Index }

func idx(v int64) te.Expr { return &te.IntImm{Value: v, T: te.Index} }

// expr simplifies an expression bottom-up.
func (sp *simplifier) expr(e te.Expr) te.Expr {
	return te.Mutate(e, sp.node)
}

func (sp *simplifier) node(e te.Expr) te.Expr {
	switch x := e.(type) {
	case *te.Var:
		if r, ok := sp.ranges[x]; ok && r.lo == r.hi {
			return idx(r.lo)
		}
	case *te.Binary:
		return sp.binary(x)
	case *te.Select:
		if v, ok := te.IntValue(x.Cond); ok {
			if v != 0 {
				return x.True
			}
			return x.False
		}
	case *te.Cast:
		if _, ok := x.X.(*te.IntImm); ok {
			return keepIfBad(x, te.CastTo(x.T, x.X))
		}
		if _, ok := x.X.(*te.FloatImm); ok {
			return keepIfBad(x, te.CastTo(x.T, x.X))
		}
	}
	return e
}

// keepIfBad returns folded unless folding failed (an undefined operation,
// which must stay in the program to fail where the evaluator fails).
func keepIfBad(orig, folded te.Expr) te.Expr {
	if te.Error(folded) != nil || folded.Type() != orig.Type() {
		return orig
	}
	return folded
}

func (sp *simplifier) binary(x *te.Binary) te.Expr {
	a, b := x.A, x.B
	_, ca := a.(*te.IntImm)
	_, cb := b.(*te.IntImm)
	_, fa := a.(*te.FloatImm)
	_, fb := b.(*te.FloatImm)
	if (ca && cb) || (fa && fb) {
		return keepIfBad(x, te.Bin(x.Op, a, b))
	}
	switch x.Op {
	case te.And, te.Or:
		if v, ok := te.IntValue(a); ok {
			if (v != 0) == (x.Op == te.Or) {
				return a
			}
			return b
		}
		if v, ok := te.IntValue(b); ok && (v != 0) != (x.Op == te.Or) {
			return a
		}
		return x
	}
	if (x.Op == te.Shl || x.Op == te.Shr) && isZero(b) {
		return a // a shift by zero, e.g. the bit-plane weight 2^(0+0)
	}
	if !isIndex(a) {
		return x
	}
	switch x.Op {
	case te.Add, te.Sub, te.Mul:
		l := sp.linearOf(x)
		l.mergeDivMod(sp)
		return l.expr()
	case te.FloorDiv, te.FloorMod, te.Div, te.Mod:
		return sp.division(x)
	case te.Min, te.Max:
		d, ok := sp.rangeOf(sp.linearOf(&te.Binary{Op: te.Sub, A: a, B: b, T: te.Index}).expr())
		if ok && (d.hi <= 0 || d.lo >= 0) {
			if (d.hi <= 0) == (x.Op == te.Min) {
				return a
			}
			return b
		}
		return x
	case te.LT, te.LE, te.GT, te.GE, te.EQ, te.NE:
		diff := sp.linearOf(&te.Binary{Op: te.Sub, A: a, B: b, T: te.Index}).expr()
		d, ok := sp.rangeOf(diff)
		if !ok {
			return x
		}
		var yes, no bool
		switch x.Op {
		case te.LT:
			yes, no = d.hi < 0, d.lo >= 0
		case te.LE:
			yes, no = d.hi <= 0, d.lo > 0
		case te.GT:
			yes, no = d.lo > 0, d.hi <= 0
		case te.GE:
			yes, no = d.lo >= 0, d.hi < 0
		case te.EQ:
			yes, no = d.lo == 0 && d.hi == 0, d.lo > 0 || d.hi < 0
		case te.NE:
			yes, no = d.lo > 0 || d.hi < 0, d.lo == 0 && d.hi == 0
		}
		switch {
		case yes:
			return te.BoolConst(true)
		case no:
			return te.BoolConst(false)
		}
	}
	return x
}

func nonZeroConst(e te.Expr) bool {
	v, ok := te.IntValue(e)
	return ok && v != 0
}

// isZero reports whether e is the integer 0, or a vector of zeros.
func isZero(e te.Expr) bool {
	if b, ok := e.(*Broadcast); ok {
		e = b.Value
	}
	v, ok := te.IntValue(e)
	return ok && v == 0
}

// division simplifies a division or remainder of an index by a positive
// constant: floordiv(c*q + r, c) = q + floordiv(r, c), and when r is known
// to lie in [k*c, k*c + c), that is q + k.
func (sp *simplifier) division(x *te.Binary) te.Expr {
	c, ok := te.IntValue(x.B)
	if !ok || c <= 0 {
		return x
	}
	num := sp.linearOf(x.A)
	if x.Op == te.Div || x.Op == te.Mod {
		// truncating division equals floor division on non-negative numerators
		r, ok := sp.rangeOf(x.A)
		if !ok || r.lo < 0 {
			return x
		}
	}
	isDiv := x.Op == te.Div || x.Op == te.FloorDiv
	if c == 1 {
		if isDiv {
			return x.A
		}
		return idx(0)
	}
	q, r := linear{}, linear{}
	for _, t := range num.terms {
		if t.coef%c == 0 {
			q.terms = append(q.terms, term{coef: t.coef / c, atom: t.atom})
		} else {
			r.terms = append(r.terms, t)
		}
	}
	qc, rc := floorDivMod(num.c, c)
	q.c, r.c = qc, rc
	rest := r.expr()
	if rr, ok := sp.rangeOf(rest); ok {
		k, _ := floorDivMod(rr.lo, c)
		if k == func() int64 { v, _ := floorDivMod(rr.hi, c); return v }() {
			if isDiv {
				q.c += k
				return q.expr()
			}
			r.c -= k * c
			return r.expr()
		}
	}
	if len(q.terms) == 0 && len(r.terms) == len(num.terms) && q.c == 0 {
		return x // nothing gained
	}
	op := te.FloorDiv
	if !isDiv {
		op = te.FloorMod
	}
	inner := &te.Binary{Op: op, A: rest, B: x.B, T: te.Index}
	if !isDiv {
		return inner
	}
	return sp.linearOf(&te.Binary{Op: te.Add, A: q.expr(), B: inner, T: te.Index}).expr()
}

func floorDivMod(a, c int64) (int64, int64) {
	q, r := a/c, a%c
	if r < 0 {
		q, r = q-1, r+c
	}
	return q, r
}

// linear is sum(coef*atom) + c over int64; atoms are variables or
// expressions the algebra does not look into.
type linear struct {
	terms []term
	c     int64
}

type term struct {
	coef int64
	atom te.Expr // terms with Equal atoms are one term
}

func (l *linear) add(o linear, scale int64) {
	l.c += o.c * scale
	for _, t := range o.terms {
		found := false
		for i := range l.terms {
			if te.Equal(l.terms[i].atom, t.atom) {
				l.terms[i].coef += t.coef * scale
				found = true
				break
			}
		}
		if !found {
			l.terms = append(l.terms, term{coef: t.coef * scale, atom: t.atom})
		}
	}
}

// mergeDivMod rewrites k*c*floordiv(x, c) + k*floormod(x, c) as k*x: the
// recovery of a fused or split index folds back into the index.
func (l *linear) mergeDivMod(sp *simplifier) {
	for i := 0; i < len(l.terms); i++ {
		m, ok := l.terms[i].atom.(*te.Binary)
		if !ok || m.Op != te.FloorMod {
			continue
		}
		c, ok := te.IntValue(m.B)
		if !ok {
			continue
		}
		div := &te.Binary{Op: te.FloorDiv, A: m.A, B: m.B, T: te.Index}
		k := l.terms[i].coef
		for j := range l.terms {
			if l.terms[j].coef == k*c && te.Equal(l.terms[j].atom, div) {
				x := sp.linearOf(m.A)
				l.terms = slices.Delete(l.terms, max(i, j), max(i, j)+1)
				l.terms = slices.Delete(l.terms, min(i, j), min(i, j)+1)
				l.add(x, k)
				i = -1
				break
			}
		}
	}
}

// linearOf reads an (already simplified) index expression as a linear form.
func (sp *simplifier) linearOf(e te.Expr) linear {
	switch x := e.(type) {
	case *te.IntImm:
		return linear{c: x.Value}
	case *te.Binary:
		switch x.Op {
		case te.Add, te.Sub:
			l := sp.linearOf(x.A)
			s := int64(1)
			if x.Op == te.Sub {
				s = -1
			}
			l.add(sp.linearOf(x.B), s)
			return l
		case te.Mul:
			if c, ok := te.IntValue(x.B); ok {
				l := linear{}
				l.add(sp.linearOf(x.A), c)
				return l
			}
			if c, ok := te.IntValue(x.A); ok {
				l := linear{}
				l.add(sp.linearOf(x.B), c)
				return l
			}
		}
	}
	return linear{terms: []term{{coef: 1, atom: e}}}
}

// expr rebuilds a canonical expression: terms in first-appearance order,
// positive ones first, then the constant.
func (l linear) expr() te.Expr {
	var pos, neg []term
	for _, t := range l.terms {
		switch {
		case t.coef > 0:
			pos = append(pos, t)
		case t.coef < 0:
			neg = append(neg, t)
		}
	}
	scaled := func(t term, c int64) te.Expr {
		if c == 1 {
			return t.atom
		}
		return &te.Binary{Op: te.Mul, A: t.atom, B: idx(c), T: te.Index}
	}
	var out te.Expr
	if len(pos) == 0 && l.c != 0 {
		// 15 - i rather than i * -1 + 15
		out, l.c = idx(l.c), 0
	}
	for _, t := range pos {
		if out == nil {
			out = scaled(t, t.coef)
		} else {
			out = &te.Binary{Op: te.Add, A: out, B: scaled(t, t.coef), T: te.Index}
		}
	}
	for _, t := range neg {
		if out == nil {
			out = scaled(t, t.coef)
		} else {
			out = &te.Binary{Op: te.Sub, A: out, B: scaled(t, -t.coef), T: te.Index}
		}
	}
	switch {
	case out == nil:
		return idx(l.c)
	case l.c > 0:
		out = &te.Binary{Op: te.Add, A: out, B: idx(l.c), T: te.Index}
	case l.c < 0 && l.c != math.MinInt64:
		out = &te.Binary{Op: te.Sub, A: out, B: idx(-l.c), T: te.Index}
	case l.c < 0:
		out = &te.Binary{Op: te.Add, A: out, B: idx(l.c), T: te.Index}
	}
	return out
}

const bigRange = int64(1) << 62

// maxSize bounds symbolic dimensions for the simplifier's reasoning (a
// tensor of more elements could not be allocated anyway).
const maxSize = int64(1) << 40

// rangeOf bounds an index expression using the known variable ranges.
func (sp *simplifier) rangeOf(e te.Expr) (interval, bool) {
	r, ok := sp.rangeRec(e)
	if !ok || r.lo < -bigRange || r.hi > bigRange {
		return interval{}, false
	}
	return r, true
}

func (sp *simplifier) rangeRec(e te.Expr) (interval, bool) {
	switch x := e.(type) {
	case *te.IntImm:
		return interval{x.Value, x.Value}, true
	case *te.Var:
		r, ok := sp.ranges[x]
		if !ok && x.IsSize() {
			// symbolic dimensions are positive
			return interval{1, maxSize}, true
		}
		return r, ok
	case *te.Binary:
		if !isIndex(x.A) {
			return interval{}, false
		}
		a, okA := sp.rangeOf(x.A)
		switch x.Op {
		case te.FloorMod, te.Mod:
			c, ok := te.IntValue(x.B)
			if !ok || c <= 0 {
				return interval{}, false
			}
			if okA && a.lo >= 0 && a.hi < c {
				return a, true
			}
			if x.Op == te.FloorMod || (okA && a.lo >= 0) {
				return interval{0, c - 1}, true
			}
			return interval{-(c - 1), c - 1}, true
		}
		b, okB := sp.rangeOf(x.B)
		if !okA || !okB {
			return interval{}, false
		}
		switch x.Op {
		case te.Add:
			return interval{a.lo + b.lo, a.hi + b.hi}, true
		case te.Sub:
			return interval{a.lo - b.hi, a.hi - b.lo}, true
		case te.Mul:
			const lim = int64(1) << 31
			if max(-a.lo, a.hi, -b.lo, b.hi) >= lim {
				return interval{}, false
			}
			p := []int64{a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi}
			return interval{min(p[0], p[1], p[2], p[3]), max(p[0], p[1], p[2], p[3])}, true
		case te.FloorDiv, te.Div:
			if b.lo <= 0 || b.lo != b.hi {
				return interval{}, false
			}
			if x.Op == te.Div && a.lo < 0 {
				return interval{a.lo / b.lo, a.hi / b.lo}, true
			}
			lo, _ := floorDivMod(a.lo, b.lo)
			hi, _ := floorDivMod(a.hi, b.lo)
			return interval{lo, hi}, true
		case te.Min:
			return interval{min(a.lo, b.lo), min(a.hi, b.hi)}, true
		case te.Max:
			return interval{max(a.lo, b.lo), max(a.hi, b.hi)}, true
		}
	case *te.Select:
		a, okA := sp.rangeOf(x.True)
		b, okB := sp.rangeOf(x.False)
		if okA && okB {
			return interval{min(a.lo, b.lo), max(a.hi, b.hi)}, true
		}
	}
	return interval{}, false
}

func addSat(a, b int64) int64 {
	if s := a + b; (s > a) == (b > 0) {
		return s
	}
	return math.MaxInt64
}
