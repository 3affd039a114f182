package te

import "fmt"

// Reads whose indices are affine in the frame's variables. An index of type
// int64 built from constants, variables, +, -, negation and products with a
// constant is c + sum(coef * var) in wrapping int64 arithmetic, which is
// what the node-by-node evaluation computes (addition and multiplication
// modulo 2^64 form a ring). Such a read computes each index as that linear
// form, without a closure per node; inside a reduction, its offset is a
// per-element base plus the reduce variables' strides, unchecked when the
// whole reduction box is in bounds (boxRead).

type term struct {
	slot int
	coef int64
}

// linear is c + sum(coef * f[slot]), wrapping.
type linear struct {
	c     int64
	terms []term
}

func (l linear) eval(f frame) int64 {
	v := l.c
	for _, t := range l.terms {
		v += t.coef * f[t.slot]
	}
	return v
}

// compile returns a closure that evaluates l, unrolled for up to two terms.
func (l linear) compile() intFn {
	c, ts := l.c, l.terms
	switch len(ts) {
	case 0:
		return func(frame) int64 { return c }
	case 1:
		s, k := ts[0].slot, ts[0].coef
		return func(f frame) int64 { return c + k*f[s] }
	case 2:
		s1, k1, s2, k2 := ts[0].slot, ts[0].coef, ts[1].slot, ts[1].coef
		return func(f frame) int64 { return c + k1*f[s1] + k2*f[s2] }
	}
	return l.eval
}

func (l linear) scale(k int64) linear {
	r := linear{c: l.c * k}
	for _, t := range l.terms {
		if t.coef*k != 0 {
			r.terms = append(r.terms, term{t.slot, t.coef * k})
		}
	}
	return r
}

func (l linear) add(m linear) linear {
	r := linear{c: l.c + m.c, terms: append([]term{}, l.terms...)}
next:
	for _, t := range m.terms {
		for i, u := range r.terms {
			if u.slot == t.slot {
				r.terms[i].coef += t.coef
				if r.terms[i].coef == 0 {
					r.terms = append(r.terms[:i], r.terms[i+1:]...)
				}
				continue next
			}
		}
		r.terms = append(r.terms, t)
	}
	return r
}

// linearOf returns e as a linear form, or false. When atom is not nil, it
// may stand a subexpression that linearOf cannot split for a slot.
func (ev *evaluator) linearOf(e Expr, atom func(Expr) (int, bool)) (linear, bool) {
	if e.Type() != Index {
		return linear{}, false
	}
	switch e := e.(type) {
	case *IntImm:
		return linear{c: e.Value}, true
	case *Var:
		slot, ok := ev.slots[e]
		return linear{terms: []term{{slot, 1}}}, ok
	case *Unary:
		if e.Op == Neg {
			x, ok := ev.linearOf(e.X, atom)
			return x.scale(-1), ok
		}
	case *Binary:
		if e.Op != Add && e.Op != Sub && e.Op != Mul {
			break
		}
		a, okA := ev.linearOf(e.A, atom)
		b, okB := ev.linearOf(e.B, atom)
		switch {
		case !okA || !okB:
		case e.Op == Add:
			return a.add(b), true
		case e.Op == Sub:
			return a.add(b.scale(-1)), true
		case len(a.terms) == 0:
			return b.scale(a.c), true
		case len(b.terms) == 0:
			return a.scale(b.c), true
		}
	}
	if atom != nil {
		if slot, ok := atom(e); ok {
			return linear{terms: []term{{slot, 1}}}, true
		}
	}
	return linear{}, false
}

// total reports whether e is an index expression whose evaluation cannot
// fail: variables, constants, + - * min max, and divisions and remainders
// by constants other than 0 and -1 (j / 16 and j % 16 of a packed layout).
func (ev *evaluator) total(e Expr) bool {
	if e.Type() != Index {
		return false
	}
	switch e := e.(type) {
	case *IntImm:
		return true
	case *Var:
		_, ok := ev.slots[e]
		return ok
	case *Unary:
		return e.Op == Neg && ev.total(e.X)
	case *Binary:
		switch e.Op {
		case Add, Sub, Mul, Min, Max:
			return ev.total(e.A) && ev.total(e.B)
		case Div, Mod, FloorDiv, FloorMod:
			c, ok := e.B.(*IntImm)
			return ok && c.Value != 0 && c.Value != -1 && ev.total(e.A)
		}
	}
	return false
}

