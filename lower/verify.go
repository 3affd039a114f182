package lower

import (
	"errors"
	"fmt"

	"github.com/tide-compiler/tide/te"
)

// Verify checks the invariants every pass must keep (Go's ssa.checkFunc,
// Halide's IR verifiers): each variable is used inside the loop or let
// that binds it (or is a parameter), each buffer is an argument, a
// workspace slot, a constant or allocated around its uses, and vector
// widths agree (a store's index and value, both operands of an operator,
// a select's branches, a load's predicate; loop bounds, conditions and
// ramp parts are scalars). Once f.Passes holds vectorize, no vectorized
// loop remains; once it holds unroll, no unrolled one. The error lists the
// first problems found.
func Verify(f *Func) error {
	v := &verifier{vars: map[*te.Var]bool{}, bufs: map[*Buffer]bool{}, noKind: map[ForKind]string{}}
	for _, p := range f.Params {
		v.vars[p] = true
	}
	for _, b := range f.Args {
		v.bufs[b] = true
	}
	if f.Workspace != nil {
		for _, s := range f.Workspace.Slots {
			v.bufs[s.Buffer] = true
		}
	}
	for _, c := range f.Constants {
		v.bufs[c.Buffer] = true
	}
	for _, p := range f.Passes {
		switch p {
		case "vectorize":
			v.noKind[Vectorized] = p
		case "unroll":
			v.noKind[Unrolled] = p
		}
	}
	v.stmt(f.Body)
	if len(v.errs) == 0 {
		return nil
	}
	if len(v.errs) > maxVerifyErrors {
		v.errs = append(v.errs[:maxVerifyErrors], fmt.Errorf("and %d more", len(v.errs)-maxVerifyErrors))
	}
	return errors.Join(v.errs...)
}

const maxVerifyErrors = 8

type verifier struct {
	vars   map[*te.Var]bool   // in scope
	bufs   map[*Buffer]bool   // usable
	noKind map[ForKind]string // loop kinds a pass already removed, with its name
	errs   []error
}

func (v *verifier) fail(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(format, args...))
}

// bind puts a variable in scope for body; a variable bound again inside
// its own scope is an error (two loops would share one variable).
func (v *verifier) bind(x *te.Var, body func()) {
	if v.vars[x] {
		v.fail("%s is bound again inside its own loop or let", x.Name)
		body()
		return
	}
	v.vars[x] = true
	body()
	delete(v.vars, x)
}

func (v *verifier) stmt(s Stmt) {
	switch s := s.(type) {
	case nil:
	case Seq:
		for _, x := range s {
			v.stmt(x)
		}
	case *For:
		v.scalar(s.Min, "the start of loop "+s.Var.Name)
		v.scalar(s.Extent, "the extent of loop "+s.Var.Name)
		if pass, ok := v.noKind[s.Kind]; ok {
			v.fail("loop %s is still %s after the %s pass", s.Var.Name, s.Kind, pass)
		}
		v.bind(s.Var, func() { v.stmt(s.Body) })
	case *LetStmt:
		v.expr(s.Value)
		v.bind(s.Var, func() { v.stmt(s.Body) })
	case *Allocate:
		for _, d := range s.Buffer.Shape {
			v.scalar(d, "a dimension of "+s.Buffer.Name)
		}
		if v.bufs[s.Buffer] {
			v.fail("%s is allocated again while it is live", s.Buffer.Name)
			v.stmt(s.Body)
			return
		}
		v.bufs[s.Buffer] = true
		v.stmt(s.Body)
		delete(v.bufs, s.Buffer)
	case *IfThenElse:
		v.scalar(s.Cond, "a condition")
		v.stmt(s.Then)
		v.stmt(s.Else)
	case *Store:
		v.buffer(s.Buffer, "store to")
		v.expr(s.Index)
		v.expr(s.Value)
		if il, vl := s.Index.Type().Lanes, s.Value.Type().Lanes; il != vl {
			v.fail("the store to %s has an index of %d lanes and a value of %d", s.Buffer.Name, il, vl)
		}
	case *Prefetch:
		v.buffer(s.Buffer, "prefetch of")
		v.scalar(s.Index, "a prefetch's index")
	case *Group:
		v.stmt(s.Body)
	default:
		v.fail("unknown statement %T", s)
	}
}

func (v *verifier) buffer(b *Buffer, what string) {
	if !v.bufs[b] {
		v.fail("%s %s outside its allocation (not an argument, a workspace slot or a constant)", what, b.Name)
	}
}

// scalar checks e and that it has one lane.
func (v *verifier) scalar(e te.Expr, what string) {
	v.expr(e)
	if e != nil && e.Type().Lanes != 1 {
		v.fail("%s is a vector of %d lanes: %s", what, e.Type().Lanes, te.ExprString(e))
	}
}

func (v *verifier) expr(e te.Expr) {
	te.Walk(e, func(x te.Expr) bool {
		switch x := x.(type) {
		case *te.Var:
			if !v.vars[x] {
				v.fail("%s is used outside the loop or let that binds it", x.Name)
			}
		case *Load:
			v.buffer(x.Buffer, "load from")
			if x.Predicate != nil && x.Predicate.Type().Lanes != x.Index.Type().Lanes {
				v.fail("the load from %s has %d index lanes and a predicate of %d", x.Buffer.Name, x.Index.Type().Lanes, x.Predicate.Type().Lanes)
			}
		case *te.Binary:
			if a, b := x.A.Type().Lanes, x.B.Type().Lanes; a != b {
				v.fail("%s has operands of %d and %d lanes", te.ExprString(x), a, b)
			}
		case *te.Select:
			if a, b := x.True.Type().Lanes, x.False.Type().Lanes; a != b {
				v.fail("%s has branches of %d and %d lanes", te.ExprString(x), a, b)
			}
		case *Ramp:
			if x.Base.Type().Lanes != 1 || x.Stride.Type().Lanes != 1 {
				v.fail("%s has a vector base or stride", te.ExprString(x))
			}
		case *Broadcast:
			if x.Value.Type().Lanes != 1 {
				v.fail("%s broadcasts a vector", te.ExprString(x))
			}
		case *te.Read:
			v.fail("%s: a tensor read survived lowering", te.ExprString(x))
		case *te.Reduce:
			v.fail("%s: a reduction survived lowering", te.ExprString(x))
		}
		return true
	})
}
