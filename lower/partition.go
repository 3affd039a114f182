package lower

import (
	"fmt"
	"slices"

	"github.com/tide-compiler/tide/te"
)

// Loop partitioning (TVM's LoopPartition, Halide's loop splitting): a split
// whose factor does not divide its extent leaves a likely guard
// if (io*8 + ii < n) around the body. For a loop whose variable the guard
// grows with, the guard holds for every iteration below a split point that
// bounds of the loops inside it give; the loop becomes a main part without
// the guard (so an inner vectorized or unrolled loop keeps full width) and a
// tail that keeps it. A guard against a lower bound (a reduction's where=
// that skips a window's taps on padding, if (xo*14 + rx >= 1)) holds from
// a point on instead, and the loop becomes a head that keeps it and a main
// part without it. Vectorized and unrolled loops are never partitioned
// themselves: their tails run as guarded scalar code.

func partition(f *Func, d *diags) {
	p := &partitioner{sp: newSimplifier(), budget: maxPartitions, names: map[string]int{}}
	f.Body = Simplify(p.stmt(f.Body, nil))
	if p.budget == 0 {
		d.warn(nil, "partition: stopped after %d loop partitions in %s (each one copies a loop nest); the remaining split tails keep their guards, and vectorized loops under them run scalar", maxPartitions, f.Name)
	}
}

// maxPartitions bounds the partitions of one function: with symbolic
// extents every guarded loop level doubles the code, which must not grow
// without limit.
const maxPartitions = 64

type partitioner struct {
	sp     *simplifier
	budget int
	names  map[string]int // split points named so far, for unique names
}

func (p *partitioner) stmt(s Stmt, skip []te.Expr) Stmt {
	l, ok := s.(*For)
	if !ok {
		return mapChildren(s, func(x Stmt) Stmt { return p.stmt(x, skip) })
	}
	if l.Kind != Vectorized && l.Kind != Unrolled && p.budget > 0 {
		if g, split, below := p.splitPoint(l, skip); g != nil {
			p.budget--
			var point *te.Var
			value := split
			if _, ok := te.IntValue(split); !ok {
				// name the split point: both loops' bounds use it
				name := l.Var.Name + ".split"
				if p.names[name]++; p.names[name] > 1 {
					name += fmt.Sprint(p.names[name])
				}
				point = &te.Var{Name: name}
				split = point
			}
			end := p.sp.expr(bin(te.Add, l.Min, l.Extent))
			// the part where the guard always holds runs without it; the
			// rest, a tail after it (below) or a head before it, keeps it
			guarded, free := l.Body, removeGuard(l.Body, g)
			firstBody, secondBody := guarded, free
			if below {
				firstBody, secondBody = free, guarded
			}
			first := &For{Var: l.Var, Min: l.Min, Extent: p.sp.expr(bin(te.Sub, split, l.Min)), Kind: l.Kind,
				Body: firstBody, Axis: l.Axis, Tail: !below}
			second := &For{Var: l.Var, Min: split, Extent: p.sp.expr(bin(te.Sub, end, split)), Kind: l.Kind,
				Body: secondBody, Axis: l.Axis, Tail: below}
			// by structure: simplifying rebuilds the node
			without := append(slices.Clip(skip), g.Cond)
			// simplified first, with the ranges of the loops around: a
			// part that the guard excludes entirely disappears before it
			// is searched for more partitions
			var parts Seq
			for _, part := range []*For{first, second} {
				if s := p.sp.stmt(part); s != nil {
					if part.Tail {
						parts = append(parts, p.stmt(s, without))
					} else {
						parts = append(parts, p.stmt(s, skip))
					}
				}
			}
			out := Stmt(parts)
			if point != nil {
				out = &LetStmt{Var: point, Value: value, Body: out}
			}
			return out
		}
	}
	lo, okLo := p.sp.rangeOf(l.Min)
	hi, okHi := p.sp.rangeOf(p.sp.expr(bin(te.Sub, bin(te.Add, l.Min, l.Extent), idx(1))))
	if okLo && okHi {
		p.sp.ranges[l.Var] = interval{lo.lo, hi.hi}
	}
	// skip is about this loop only: loops inside may split on those guards
	out := mapChildren(l, func(x Stmt) Stmt { return p.stmt(x, nil) })
	delete(p.sp.ranges, l.Var)
	if l.Kind == Serial || l.Kind == Parallel {
		return tighten(out.(*For))
	}
	return out
}

// tighten turns a loop whose whole body is a likely guard c*v + rest < 0
// (rest free of v) into a loop that runs only where the guard holds: it
// stops where the guard starts failing (c > 0: a tail no longer runs the
// split's full factor to skip most iterations), or starts where it starts
// holding (c < 0: a window's first rows on padding).
// Guards nested as the whole body (a window's two sides) tighten in turn.
func tighten(l *For) *For {
	g, ok := l.Body.(*IfThenElse)
	if !ok || !g.Likely || g.Else != nil {
		return l
	}
	sp := newSimplifier()
	c, rest, ok := solveGuard(sp, l.Var, g.Cond)
	if !ok {
		return l
	}
	loop := *l
	loop.Body = g.Then
	if c > 0 {
		loop.Extent = sp.expr(bin(te.Sub, firstFailing(l, c, rest), l.Min))
	} else {
		end := bin(te.Add, l.Min, l.Extent)
		loop.Min = sp.expr(firstHolding(l, c, rest))
		loop.Extent = sp.expr(bin(te.Sub, end, loop.Min))
	}
	return tighten(&loop)
}

