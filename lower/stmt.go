package lower

import "github.com/tide-compiler/tide/te"

// MutateStmt rebuilds a statement: fn runs on every expression in it
// (indices, values, conditions, bounds), bottom-up as in te.Mutate.
func MutateStmt(s Stmt, fn func(te.Expr) te.Expr) Stmt {
	m := func(e te.Expr) te.Expr {
		if e == nil {
			return nil
		}
		return te.Mutate(e, fn)
	}
	switch s := s.(type) {
	case Seq:
		out := make(Seq, len(s))
		for i, x := range s {
			out[i] = MutateStmt(x, fn)
		}
		return out
	case *For:
		c := *s
		c.Min, c.Extent, c.Body = m(s.Min), m(s.Extent), MutateStmt(s.Body, fn)
		return &c
	case *Store:
		return &Store{Buffer: s.Buffer, Index: m(s.Index), Value: m(s.Value)}
	case *Allocate:
		return &Allocate{Buffer: s.Buffer, Body: MutateStmt(s.Body, fn)}
	case *IfThenElse:
		var els Stmt
		if s.Else != nil {
			els = MutateStmt(s.Else, fn)
		}
		return &IfThenElse{Cond: m(s.Cond), Then: MutateStmt(s.Then, fn), Else: els, Likely: s.Likely}
	case *LetStmt:
		return &LetStmt{Var: s.Var, Value: m(s.Value), Body: MutateStmt(s.Body, fn)}
	case *Group:
		return &Group{Name: s.Name, Body: MutateStmt(s.Body, fn)}
	}
	return s
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

// WalkStmt calls fn on s and every statement inside it, outer first; fn
// returns false to skip a statement's children.
func WalkStmt(s Stmt, fn func(Stmt) bool) {
	if s == nil || !fn(s) {
		return
	}
	switch s := s.(type) {
	case Seq:
		for _, x := range s {
			WalkStmt(x, fn)
		}
	case *For:
		WalkStmt(s.Body, fn)
	case *Allocate:
		WalkStmt(s.Body, fn)
	case *IfThenElse:
		WalkStmt(s.Then, fn)
		WalkStmt(s.Else, fn)
	case *LetStmt:
		WalkStmt(s.Body, fn)
	case *Group:
		WalkStmt(s.Body, fn)
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