// affineIndices returns the linear form of each index of e, or nil.
func (ev *evaluator) affineIndices(e *Read, atom func(Expr) (int, bool)) []linear {
	dims := make([]linear, len(e.Indices))
	for d, x := range e.Indices {
		l, ok := ev.linearOf(x, atom)
		if !ok {
			return nil
		}
		dims[d] = l
	}
	return dims
}

func (ev *evaluator) compileOffset(e *Read) intFn {
	buf := ev.bufs[e.Tensor]
	if buf == nil {
		panic(evalError{fmt.Errorf("%s is read before it is computed", e.Tensor.Name)})
	}
	shape := buf.Shape
	name := e.Tensor.Name
	if b := ev.box[e]; b != nil {
		return b.offset()
	}
	if dims := ev.affineIndices(e, nil); dims != nil {
		return func(f frame) int64 {
			off := int64(0)
			for d, l := range dims {
				v := l.eval(f)
				if v < 0 || v >= int64(shape[d]) {
					vals := make([]int64, len(dims))
					for j, m := range dims {
						vals[j] = m.eval(f)
					}
					undefined("read of %s%v is out of bounds (shape %v)", name, vals, shape)
				}
				off = off*int64(shape[d]) + v
			}
			return off
		}
	}
	idx := make([]intFn, len(e.Indices))
	for i, x := range e.Indices {
		idx[i] = ev.compileInt(x)
	}
	return func(f frame) int64 {
		off := int64(0)
		for d, ix := range idx {
			v := ix(f)
			if v < 0 || v >= int64(shape[d]) {
				vals := make([]int64, len(idx))
				for j, jx := range idx {
					vals[j] = jx(f)
				}
				undefined("read of %s%v is out of bounds (shape %v)", name, vals, shape)
			}
			off = off*int64(shape[d]) + v
		}
		return off
	}
}

// boxRead is an affine read in a reduction's body. Per element, prepare
// stores the part of its flat offset that the reduce variables do not
// change in a frame slot, and checks every index over the reduction box:
// index d is a + sum(coef * k) with a fixed for the element, so its range is
// [a + lo, a + hi], lo and hi the sums of each term's smaller and larger end.
// When every index of every box read is in range, the element runs the body
// whose box reads are base + sum(stride * k) with no check: no read fails,
// and a wrapping sum whose exact value is in range is that value.
type boxRead struct {
	read   *Read
	atoms  []atom   // computed first, into their slots
	base   int      // frame slot of the element's part of the flat offset
	outer  linear   // that part
	inner  []term   // the reduce variables' strides in the flat offset
	dims   []linear // per index, the terms of variables other than the reduce ones
	lo, hi []int64  // per index, the extremes of its reduce terms
	shape  []int
}

// An atom is a subexpression of an index that no reduce variable changes
// and whose evaluation cannot fail (ev.total), such as j / 16: computed once
// per element into a frame slot, it is a variable of the linear forms.
type atom struct {
	slot int
	fn   intFn
}

// Bounds that keep prepare's sums exact: at most 16 reduce terms with
// coefficients below 2^24 and ends below 2^32 sum below 2^60, and a below
// 2^61 leaves a + lo and a + hi below 2^62.
const (
	boxMaxTerms = 16
	boxMaxCoef  = 1 << 24
	boxMaxEnd   = 1 << 32
	boxMaxBase  = 1 << 61
)

// boxReads returns the affine reads of a reduction body that can be checked
// once per element over the box of axes (none if the box is empty: the body
// never runs), each with a new frame slot for its base.
func (ev *evaluator) boxReads(body Expr, axes []reduceAxis) []*boxRead {
	ends := map[int][2]int64{}
	for _, a := range axes {
		if a.ext <= 0 {
			return nil
		}
		last := a.min + a.ext - 1
		if a.min < -boxMaxEnd || last > boxMaxEnd {
			return nil
		}
		ends[a.slot] = [2]int64{a.min, last}
	}
	var boxes []*boxRead
	seen := map[*Read]bool{}
	Walk(body, func(x Expr) bool {
		r, ok := x.(*Read)
		if !ok || seen[r] || ev.bufs[r.Tensor] == nil {
			return true
		}
		seen[r] = true
		if b := ev.newBoxRead(r, ends); b != nil {
			boxes = append(boxes, b)
		}
		return true
	})
	return boxes
}

