package lower

import (
	"slices"

	"github.com/tide-compiler/tide/te"
)

// MutateStmt rebuilds a statement: fn runs on every expression in it
// (indices, values, conditions, bounds, allocation shapes), bottom-up as
// in te.Mutate. An allocation whose shape changes gets a new buffer, and
// the loads and stores inside use it: buffers are shared by identity, so
// the old one, which other statements may hold, is never changed.
func MutateStmt(s Stmt, fn func(te.Expr) te.Expr) Stmt {
	return (&stmtMutator{fn: fn, bufs: map[*Buffer]*Buffer{}}).stmt(s)
}

type stmtMutator struct {
	fn   func(te.Expr) te.Expr
	bufs map[*Buffer]*Buffer // allocations given a new shape, in scope
}

func (m *stmtMutator) expr(e te.Expr) te.Expr {
	if e == nil {
		return nil
	}
	return te.Mutate(e, func(x te.Expr) te.Expr {
		if l, ok := x.(*Load); ok {
			if nb := m.bufs[l.Buffer]; nb != nil {
				x = &Load{Buffer: nb, Index: l.Index, Predicate: l.Predicate}
			}
		}
		return m.fn(x)
	})
}

func (m *stmtMutator) buffer(b *Buffer) *Buffer {
	if nb := m.bufs[b]; nb != nil {
		return nb
	}
	return b
}

func (m *stmtMutator) stmt(s Stmt) Stmt {
	switch s := s.(type) {
	case nil:
		return nil
	case Seq:
		out := make(Seq, len(s))
		for i, x := range s {
			out[i] = m.stmt(x)
		}
		return out
	case *For:
		c := *s
		c.Min, c.Extent, c.Body = m.expr(s.Min), m.expr(s.Extent), m.stmt(s.Body)
		return &c
	case *Store:
		return &Store{Buffer: m.buffer(s.Buffer), Index: m.expr(s.Index), Value: m.expr(s.Value)}
	case *Prefetch:
		return &Prefetch{Buffer: m.buffer(s.Buffer), Index: m.expr(s.Index)}
	case *Allocate:
		shape := make([]te.Expr, len(s.Buffer.Shape))
		changed := false
		for i, d := range s.Buffer.Shape {
			shape[i] = m.expr(d)
			changed = changed || shape[i] != d
		}
		b := s.Buffer
		if changed {
			nb := *b
			nb.Shape = shape
			m.bufs[b] = &nb
			defer delete(m.bufs, b)
			b = &nb
		}
		return &Allocate{Buffer: b, Body: m.stmt(s.Body)}
	case *IfThenElse:
		return &IfThenElse{Cond: m.expr(s.Cond), Then: m.stmt(s.Then), Else: m.stmt(s.Else), Likely: s.Likely}
	case *LetStmt:
		return &LetStmt{Var: s.Var, Value: m.expr(s.Value), Body: m.stmt(s.Body)}
	case *Group:
		return &Group{Name: s.Name, Body: m.stmt(s.Body)}
	}
	return s
}

// replaceBuffer makes the loads and stores of old in s use nb.
func replaceBuffer(s Stmt, old, nb *Buffer) Stmt {
	m := &stmtMutator{fn: func(x te.Expr) te.Expr { return x }, bufs: map[*Buffer]*Buffer{old: nb}}
	return m.stmt(s)
}

// substStmt replaces variables in a statement.
func substStmt(s Stmt, m map[*te.Var]te.Expr) Stmt {
	return MutateStmt(s, func(x te.Expr) te.Expr {
		if v, ok := x.(*te.Var); ok {
			if r, ok := m[v]; ok {
				return r
			}
		}
		return x
	})
}

// CountStmts is how many statements in s (s included) match.
func CountStmts(s Stmt, match func(Stmt) bool) int {
	n := 0
	WalkStmt(s, func(x Stmt) bool {
		if match(x) {
			n++
		}
		return true
	})
	return n
}

// WalkStmt calls fn on s and every statement inside it, outer first; fn
// returns false to skip a statement's children.
func WalkStmt(s Stmt, fn func(Stmt) bool) {
	if s == nil || !fn(s) {
		return
	}
	forChildren(s, func(x Stmt) { WalkStmt(x, fn) })
}

