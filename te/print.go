package te

import (
	"fmt"
	"strconv"
	"strings"
)

// The printer writes expressions in the syntax of the .te language, with
// the fewest parentheses its precedence (Python's) needs.

func precedence(op BinOp) int {
	switch op {
	case Or:
		return 1
	case And:
		return 2
	case EQ, NE, LT, LE, GT, GE:
		return 4
	case BitOr:
		return 5
	case BitXor:
		return 6
	case BitAnd:
		return 7
	case Shl, Shr:
		return 8
	case Add, Sub:
		return 9
	case Mul, Div, Mod:
		return 10
	}
	return 12 // calls
}

const unaryPrec = 11

// ExprString formats e in .te syntax.
func ExprString(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e, 0)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr, outer int) {
	switch e := e.(type) {
	case nil:
		b.WriteString("<nil>")
	case *IntImm:
		switch {
		case e.T.IsBool():
			b.WriteString(strconv.FormatBool(e.Value != 0))
		case e.T.IsUInt() && e.T.Bits == 64:
			b.WriteString(strconv.FormatUint(uint64(e.Value), 10))
		default:
			b.WriteString(strconv.FormatInt(e.Value, 10))
		}
	case *FloatImm:
		s := strconv.FormatFloat(e.Value, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0"
		}
		b.WriteString(s)
	case *Var:
		b.WriteString(e.Name)
	case *Binary:
		if e.Op.isCall() {
			fmt.Fprintf(b, "%s(", e.Op)
			writeExpr(b, e.A, 0)
			b.WriteString(", ")
			writeExpr(b, e.B, 0)
			b.WriteString(")")
			return
		}
		p := precedence(e.Op)
		if p < outer {
			b.WriteString("(")
		}
		writeExpr(b, e.A, p)
		fmt.Fprintf(b, " %s ", e.Op)
		writeExpr(b, e.B, p+1)
		if p < outer {
			b.WriteString(")")
		}
	case *Unary:
		switch e.Op {
		case Neg, Not, BitNot:
			if unaryPrec < outer {
				b.WriteString("(")
			}
			b.WriteString(e.Op.String())
			writeExpr(b, e.X, unaryPrec)
			if unaryPrec < outer {
				b.WriteString(")")
			}
		default:
			fmt.Fprintf(b, "%s(", e.Op)
			writeExpr(b, e.X, 0)
			b.WriteString(")")
		}
	case *Cast:
		fmt.Fprintf(b, "cast(%v, ", e.T)
		writeExpr(b, e.X, 0)
		b.WriteString(")")
	case *Select:
		if e.Lazy {
			b.WriteString("if_then_else(")
		} else {
			b.WriteString("select(")
		}
		writeExpr(b, e.Cond, 0)
		b.WriteString(", ")
		writeExpr(b, e.True, 0)
		b.WriteString(", ")
		writeExpr(b, e.False, 0)
		b.WriteString(")")
	case *Read:
		b.WriteString(e.Tensor.Name)
		b.WriteString("[")
		for i, x := range e.Indices {
			if i > 0 {
				b.WriteString(", ")
			}
			writeExpr(b, x, 0)
		}
		b.WriteString("]")
	case *Reduce:
		fmt.Fprintf(b, "%s(", e.Op)
		body, cond := e.Body, Expr(nil)
		// ReduceWhere stores where=cond as if_then_else(cond, body,
		// identity): print it back as written, which parses to the same
		// tree (an if_then_else to exactly the identity is that reduction)
		if s, ok := body.(*Select); ok && s.Lazy && Equal(s.False, e.Op.Identity(s.Type())) {
			body, cond = s.True, s.Cond
		}
		writeExpr(b, body, 0)
		b.WriteString(", axis=")
		if len(e.Axes) > 1 {
			b.WriteString("[")
		}
		for i, iv := range e.Axes {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(iv.Var.Name)
		}
		if len(e.Axes) > 1 {
			b.WriteString("]")
		}
		if cond != nil {
			b.WriteString(", where=")
			writeExpr(b, cond, 0)
		}
		b.WriteString(")")
	case *Bad:
		fmt.Fprintf(b, "<error: %v>", e.Err)
	case fmt.Stringer:
		// nodes of other packages (the loop IR's loads, ramps, broadcasts)
		// print themselves, in call-like syntax that needs no parentheses
		b.WriteString(e.String())
	}
}

func (e *IntImm) String() string   { return ExprString(e) }
func (e *FloatImm) String() string { return ExprString(e) }
func (e *Var) String() string      { return e.Name }
func (e *Binary) String() string   { return ExprString(e) }
func (e *Unary) String() string    { return ExprString(e) }
func (e *Cast) String() string     { return ExprString(e) }
func (e *Select) String() string   { return ExprString(e) }
func (e *Read) String() string     { return ExprString(e) }
func (e *Reduce) String() string   { return ExprString(e) }

// ShapeString formats a shape as (d0, d1, ...).
func ShapeString(shape []Expr) string {
	parts := make([]string, len(shape))
	for i, s := range shape {
		parts[i] = ExprString(s)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Signature formats a tensor declaration, e.g. "C: float32 (M, N) = compute".
func (t *Tensor) String() string {
	kind := "placeholder"
	if !t.IsPlaceholder() {
		kind = "compute"
	}
	s := fmt.Sprintf("%s %s %v%s", kind, t.Name, t.DType, ShapeString(t.Shape))
	if t.Range != nil {
		s += fmt.Sprintf(" range=(%v, %v)", t.Range.Lo, t.Range.Hi)
	}
	return s
}