func (ev *evaluator) newBoxRead(r *Read, ends map[int][2]int64) *boxRead {
	var atoms []atom
	dims := ev.affineIndices(r, func(e Expr) (int, bool) {
		if !ev.total(e) || dependsOn(e, ev.slots, ends) {
			return 0, false
		}
		a := atom{ev.newSlot(), ev.compileInt(e)}
		atoms = append(atoms, a)
		return a.slot, true
	})
	if dims == nil {
		return nil
	}
	shape := ev.bufs[r.Tensor].Shape
	b := &boxRead{atoms: atoms, read: r, dims: make([]linear, len(dims)), shape: shape, lo: make([]int64, len(dims)), hi: make([]int64, len(dims))}
	for d, l := range dims {
		n := 0
		b.dims[d].c = l.c
		for _, t := range l.terms {
			e, isReduce := ends[t.slot]
			if !isReduce {
				b.dims[d].terms = append(b.dims[d].terms, t)
				continue
			}
			if n++; n > boxMaxTerms || t.coef <= -boxMaxCoef || t.coef >= boxMaxCoef {
				return nil
			}
			x, y := t.coef*e[0], t.coef*e[1]
			b.lo[d] += min(x, y)
			b.hi[d] += max(x, y)
		}
	}
	flat := linear{}
	for d, l := range dims {
		flat = flat.scale(int64(shape[d])).add(l)
	}
	b.outer.c = flat.c
	for _, t := range flat.terms {
		if _, isReduce := ends[t.slot]; isReduce {
			b.inner = append(b.inner, t)
		} else {
			b.outer.terms = append(b.outer.terms, t)
		}
	}
	b.base = ev.newSlot()
	return b
}

// prepare stores the element's base offset and reports whether every index
// is in bounds over the whole box.
func (b *boxRead) prepare(f frame) bool {
	for _, a := range b.atoms {
		f[a.slot] = a.fn(f)
	}
	f[b.base] = b.outer.eval(f)
	for d, l := range b.dims {
		a := l.eval(f)
		if a <= -boxMaxBase || a >= boxMaxBase || a+b.lo[d] < 0 || a+b.hi[d] >= int64(b.shape[d]) {
			return false
		}
	}
	return true
}

// offset is the unchecked flat offset, valid after prepare returned true.
func (b *boxRead) offset() intFn {
	base, inner := b.base, b.inner
	switch len(inner) {
	case 0:
		return func(f frame) int64 { return f[base] }
	case 1:
		s, k := inner[0].slot, inner[0].coef
		return func(f frame) int64 { return f[base] + k*f[s] }
	case 2:
		s1, k1, s2, k2 := inner[0].slot, inner[0].coef, inner[1].slot, inner[1].coef
		return func(f frame) int64 { return f[base] + k1*f[s1] + k2*f[s2] }
	}
	return func(f frame) int64 {
		v := f[base]
		for _, t := range inner {
			v += t.coef * f[t.slot]
		}
		return v
	}
}

// boxLoad reads a box read's element from data, the offset inlined for up
// to three reduce variables (a convolution's kh, kw and channel words).
func boxLoad[V int64 | float64](data []V, b *boxRead) func(frame) V {
	base, in := b.base, b.inner
	switch len(in) {
	case 0:
		return func(f frame) V { return data[f[base]] }
	case 1:
		s, k := in[0].slot, in[0].coef
		return func(f frame) V { return data[f[base]+k*f[s]] }
	case 2:
		s1, k1, s2, k2 := in[0].slot, in[0].coef, in[1].slot, in[1].coef
		return func(f frame) V { return data[f[base]+k1*f[s1]+k2*f[s2]] }
	case 3:
		s1, k1, s2, k2, s3, k3 := in[0].slot, in[0].coef, in[1].slot, in[1].coef, in[2].slot, in[2].coef
		return func(f frame) V { return data[f[base]+k1*f[s1]+k2*f[s2]+k3*f[s3]] }
	case 4:
		s1, k1, s2, k2, s3, k3, s4, k4 := in[0].slot, in[0].coef, in[1].slot, in[1].coef, in[2].slot, in[2].coef, in[3].slot, in[3].coef
		return func(f frame) V { return data[f[base]+k1*f[s1]+k2*f[s2]+k3*f[s3]+k4*f[s4]] }
	}
	offset := b.offset()
	return func(f frame) V { return data[offset(f)] }
}

func boxMap(boxes []*boxRead) map[*Read]*boxRead {
	m := map[*Read]*boxRead{}
	for _, b := range boxes {
		m[b.read] = b
	}
	return m
}

// dependsOn reports whether e reads a variable whose slot is a key of ends.
func dependsOn(e Expr, slots map[*Var]int, ends map[int][2]int64) bool {
	found := false
	Walk(e, func(x Expr) bool {
		if v, ok := x.(*Var); ok {
			if _, in := ends[slots[v]]; in {
				found = true
			}
		}
		return !found
	})
	return found
}
