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
	var b strings.Builder
	var args []string
	for _, arg := range f.Signature() {
		if p := arg.Param; p != nil {
			args = append(args, p.Name+": int64")
			continue
		}
		a := arg.Buffer
		args = append(args, fmt.Sprintf("%s: %v%s", a.Name, a.DType, te.ShapeString(a.Shape)))
	}
	fmt.Fprintf(&b, "func %s(%s) {\n", f.Name, strings.Join(args, ", "))
	for _, c := range f.Constants {
		fmt.Fprintf(&b, "  constant %s: %v%s\n", c.Buffer.Name, c.Buffer.DType, te.ShapeString(c.Buffer.Shape))
	}
	if w := f.Workspace; w != nil {
		fmt.Fprintf(&b, "  workspace: %d bytes\n", w.Bytes)
		for _, s := range w.Slots {
			fmt.Fprintf(&b, "    %s: %v%s at %d, live in groups %d-%d\n", s.Buffer.Name, s.Buffer.DType, te.ShapeString(s.Buffer.Shape), s.Offset, s.First, s.Last)
		}
	}
	writeStmt(&b, uniqueNames(f.Body), 1)
	b.WriteString("}\n")
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
	var b strings.Builder
	writeStmt(&b, s, 0)
	return b.String()
}

func writeStmt(b *strings.Builder, s Stmt, depth int) {
	ind := strings.Repeat("  ", depth)
	switch s := s.(type) {
	case Seq:
		for _, x := range s {
			writeStmt(b, x, depth)
		}
	case *For:
		keyword := s.Kind.String() // "for" for a serial loop, as TVM prints it
		if s.Kind == Serial {
			keyword = "for"
		}
		fmt.Fprintf(b, "%s%s (%s, %s, %s) {\n", ind, keyword, s.Var.Name, te.ExprString(s.Min), te.ExprString(s.Extent))
		writeStmt(b, s.Body, depth+1)
		fmt.Fprintf(b, "%s}\n", ind)
	case *Store:
		fmt.Fprintf(b, "%s%s[%s] = %s\n", ind, s.Buffer.Name, te.ExprString(s.Index), te.ExprString(s.Value))
	case *Allocate:
		fmt.Fprintf(b, "%sallocate %s: %v%s", ind, s.Buffer.Name, s.Buffer.DType, te.ShapeString(s.Buffer.Shape))
		if s.Buffer.Align > 0 {
			fmt.Fprintf(b, ", align %d", s.Buffer.Align)
		}
		b.WriteString("\n")
		writeStmt(b, s.Body, depth)
	case *IfThenElse:
		cond := te.ExprString(s.Cond)
		if s.Likely {
			cond = "likely(" + cond + ")"
		}
		fmt.Fprintf(b, "%sif (%s) {\n", ind, cond)
		writeStmt(b, s.Then, depth+1)
		if s.Else != nil {
			fmt.Fprintf(b, "%s} else {\n", ind)
			writeStmt(b, s.Else, depth+1)
		}
		fmt.Fprintf(b, "%s}\n", ind)
	case *LetStmt:
		fmt.Fprintf(b, "%slet %s = %s\n", ind, s.Var.Name, te.ExprString(s.Value))
		writeStmt(b, s.Body, depth)
	case *Group:
		fmt.Fprintf(b, "%sgroup %s {\n", ind, s.Name)
		writeStmt(b, s.Body, depth+1)
		fmt.Fprintf(b, "%s}\n", ind)
	}
}
