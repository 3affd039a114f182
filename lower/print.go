package lower

import (
	"fmt"
	"strings"

	"github.com/tide-compiler/tide/te"
)

// The printer writes loop IR the way TVM prints lowered IR: one statement a
// line, loops as for (var, min, extent), flat buffer accesses as B[index].

func (l *Load) String() string {
	if l.Predicate != nil {
		return fmt.Sprintf("%s[%s if %s]", l.Buffer.Name, te.ExprString(l.Index), te.ExprString(l.Predicate))
	}
	return l.Buffer.Name + "[" + te.ExprString(l.Index) + "]"
}

func (v *VectorReduce) String() string {
	name := map[te.BinOp]string{te.Add: "sum", te.Min: "min", te.Max: "max"}[v.Op]
	return fmt.Sprintf("vector_reduce_%s(%s)", name, te.ExprString(v.Value))
}

func (r *Ramp) String() string {
	return fmt.Sprintf("ramp(%s, %s, %d)", te.ExprString(r.Base), te.ExprString(r.Stride), r.Lanes)
}

func (b *Broadcast) String() string {
	return fmt.Sprintf("broadcast(%s, %d)", te.ExprString(b.Value), b.Lanes)
}

// String prints a whole function.
func (f *Func) String() string {
	return linesString(f.Lines())
}

// Line is one line of a printed function. String joins them; the HTML page
// of tide lower --html renders them itself, to fold loops and link each to
// the schedule statement behind it, with the same text as String.
type Line struct {
	Depth int    // indentation, two spaces a level
	Text  string // without the indentation
	Open  *For   // set on the line that opens a loop ("for (i, 0, 8) {")
	Close bool   // set on the line that closes a loop
}

// Lines prints a whole function as lines.
func (f *Func) Lines() []Line {
	p := &printer{}
	var args []string
	for _, arg := range f.Signature() {
		if prm := arg.Param; prm != nil {
			args = append(args, prm.Name+": int64")
			continue
		}
		a := arg.Buffer
		args = append(args, fmt.Sprintf("%s: %v%s", a.Name, a.DType, te.ShapeString(a.Shape)))
	}
	p.line(0, "func %s(%s) {", f.Name, strings.Join(args, ", "))
	for _, c := range f.Constants {
		p.line(1, "constant %s: %v%s", c.Buffer.Name, c.Buffer.DType, te.ShapeString(c.Buffer.Shape))
	}
	if w := f.Workspace; w != nil {
		p.line(1, "workspace: %d bytes", w.Bytes)
		for _, s := range w.Slots {
			p.line(2, "%s: %v%s at %d, live in groups %d-%d", s.Buffer.Name, s.Buffer.DType, te.ShapeString(s.Buffer.Shape), s.Offset, s.First, s.Last)
		}
	}
	p.stmt(uniqueNames(f.Body), 1)
	p.line(0, "}")
	return p.lines
}

func linesString(lines []Line) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.Repeat("  ", l.Depth))
		b.WriteString(l.Text)
		b.WriteString("\n")
	}
	return b.String()
}

// uniqueNames returns s with every loop or let variable that an enclosing,
// different one of the same name shadows printed as name.2, name.3, ...: a
// stage computed at another's loop has loops of its own named i and j too,
// and X[i * 12 + i * 12 + j + j] would not say which is which. The copy is
// for printing; the variables themselves (the schedule's) keep their names.
func uniqueNames(s Stmt) Stmt {
	fresh := map[*te.Var]*te.Var{}
	var walk func(s Stmt, scope map[string]*te.Var)
	walk = func(s Stmt, scope map[string]*te.Var) {
		var v *te.Var
		switch x := s.(type) {
		case *For:
			v = x.Var
		case *LetStmt:
			v = x.Var
		}
		if v != nil {
			name := v.Name
			if other, ok := scope[name]; ok && other != v && fresh[v] == nil {
				for k := 2; ; k++ {
					if _, taken := scope[fmt.Sprintf("%s.%d", name, k)]; !taken {
						fresh[v] = &te.Var{Name: fmt.Sprintf("%s.%d", name, k)}
						break
					}
				}
			}
			if nv := fresh[v]; nv != nil {
				name = nv.Name
			}
			inner := map[string]*te.Var{name: v}
			for n, w := range scope {
				if n != name {
					inner[n] = w
				}
			}
			scope = inner
		}
		mapChildren(s, func(c Stmt) Stmt {
			walk(c, scope)
			return c
		})
	}
	walk(s, map[string]*te.Var{})
	if len(fresh) == 0 {
		return s
	}
	out := MutateStmt(s, func(e te.Expr) te.Expr {
		if v, ok := e.(*te.Var); ok && fresh[v] != nil {
			return fresh[v]
		}
		return e
	})
	// MutateStmt copied every loop and let: rename their variables too
	WalkStmt(out, func(x Stmt) bool {
		switch x := x.(type) {
		case *For:
			if nv := fresh[x.Var]; nv != nil {
				x.Var = nv
			}
		case *LetStmt:
			if nv := fresh[x.Var]; nv != nil {
				x.Var = nv
			}
		}
		return true
	})
	return out
}

// StmtString prints a statement.
func StmtString(s Stmt) string {
	p := &printer{}
	p.stmt(s, 0)
	return linesString(p.lines)
}

type printer struct{ lines []Line }

func (p *printer) line(depth int, format string, args ...any) {
	p.lines = append(p.lines, Line{Depth: depth, Text: fmt.Sprintf(format, args...)})
}

func (p *printer) stmt(s Stmt, depth int) {
	switch s := s.(type) {
	case Seq:
		for _, x := range s {
			p.stmt(x, depth)
		}
	case *For:
		keyword := s.Kind.String() // "for" for a serial loop, as TVM prints it
		if s.Kind == Serial {
			keyword = "for"
		}
		p.line(depth, "%s (%s, %s, %s) {", keyword, s.Var.Name, te.ExprString(s.Min), te.ExprString(s.Extent))
		p.lines[len(p.lines)-1].Open = s
		p.stmt(s.Body, depth+1)
		p.lines = append(p.lines, Line{Depth: depth, Text: "}", Close: true})
	case *Store:
		p.line(depth, "%s[%s] = %s", s.Buffer.Name, te.ExprString(s.Index), te.ExprString(s.Value))
	case *Prefetch:
		p.line(depth, "prefetch(%s[%s])", s.Buffer.Name, te.ExprString(s.Index))
	case *Allocate:
		align := ""
		if s.Buffer.Align > 0 {
			align = fmt.Sprintf(", align %d", s.Buffer.Align)
		}
		p.line(depth, "allocate %s: %v%s%s", s.Buffer.Name, s.Buffer.DType, te.ShapeString(s.Buffer.Shape), align)
		p.stmt(s.Body, depth)
	case *IfThenElse:
		cond := te.ExprString(s.Cond)
		if s.Likely {
			cond = "likely(" + cond + ")"
		}
		p.line(depth, "if (%s) {", cond)
		p.stmt(s.Then, depth+1)
		if s.Else != nil {
			p.line(depth, "} else {")
			p.stmt(s.Else, depth+1)
		}
		p.line(depth, "}")
	case *LetStmt:
		p.line(depth, "let %s = %s", s.Var.Name, te.ExprString(s.Value))
		p.stmt(s.Body, depth)
	case *Group:
		p.line(depth, "group %s {", s.Name)
		p.stmt(s.Body, depth+1)
		p.line(depth, "}")
	}
}