// splitPoint finds a likely guard inside l that holds for all iterations of
// l on one side of some point, that point, clamped to l's range, and which
// side: below it (a split's tail guard) or from it on (a guard against a
// lower bound, such as a window's padding on its first columns).
func (p *partitioner) splitPoint(l *For, skip []te.Expr) (found *IfThenElse, split te.Expr, below bool) {
	// a variable a let binds inside l (a window's origin) has no value
	// where the split point is computed, before l
	inner := map[*te.Var]bool{}
	WalkStmt(l.Body, func(s Stmt) bool {
		if let, ok := s.(*LetStmt); ok {
			inner[let.Var] = true
		}
		return true
	})
	WalkScoped(l.Body, func(s Stmt, around []*For) bool {
		if found != nil {
			return false
		}
		g, ok := s.(*IfThenElse)
		// Only guards inside a vectorized or unrolled loop are worth a
		// copy of the loop nest: elsewhere a guard costs one comparison,
		// and tighten removes it when it is a loop's whole body.
		if !ok || !g.Likely || !slices.ContainsFunc(around, isWide) ||
			slices.ContainsFunc(skip, func(c te.Expr) bool { return te.Equal(c, g.Cond) }) || te.Uses(g.Cond, inner) {
			return true
		}
		if at, b, ok := p.guardSplit(l, g.Cond, loopIntervals(around)); ok {
			found, split, below = g, at, b
			return false
		}
		return true
	})
	return found, split, below
}

func isWide(l *For) bool { return l.Kind == Vectorized || l.Kind == Unrolled }

// loopIntervals gives each loop's variable its range [min, min+extent-1].
func loopIntervals(loops []*For) map[*te.Var]symInterval {
	m := make(map[*te.Var]symInterval, len(loops))
	for _, l := range loops {
		m[l.Var] = symInterval{Lo: l.Min, Hi: bin(te.Sub, bin(te.Add, l.Min, l.Extent), idx(1))}
	}
	return m
}

// guardSplit solves cond = (c*v + rest < 0) over the iterations of the
// inner loops: for c > 0 the first v at which some iteration fails it,
// floordiv(-max(rest) - 1, c) + 1 (below reports true); for c < 0 the
// first v from which every iteration holds it.
func (p *partitioner) guardSplit(l *For, cond te.Expr, vary map[*te.Var]symInterval) (at te.Expr, below, ok bool) {
	c, rest, ok := solveGuard(p.sp, l.Var, cond)
	if !ok {
		return nil, false, false
	}
	b, ok := p.sp.boundsOf(rest, vary)
	if !ok {
		return nil, false, false
	}
	if c > 0 {
		return p.sp.expr(firstFailing(l, c, b.Hi)), true, true
	}
	return p.sp.expr(firstHolding(l, c, b.Hi)), false, true
}

// solveGuard reads a guard comparing integers (a < b, a <= b, a > b or
// a >= b) as c*v + rest < 0, with c != 0 the coefficient of the loop
// variable v and rest free of v.
func solveGuard(sp *simplifier, v *te.Var, cond te.Expr) (c int64, rest te.Expr, ok bool) {
	cmp, isBin := cond.(*te.Binary)
	if !isBin || !isIndex(cmp.A) {
		return 0, nil, false
	}
	var d te.Expr // d < 0
	switch cmp.Op {
	case te.LT:
		d = bin(te.Sub, cmp.A, cmp.B)
	case te.LE:
		d = bin(te.Sub, bin(te.Sub, cmp.A, cmp.B), idx(1))
	case te.GT:
		d = bin(te.Sub, cmp.B, cmp.A)
	case te.GE:
		d = bin(te.Sub, bin(te.Sub, cmp.B, cmp.A), idx(1))
	default:
		return 0, nil, false
	}
	diff := sp.linearOf(sp.expr(d))
	r := linear{c: diff.c}
	for _, t := range diff.terms {
		if t.atom == te.Expr(v) {
			c = t.coef
		} else {
			r.terms = append(r.terms, t)
		}
	}
	rest = r.expr()
	if c == 0 || te.Uses(rest, map[*te.Var]bool{v: true}) {
		return 0, nil, false
	}
	return c, rest, true
}

// firstFailing is the first value of l's variable v at which c*v + hi < 0
// fails (c > 0), floordiv(c - 1 - hi, c), clamped to l's range.
func firstFailing(l *For, c int64, hi te.Expr) te.Expr {
	stop := bin(te.FloorDiv, bin(te.Sub, idx(c-1), hi), idx(c))
	return bin(te.Min, bin(te.Max, stop, l.Min), bin(te.Add, l.Min, l.Extent))
}

// firstHolding is the first value of l's variable v from which c*v + hi < 0
// holds (c < 0): |c|*v > hi, floordiv(hi, |c|) + 1, clamped to l's range.
func firstHolding(l *For, c int64, hi te.Expr) te.Expr {
	start := bin(te.Add, bin(te.FloorDiv, hi, idx(-c)), idx(1))
	return bin(te.Min, bin(te.Max, start, l.Min), bin(te.Add, l.Min, l.Extent))
}

// removeGuard replaces guard g by its body.
func removeGuard(s Stmt, g *IfThenElse) Stmt {
	if s == Stmt(g) {
		return removeGuard(g.Then, g)
	}
	return mapChildren(s, func(x Stmt) Stmt { return removeGuard(x, g) })
}
