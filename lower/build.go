package lower

import (
	"fmt"

	"tide/te"
)

// Build lowers a kernel with the default schedule: every compute at the root,
// in producer-before-consumer order, one serial loop per axis, reductions as
// an initializing store followed by an update loop nest. Intermediate
// tensors are allocated for the whole kernel; buffers are flat and row-major.
func Build(k *te.Kernel) (*Func, error) {
	b := &builder{bufs: map[*te.Tensor]*Buffer{}}
	fn := &Func{Name: k.Name, Params: k.Params, Outputs: len(k.Outputs)}
	for _, t := range append(append([]*te.Tensor{}, k.Inputs...), k.Outputs...) {
		fn.Args = append(fn.Args, b.buffer(t))
	}
	var body Seq
	var allocs []*Buffer
	for _, t := range te.PostOrder(k.Outputs) {
		if t.IsPlaceholder() {
			if b.bufs[t] == nil {
				return nil, fmt.Errorf("kernel %s reads %s, which is not an argument", k.Name, t.Name)
			}
			continue
		}
		if b.bufs[t] == nil {
			allocs = append(allocs, b.buffer(t))
		}
		body = append(body, b.nest(t))
	}
	var s Stmt = body
	for i := len(allocs) - 1; i >= 0; i-- {
		s = &Allocate{Buffer: allocs[i], Body: s}
	}
	fn.Body = s
	return fn, nil
}

type builder struct {
	bufs map[*te.Tensor]*Buffer
}

func (b *builder) buffer(t *te.Tensor) *Buffer {
	buf := &Buffer{Name: t.Name, DType: t.DType, Shape: t.Shape}
	b.bufs[t] = buf
	return buf
}

// flatIndex is the row-major offset of indices in shape.
func flatIndex(indices, shape []te.Expr) te.Expr {
	if len(indices) == 0 {
		return te.Const(te.Index, 0)
	}
	off := indices[0]
	for d := 1; d < len(indices); d++ {
		off = te.Bin(te.Add, te.Bin(te.Mul, off, shape[d]), indices[d])
	}
	return off
}

// loads replaces tensor reads by loads from their buffers.
func (b *builder) loads(e te.Expr) te.Expr {
	return MutateExpr(e, func(x te.Expr) te.Expr {
		if r, ok := x.(*te.Read); ok {
			buf := b.bufs[r.Tensor]
			return &Load{Buffer: buf, Index: flatIndex(r.Indices, buf.Shape)}
		}
		return x
	})
}

func (b *builder) nest(t *te.Tensor) Stmt {
	buf := b.bufs[t]
	idx := make([]te.Expr, len(t.Axis))
	for i, iv := range t.Axis {
		idx[i] = iv.Var
	}
	at := flatIndex(idx, buf.Shape)
	var inner Stmt
	if red, ok := t.Body.(*te.Reduce); ok {
		update := Stmt(&Store{Buffer: buf, Index: at,
			Value: te.Bin(red.Op.Combiner(), &Load{Buffer: buf, Index: at}, b.loads(red.Body))})
		update = loops(red.Axes, update)
		inner = Seq{&Store{Buffer: buf, Index: at, Value: red.Op.Identity(t.DType)}, update}
	} else {
		inner = &Store{Buffer: buf, Index: at, Value: b.loads(t.Body)}
	}
	return loops(t.Axis, inner)
}

// loops wraps body in serial loops over axes, the first outermost.
func loops(axes []*te.IterVar, body Stmt) Stmt {
	for i := len(axes) - 1; i >= 0; i-- {
		iv := axes[i]
		body = &For{Var: iv.Var, Min: iv.Min, Extent: iv.Extent, Kind: Serial, Body: body}
	}
	return body
}
