package lower

import "github.com/tide-compiler/tide/te"

// maxUnroll bounds the copies one unrolled loop makes; beyond it the loop
// stays a loop (with a warning) rather than blowing up the code.
const maxUnroll = 1024

// unroll replaces each unrolled loop of constant extent by copies of its
// body, the loop variable replaced by each value.
func unroll(f *Func, d *diags) {
	f.Body = rewriteLoops(f.Body, func(l *For, _ []*For) Stmt { return unrollLoop(l, d) })
}

func unrollLoop(l *For, d *diags) Stmt {
	if l.Kind != Unrolled {
		return l
	}
	n, ok := te.IntValue(l.Extent)
	if !ok || n > maxUnroll {
		why := "its extent " + te.ExprString(l.Extent) + " is not a constant"
		if ok {
			why = "its extent " + te.ExprString(l.Extent) + " is over the limit of 1024 copies"
		}
		d.warn(l.Axis, "unroll(%s): the loop stays a loop because %s", l.Var.Name, why)
		c := *l
		c.Kind = Serial
		return &c
	}
	out := Seq{}
	for k := int64(0); k < n; k++ {
		// simplified copy by copy: dead tails of nested unrolls vanish early
		out = append(out, Simplify(substStmt(l.Body, map[*te.Var]te.Expr{l.Var: bin(te.Add, l.Min, idx(k))})))
	}
	return out
}