// rewriteLoops rebuilds s bottom-up, the loops inside first, and replaces
// each loop by fn's result; around are the loops enclosing it, outermost
// first (Halide's IRMutator with a scope of loops). The passes that
// rewrite loops of one kind (vectorize, unroll, accumulate) share it.
func rewriteLoops(s Stmt, fn func(l *For, around []*For) Stmt) Stmt {
	return rewriteLoopsIn(s, nil, fn)
}

func rewriteLoopsIn(s Stmt, around []*For, fn func(l *For, around []*For) Stmt) Stmt {
	inner := around
	if l, ok := s.(*For); ok {
		inner = append(slices.Clip(around), l)
	}
	s = mapChildren(s, func(x Stmt) Stmt { return rewriteLoopsIn(x, inner, fn) })
	if l, ok := s.(*For); ok {
		return fn(l, around)
	}
	return s
}

// WalkScoped is WalkStmt with the loops enclosing each statement,
// outermost first.
func WalkScoped(s Stmt, fn func(s Stmt, around []*For) bool) {
	var walk func(s Stmt, around []*For)
	walk = func(s Stmt, around []*For) {
		if s == nil || !fn(s, around) {
			return
		}
		if l, ok := s.(*For); ok {
			around = append(slices.Clip(around), l)
		}
		forChildren(s, func(x Stmt) { walk(x, around) })
	}
	walk(s, nil)
}

// forChildren calls fn on each statement directly inside s.
func forChildren(s Stmt, fn func(Stmt)) {
	switch s := s.(type) {
	case Seq:
		for _, x := range s {
			fn(x)
		}
	case *For:
		fn(s.Body)
	case *Allocate:
		fn(s.Body)
	case *IfThenElse:
		fn(s.Then)
		fn(s.Else)
	case *LetStmt:
		fn(s.Body)
	case *Group:
		fn(s.Body)
	}
}

// mapChildren rebuilds s with fn applied to each statement directly inside
// it; passes use it to recurse over the statements they do not rewrite.
func mapChildren(s Stmt, fn func(Stmt) Stmt) Stmt {
	switch s := s.(type) {
	case Seq:
		out := make(Seq, len(s))
		for i, x := range s {
			out[i] = fn(x)
		}
		return out
	case *For:
		c := *s
		c.Body = fn(s.Body)
		return &c
	case *Allocate:
		return &Allocate{Buffer: s.Buffer, Body: fn(s.Body)}
	case *IfThenElse:
		c := *s
		c.Then = fn(s.Then)
		if s.Else != nil {
			c.Else = fn(s.Else)
		}
		return &c
	case *LetStmt:
		c := *s
		c.Body = fn(s.Body)
		return &c
	case *Group:
		return &Group{Name: s.Name, Body: fn(s.Body)}
	}
	return s
}

// StmtBuffers lists the buffers s (and every statement inside it) loads
// from or stores to, in first-use order.
func StmtBuffers(s Stmt) []*Buffer {
	var out []*Buffer
	seen := map[*Buffer]bool{}
	use := func(b *Buffer) {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	WalkStmt(s, func(x Stmt) bool {
		StmtExprs(x, func(e te.Expr) {
			te.Walk(e, func(y te.Expr) bool {
				if l, ok := y.(*Load); ok {
					use(l.Buffer)
				}
				return true
			})
		})
		if st, ok := x.(*Store); ok {
			use(st.Buffer)
		}
		if p, ok := x.(*Prefetch); ok {
			use(p.Buffer)
		}
		return true
	})
	return out
}

// StmtExprs calls fn on every expression directly in s (bounds, index,
// value, condition), not on those of the statements inside it.
func StmtExprs(s Stmt, fn func(te.Expr)) {
	switch s := s.(type) {
	case *For:
		fn(s.Min)
		fn(s.Extent)
	case *Store:
		fn(s.Index)
		fn(s.Value)
	case *Prefetch:
		fn(s.Index)
	case *IfThenElse:
		fn(s.Cond)
	case *LetStmt:
		fn(s.Value)
	case *Allocate:
		for _, d := range s.Buffer.Shape {
			fn(d)
		}
	}
}
