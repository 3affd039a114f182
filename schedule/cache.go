package schedule

import (
	"fmt"
	"slices"

	"github.com/tide-compiler/tide/te"
)

// CacheWrite makes a new stage that computes t's body into a buffer of the
// given scope (an accumulator, e.g. a register tile of a matmul), and turns
// t's own stage into a copy out of it. The new stage is returned; compute it
// at a loop of t's stage to keep only a tile of it alive. Like TVM's, it must
// come before the stage's loops are split or reordered.
func (s *Schedule) CacheWrite(t *te.Tensor, scope string) (*Stage, error) {
	st := s.Stage(t)
	if st == nil {
		return nil, errAt(0, "cache_write: %s is an input; only computed tensors have a write cache", t.Name)
	}
	if err := checkScope("cache_write", scope); err != nil {
		return nil, err
	}
	if len(st.Rels) > 0 || !slices.Equal(st.Leaf, st.Root) {
		return nil, errAt(-1, "cache_write: the loops of %s were already split, fused or reordered; apply cache_write first", t.Name)
	}
	if st.Attach == Inline {
		return nil, errAt(-1, "cache_write: %s is computed inline; it has no storage to cache", t.Name)
	}
	var names []string
	for _, iv := range t.Axis {
		names = append(names, iv.Var.Name)
	}
	body := st.Body
	cached, err := te.Compute(t.Name+"."+scope, t.Shape, func(axes []te.Expr) te.Expr {
		m := map[*te.Var]te.Expr{}
		for i, iv := range t.Axis {
			m[iv.Var] = axes[i]
		}
		red, ok := body.(*te.Reduce)
		if !ok {
			return te.Substitute(body, m)
		}
		var fresh []*te.IterVar
		for _, iv := range red.Axes {
			n := te.ReduceAxis(iv.Var.Name, iv.Min, iv.Extent)
			m[iv.Var] = n.Var
			fresh = append(fresh, n)
		}
		return te.ReduceOf(red.Op, te.Substitute(red.Body, m), fresh...)
	}, names...)
	if err != nil {
		return nil, fmt.Errorf("cache_write of %s: %w", t.Name, err)
	}
	cst := s.insertBefore(st, cached, cached.Body, "cache_write of "+t.Name)
	var idx []te.Expr
	for _, iv := range t.Axis {
		idx = append(idx, iv.Var)
	}
	st.Body = cached.At(idx...)
	st.Root = st.Root[:len(t.Axis)]
	st.Leaf = slices.Clone(st.Root)
	return cst, nil
}

// CacheRead makes a new stage that copies t into a buffer of the given scope
// and makes the readers read the copy; compute it at a loop of a reader to
// stage a tile of t.
func (s *Schedule) CacheRead(t *te.Tensor, scope string, readers []*Stage) (*Stage, error) {
	if err := checkScope("cache_read", scope); err != nil {
		return nil, err
	}
	if len(readers) == 0 {
		return nil, errAt(-1, "cache_read: name the stages that should read the copy of %s", t.Name)
	}
	for k, r := range readers {
		if !slices.Contains(r.Inputs(), t) {
			return nil, errAt(2+k, "cache_read: %s does not read %s", r.Name(), t.Name)
		}
	}
	var names []string
	for d := range t.Shape {
		names = append(names, fmt.Sprintf("ax%d", d))
	}
	copied, err := te.Compute(t.Name+"."+scope, t.Shape, func(axes []te.Expr) te.Expr { return t.At(axes...) }, names...)
	if err != nil {
		return nil, fmt.Errorf("cache_read of %s: %w", t.Name, err)
	}
	first := readers[0]
	for _, st := range s.Stages {
		if slices.Contains(readers, st) {
			first = st
			break
		}
	}
	cst := s.insertBefore(first, copied, copied.Body, "cache_read of "+t.Name)
	for _, r := range readers {
		r.Body = te.Mutate(r.Body, func(x te.Expr) te.Expr {
			if rd, ok := x.(*te.Read); ok && rd.Tensor == t {
				return &te.Read{Tensor: copied, Indices: rd.Indices}
			}
			return x
		})
	}
	return cst, nil
}

// Scopes are the storage scopes of cache stages. On CPUs both mean a
// buffer allocated where the stage is computed.
var Scopes = []string{"local", "global"}

func checkScope(prim, scope string) error {
	if !slices.Contains(Scopes, scope) {
		return errAt(1, "%s: unknown scope %q; the scopes are local, global", prim, scope)
	}
	return nil
}

func (s *Schedule) insertBefore(before *Stage, t *te.Tensor, body te.Expr, origin string) *Stage {
	st := s.add(t, body, origin) // appended; move it before its consumer
	s.Stages = s.Stages[:len(s.Stages)-1]
	i := slices.Index(s.Stages, before)
	s.Stages = slices.Insert(s.Stages, i, st)
	return st
}
