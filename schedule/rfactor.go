package schedule

import (
	"fmt"
	"slices"

	"github.com/tide-compiler/tide/te"
)

// RFactor (TVM's rfactor) turns reduction loop ax of t's stage into a data
// axis of a new stage that computes partial reductions, one per value of ax:
// for sum(A[i, k], k) with k split into ko, ki by 8 it makes
// t.rf[ki, i] = sum(A[i, ko*8 + ki], ko) and t becomes sum(t.rf[ki_r, i], ki_r)
// over the 8 partial results. The new stage is returned, with ax's name for
// its first axis (RFactorAt puts it elsewhere); vectorize or parallelize it
// like any data axis. ax must be a reduction axis of t or either part of
// its split (the outer part ko gives one partial result per block of 8:
// t.rf[ko, i] = sum(A[i, ko*8 + ki], ki), as TVM's rfactor of an outer
// loop for a parallel reduction), and rfactor must come before the stage's
// other loop changes.
func (s *Schedule) RFactor(t *te.Tensor, ax *Axis) (*Stage, error) {
	return s.RFactorAt(t, ax, 0)
}

// RFactorAt is RFactor with the partial results' axis at position
// factorAxis of the new stage's axes (TVM's factor_axis): 0 puts it first,
// len(t.Shape) last, where t.rf[i, ki] keeps a vector of partial results
// contiguous in memory (a block of outputs each with its vector of
// partial sums).
func (s *Schedule) RFactorAt(t *te.Tensor, ax *Axis, factorAxis int) (*Stage, error) {
	st := s.Stage(t)
	if st == nil {
		return nil, errAt(0, "rfactor: %s is an input; only reductions can be factored", t.Name)
	}
	red, ok := st.Body.(*te.Reduce)
	if !ok {
		return nil, errAt(0, "rfactor: %s is not a reduction", t.Name)
	}
	if e := st.leaf("rfactor", 1, ax); e != nil {
		return nil, e
	}
	if !ax.Reduce {
		return nil, errAt(1, "rfactor: %s is a data axis of %s; rfactor takes one of its reduction loops", ax.Name(), t.Name)
	}
	// the reduction axis ax is, or comes from, and the split that made it
	root := ax
	var split *Split
	if len(st.Rels) > 0 {
		sp, ok := st.Rels[0].(*Split)
		if len(st.Rels) != 1 || !ok || (sp.Inner != ax && sp.Outer != ax) || !slices.Contains(st.Root, sp.Parent) {
			return nil, errAt(1, "rfactor: %s must be a reduction axis of %s or a part of its only split; apply rfactor before other loop changes", ax.Name(), t.Name)
		}
		split, root = sp, sp.Parent
	}
	if ax.Ann != Serial {
		return nil, errAt(1, "rfactor: %s is already %s; annotate the new stage instead", ax.Name(), ax.Ann)
	}
	ri := slices.Index(st.Root, root) - len(t.Axis)
	kiv := red.Axes[ri]
	factor := kiv.Extent // the number of partial results: ax's extent
	if split != nil {
		outer, inner := SplitExtents(kiv.Extent, split)
		factor = inner
		if ax == split.Outer {
			factor = outer
		}
	}
	if _, ok := te.IntValue(factor); !ok {
		how := "split the reduction by a constant factor first"
		if split != nil && ax == split.Outer {
			how = "split the reduction into a constant number of parts (nparts=) first"
		}
		return nil, errAt(1, "rfactor: %s has extent %s, not a constant; %s", ax.Name(), te.ExprString(factor), how)
	}
	if factorAxis < 0 || factorAxis > len(t.Shape) {
		return nil, errAt(2, "rfactor: factor_axis %d is outside 0..%d, the positions of %s's %d axes and the new one", factorAxis, len(t.Shape), t.Name, len(t.Shape))
	}
	shape := slices.Insert(slices.Clone(t.Shape), factorAxis, factor)
	names := []string{}
	for _, iv := range t.Axis {
		names = append(names, iv.Var.Name)
	}
	names = slices.Insert(names, factorAxis, ax.Name())
	// dataAxes are the partial stage's axes without the new one: t's axes
	dataAxes := func(axes []te.Expr) []te.Expr {
		return slices.Delete(slices.Clone(axes), factorAxis, factorAxis+1)
	}
	partial, err := te.Compute(t.Name+".rf", shape, func(axes []te.Expr) te.Expr {
		m := map[*te.Var]te.Expr{}
		for i, e := range dataAxes(axes) {
			m[t.Axis[i].Var] = e
		}
		newAxis := axes[factorAxis]
		var rest []*te.IterVar
		for i, iv := range red.Axes {
			if i != ri {
				n := te.ReduceAxis(iv.Var.Name, iv.Min, iv.Extent)
				m[iv.Var] = n.Var
				rest = append(rest, n)
			}
		}
		body := red.Body
		if split == nil {
			m[kiv.Var] = te.Bin(te.Add, kiv.Min, newAxis)
		} else {
			// the other part of the split stays a reduction, the partial
			// stage's outermost
			outer, inner := SplitExtents(kiv.Extent, split)
			other := te.ReduceAxis(split.Outer.Name(), te.Const(te.Index, 0), outer)
			var ko, ki te.Expr = other.Var, newAxis
			if ax == split.Outer {
				other = te.ReduceAxis(split.Inner.Name(), te.Const(te.Index, 0), inner)
				ko, ki = newAxis, other.Var
			}
			rest = append([]*te.IterVar{other}, rest...)
			k := te.Bin(te.Add, te.Bin(te.Mul, ko, inner), ki)
			m[kiv.Var] = te.Bin(te.Add, kiv.Min, k)
			// outer*factor may exceed the extent, also with nparts whose
			// inner extent divides it (6 in nparts=4: 4*2 = 8 > 6)
			if c, ok := te.IntValue(te.Bin(te.Sub, te.Bin(te.Mul, outer, inner), kiv.Extent)); !ok || c != 0 {
				// the last outer iteration would read past the reduction's end
				body = te.IfThenElse(te.Bin(te.LT, k, kiv.Extent), body, red.Op.Identity(t.DType))
			}
		}
		body = te.Substitute(body, m)
		if len(rest) == 0 {
			return body
		}
		return te.ReduceOf(red.Op, body, rest...)
	}, names...)
	if err != nil {
		return nil, fmt.Errorf("rfactor of %s: %w", t.Name, err)
	}
	pst := s.insertBefore(st, partial, partial.Body, "rfactor of "+t.Name)
	kr := te.ReduceAxis(ax.Name()+"_r", te.Const(te.Index, 0), factor)
	var idx []te.Expr
	for _, iv := range t.Axis {
		idx = append(idx, iv.Var)
	}
	idx = slices.Insert(idx, factorAxis, te.Expr(kr.Var))
	st.Body = te.ReduceOf(red.Op, partial.At(idx...), kr)
	st.Root = st.Root[:len(t.Axis)]
	st.Root = append(st.Root, &Axis{Var: kr.Var, Reduce: true, stage: st})
	st.Leaf = slices.Clone(st.Root)
	st.Rels = nil
	return pst, nil
}
