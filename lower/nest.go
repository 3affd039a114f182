package lower

import (
	"fmt"
	"maps"
	"slices"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// The first step of lowering: a loop nest per stage from its leaf axes, with
// the root axes recovered from the split and fuse relations, guards for
// splits that do not divide their extent, inlined stages substituted, and
// stages computed at a consumer's loop placed inside it over the region that
// loop needs (bound inference), in a buffer of that region's size.

type nester struct {
	bufs   map[*te.Tensor]*Buffer
	place  map[*te.Tensor]*schedule.Placement
	base   map[*te.Tensor][]te.Expr // origin of the window a tensor is stored in, per dimension
	bodies map[*schedule.Stage]te.Expr
	at     map[*schedule.Axis][]*schedule.Stage
	sp     *simplifier
	d      *diags
}

// Alignment of the buffers lowering allocates, in bytes: a cache line, and
// enough for any vector load.
const allocAlign = 64

func buildNests(k *te.Kernel, s *schedule.Schedule, d *diags) (*Func, error) {
	n := &nester{
		d:      d,
		bufs:   map[*te.Tensor]*Buffer{},
		place:  map[*te.Tensor]*schedule.Placement{},
		base:   map[*te.Tensor][]te.Expr{},
		bodies: map[*schedule.Stage]te.Expr{},
		at:     map[*schedule.Axis][]*schedule.Stage{},
		sp:     newSimplifier(),
	}
	fn := &Func{Name: k.Name, Params: k.Params, ParamPos: k.ParamPos, Outputs: len(k.Outputs)}
	for _, t := range append(slices.Clone(k.Inputs), k.Outputs...) {
		// a copy: the simplifier rewrites a buffer's shape in place, and the
		// tensor's shape is the caller's
		b := &Buffer{Name: t.Name, DType: t.DType, Shape: slices.Clone(t.Shape)}
		n.bufs[t] = b
		fn.Args = append(fn.Args, b)
	}
	order := s.Order()
	for _, st := range order {
		n.bodies[st] = n.inline(s, st.Body)
		if st.Attach == schedule.AtAxis {
			n.at[st.AttachAxis] = append(n.at[st.AttachAxis], st)
		}
	}
	var body Seq
	var allocs []*Buffer
	for _, st := range order {
		for _, t := range st.Inputs() {
			if t.IsPlaceholder() && n.bufs[t] == nil {
				return nil, fmt.Errorf("kernel %s reads %s, which is not an argument", k.Name, t.Name)
			}
		}
		if st.Attach != schedule.AtRoot {
			continue
		}
		owner := st.Tensor
		if st.Place != nil {
			// its elements live in the whole's buffer (see flat)
			if st.Place.Whole.DType != st.Tensor.DType {
				return nil, fmt.Errorf("%s is %v and cannot be stored in %s, which is %v", st.Name(), st.Tensor.DType, st.Place.Whole.Name, st.Place.Whole.DType)
			}
			owner = st.Place.Whole
		}
		if n.bufs[owner] == nil {
			b := &Buffer{Name: owner.Name, DType: owner.DType, Shape: slices.Clone(owner.Shape), Align: allocAlign}
			n.bufs[owner] = b
			allocs = append(allocs, b)
		}
		n.bufs[st.Tensor] = n.bufs[owner]
		if st.Place != nil {
			n.place[st.Tensor] = st.Place
		}
		if st.Assembled {
			continue // its parts computed it
		}
		ranges := map[*schedule.Axis]symRange{}
		for _, r := range st.Root {
			min, ext := st.RootRange(r)
			ranges[r] = symRange{min, ext}
		}
		body = append(body, n.stage(st, ranges))
	}
	var out Stmt = body
	for i := len(allocs) - 1; i >= 0; i-- {
		out = &Allocate{Buffer: allocs[i], Body: out}
	}
	fn.Body = out
	return fn, nil
}

// inline substitutes the bodies of inlined stages for reads of them.
func (n *nester) inline(s *schedule.Schedule, e te.Expr) te.Expr {
	return te.Mutate(e, func(x te.Expr) te.Expr {
		r, ok := x.(*te.Read)
		if !ok {
			return x
		}
		st := s.Stage(r.Tensor)
		if st == nil || st.Attach != schedule.Inline {
			return x
		}
		m := map[*te.Var]te.Expr{}
		for i, iv := range st.Tensor.Axis {
			m[iv.Var] = r.Indices[i]
		}
		return te.Substitute(n.bodies[st], m)
	})
}

// hoistWhere turns the condition of a reduction with where= into guards
// around its update, each part of a conjunction at the innermost loop it
// depends on (but inside the first reduce loop, so that the accumulator's
// initialization stays unguarded), and returns the body without them.
// Parts that read tensors stay in the body, where reads become loads. A
// convolution's padded taps are then skipped where the loops decide them:
// whole rows of the window at its row loop, and columns folded to
// constants by unrolling. A part whose innermost loop is vectorized stays
// in the body, a select per lane, and so do the parts after it. Exact: a
// skipped point would add op's identity, and an accumulator that starts
// from the identity never holds a value that adding it changes (not even
// -0.0: +0 + -0 is +0). The guards are likely, so that loop partitioning
// takes them out of the loops whose first or last iterations alone fail
// them.
func hoistWhere(body te.Expr, leaves []*schedule.Axis, pos map[*te.Var]int, guards [][]guard) te.Expr {
	red, ok := body.(*te.Reduce)
	if !ok {
		return body
	}
	sel, ok := red.Body.(*te.Select)
	if !ok || !sel.Lazy || !te.Equal(sel.False, red.Op.Identity(sel.Type())) {
		return body
	}
	first := slices.IndexFunc(leaves, func(a *schedule.Axis) bool { return a.Reduce })
	// The parts keep their order, as && evaluates them: a part goes no
	// further out than the one before it (which may guard it: k % j only
	// where j > 0), and once one stays in the body, the rest do too.
	var kept te.Expr
	at := first
	for _, c := range conjuncts(sel.Cond) {
		p := max(innermost(c, pos), at)
		reads := te.Any(c, func(x te.Expr) bool { _, ok := x.(*te.Read); return ok })
		if kept != nil || first < 0 || leaves[p].Ann == Vectorized || reads {
			if kept == nil {
				kept = c
			} else {
				kept = te.Bin(te.And, kept, c)
			}
			continue
		}
		guards[p] = append(guards[p], guard{cond: c, likely: true})
		at = p
	}
	inner := sel.True
	if kept != nil {
		inner = te.IfThenElse(kept, sel.True, sel.False)
	}
	out := *red
	out.Body = inner
	return &out
}

// conjuncts splits a && b && ... into its parts.
func conjuncts(c te.Expr) []te.Expr {
	if b, ok := c.(*te.Binary); ok && b.Op == te.And {
		return append(conjuncts(b.A), conjuncts(b.B)...)
	}
	return []te.Expr{c}
}

// symRange is [Min, Min+Ext) with symbolic bounds.
type symRange struct{ Min, Ext te.Expr }

type guard struct {
	cond   te.Expr
	likely bool
	data   bool // involves only data axes (so it also guards the initialization)
}

// stage builds the loop nest of st over the given ranges of its root axes,
// in named steps: the leaves' extents, the root variables recovered from
// the leaves (with the guards of splits that do not divide), the regions
// of the stages computed inside, and the nest itself around the body.
func (n *nester) stage(st *schedule.Stage, ranges map[*schedule.Axis]symRange) Stmt {
	ext := n.extents(st, ranges)
	leaves := st.Leaf
	pos := map[*te.Var]int{}
	for i, l := range leaves {
		pos[l.Var] = i
		if c, ok := te.IntValue(ext[l]); ok {
			n.sp.ranges[l.Var] = interval{0, c - 1}
		}
	}
	val, guards := n.recoverRoots(st, ext, pos)
	m := map[*te.Var]te.Expr{}
	for _, r := range st.Root {
		m[r.Var] = n.sp.expr(bin(te.Add, ranges[r].Min, val[r]))
	}
	body := te.Substitute(n.bodies[st], m)
	body = hoistWhere(body, leaves, pos, guards)
	index := make([]te.Expr, len(st.Tensor.Axis))
	for i, iv := range st.Tensor.Axis {
		index[i] = m[iv.Var]
	}
	inside := n.attachedRegions(leaves, ext, body)
	for i, p := range n.prefetches(st, leaves, ext, body) {
		inside[i].stages = appendStmt(p, inside[i].stages)
	}
	return n.nest(st, leaves, ext, guards, inside, body, index)
}

// cacheLine is the bytes a prefetch fetches, on both targets.
const cacheLine = 64

// maxPrefetchCombos bounds the copies of unrolled loops whose regions a
// prefetch tells apart; past it they count as varying over their range.
const maxPrefetchCombos = 256

// maxPrefetch bounds what one prefetch primitive fetches per iteration: a
// strided region (a block's rows, a window) would take a prefetch per line
// it spans.
const maxPrefetch = 4096

// prefetches are the statements at the top of each of st's leaf loops for
// its prefetch primitives: a Prefetch per cache line of the regions of the
// tensor that one iteration of the loop reads, offset iterations ahead
// (reads a constant distance apart, within a cache line of each other,
// share one region).
func (n *nester) prefetches(st *schedule.Stage, leaves []*schedule.Axis, ext map[*schedule.Axis]te.Expr, body te.Expr) []Stmt {
	out := make([]Stmt, len(leaves))
	for _, pf := range st.Prefetches {
		at := slices.Index(leaves, pf.Axis) // schedule.Check made sure it is a leaf
		if s, err := n.prefetch(pf, at, leaves, ext, body); err != nil {
			n.d.warn(pf.Axis, "prefetch(%s, %s): dropped: %v", pf.Tensor.Name, pf.Axis.Name(), err)
		} else {
			out[at] = appendStmt(out[at], s)
		}
	}
	return out
}

// prefetch is the statement of one prefetch primitive at the top of its
// loop, leaves[at], or why there is none.
func (n *nester) prefetch(pf schedule.Prefetch, at int, leaves []*schedule.Axis, ext map[*schedule.Axis]te.Expr, body te.Expr) (Stmt, error) {
	for _, l := range leaves[at:] {
		for _, p := range n.at[l] {
			if p.Tensor == pf.Tensor {
				return nil, fmt.Errorf("%s is computed at %s, inside the loop: it does not exist yet when the loop starts", pf.Tensor.Name, l.Name())
			}
		}
	}
	// the loops inside vary over their ranges, except unrolled ones, whose
	// copies each read their own region (a tile's vectors of weights that
	// lie a block apart): one index per combination of their values
	vary := map[*te.Var]symInterval{}
	combos := []map[*te.Var]te.Expr{{pf.Axis.Var: bin(te.Add, pf.Axis.Var, idx(pf.Offset))}}
	for _, l := range leaves[at+1:] {
		c, ok := te.IntValue(ext[l])
		if l.Ann != schedule.Unrolled || !ok || int64(len(combos))*c > maxPrefetchCombos {
			vary[l.Var] = symInterval{Lo: idx(0), Hi: n.sp.expr(bin(te.Sub, ext[l], idx(1)))}
			continue
		}
		var next []map[*te.Var]te.Expr
		for _, m := range combos {
			for v := range c {
				mv := maps.Clone(m)
				mv[l.Var] = idx(v)
				next = append(next, mv)
			}
		}
		combos = next
	}
	var regions []*region
	var bad error
	elem := int64(max(1, pf.Tensor.DType.Bytes()))
	line := cacheLine / elem
	te.Walk(body, func(x te.Expr) bool {
		r, ok := x.(*te.Read)
		if !ok || r.Tensor != pf.Tensor || bad != nil {
			return true
		}
		flat := n.flat(r.Tensor, r.Indices)
		for _, m := range combos {
			index := n.sp.expr(te.Substitute(flat, m))
			b, ok := n.sp.boundsOf(index, vary)
			span := int64(0)
			if ok {
				span = n.sp.span(b)
			}
			if span == 0 {
				bad = fmt.Errorf("the part of %s that one iteration of %s reads has no constant size (%s)", pf.Tensor.Name, pf.Axis.Name(), te.ExprString(index))
				return true
			}
			regions = joinRegion(n.sp, regions, n.sp.expr(b.Lo), span, line)
		}
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if len(regions) == 0 {
		return nil, fmt.Errorf("the stage does not read %s inside %s", pf.Tensor.Name, pf.Axis.Name())
	}
	total := int64(0)
	for _, g := range regions {
		total += (g.hi - g.lo + 1) * elem
	}
	if total > maxPrefetch {
		return nil, fmt.Errorf("one iteration of %s reads %d bytes of %s in %d regions (a strided one, or a large one); prefetch covers up to %d bytes: prefetch at a loop further in",
			pf.Axis.Name(), total, pf.Tensor.Name, len(regions), maxPrefetch)
	}
	buf := n.bufs[pf.Tensor]
	var stmts Seq
	for _, g := range regions {
		for off := g.lo; off <= g.hi; off += line {
			stmts = append(stmts, &Prefetch{Buffer: buf, Index: n.sp.expr(bin(te.Add, g.base, idx(off)))})
		}
	}
	return stmts, nil
}

// region is [base + lo, base + hi] of a buffer, lo and hi constants.
type region struct {
	base   te.Expr
	lo, hi int64
}

// joinRegion adds [lo, lo + span) to regions: a region a constant distance
// away, within line elements of it, grows to cover it (the vectors of a
// row); a farther one is another stream.
func joinRegion(sp *simplifier, regions []*region, lo te.Expr, span, line int64) []*region {
	for _, g := range regions {
		if d, ok := te.IntValue(sp.expr(bin(te.Sub, lo, g.base))); ok && d <= g.hi+line && d+span-1 >= g.lo-line {
			g.lo, g.hi = min(g.lo, d), max(g.hi, d+span-1)
			return regions
		}
	}
	return append(regions, &region{base: lo, lo: 0, hi: span - 1})
}

// extents gives every axis of st its extent: the root axes' from ranges,
// then through the splits and fuses.
func (n *nester) extents(st *schedule.Stage, ranges map[*schedule.Axis]symRange) map[*schedule.Axis]te.Expr {
	ext := map[*schedule.Axis]te.Expr{}
	for _, r := range st.Root {
		ext[r] = n.sp.expr(ranges[r].Ext)
	}
	for _, rel := range st.Rels {
		switch r := rel.(type) {
		case *schedule.Split:
			o, i := schedule.SplitExtents(ext[r.Parent], r)
			ext[r.Outer], ext[r.Inner] = n.sp.expr(o), n.sp.expr(i)
		case *schedule.Fuse:
			ext[r.Fused] = n.sp.expr(bin(te.Mul, ext[r.Outer], ext[r.Inner]))
		}
	}
	return ext
}

// recoverRoots expresses every axis in the leaves' variables, undoing the
// relations last first (a split's parent is outer*factor + inner, a fuse's
// parts the quotient and remainder of the fused variable). A split whose
// factor does not divide its extent leaves a guard, placed at the
// innermost leaf it depends on.
func (n *nester) recoverRoots(st *schedule.Stage, ext map[*schedule.Axis]te.Expr, pos map[*te.Var]int) (map[*schedule.Axis]te.Expr, [][]guard) {
	val := map[*schedule.Axis]te.Expr{}
	for _, l := range st.Leaf {
		val[l] = l.Var
	}
	guards := make([][]guard, len(st.Leaf))
	for i := len(st.Rels) - 1; i >= 0; i-- {
		switch r := st.Rels[i].(type) {
		case *schedule.Split:
			val[r.Parent] = n.sp.expr(bin(te.Add, bin(te.Mul, val[r.Outer], ext[r.Inner]), val[r.Inner]))
			if !divides(ext[r.Parent], ext[r.Outer], ext[r.Inner]) {
				g := guard{cond: n.sp.expr(&te.Binary{Op: te.LT, A: val[r.Parent], B: ext[r.Parent], T: te.Bool}),
					likely: r.Tail == schedule.TailPartition, data: !r.Parent.Reduce}
				p := innermost(g.cond, pos)
				guards[p] = append(guards[p], g)
			}
		case *schedule.Fuse:
			val[r.Outer] = n.sp.expr(bin(te.FloorDiv, val[r.Fused], ext[r.Inner]))
			val[r.Inner] = n.sp.expr(bin(te.FloorMod, val[r.Fused], ext[r.Inner]))
		}
	}
	for i := range guards {
		guards[i] = n.strongest(guards[i])
	}
	return val, guards
}

// attached is what goes inside one loop of a nest before its body: the
// stages computed at it, with their buffers and the lets of their windows.
type attached struct {
	stages Stmt
	lets   []*LetStmt
	allocs []*Buffer
}

// attachedRegions decides, for each leaf, the regions of the stages
// computed at it, outermost first, so that the loads below see their
// windows, and builds those stages' nests.
func (n *nester) attachedRegions(leaves []*schedule.Axis, ext map[*schedule.Axis]te.Expr, body te.Expr) []attached {
	out := make([]attached, len(leaves))
	for i, l := range leaves {
		for _, p := range n.at[l] {
			vary := map[*te.Var]symInterval{}
			for _, in := range leaves[i+1:] {
				vary[in.Var] = symInterval{Lo: idx(0), Hi: n.sp.expr(bin(te.Sub, ext[in], idx(1)))}
			}
			readBody, readVary := body, vary
			if r := n.readerInside(p, leaves[i:]); r != nil {
				// p is read by a stage computed further in: its region is
				// what that stage reads over all of its windows here
				readBody, readVary = n.bodies[r], n.windowsOver(r, body, vary)
			}
			buf, ls, pr := n.region(p, readBody, readVary)
			out[i].lets = append(out[i].lets, ls...)
			out[i].allocs = append(out[i].allocs, buf)
			out[i].stages = appendStmt(out[i].stages, n.stage(p, pr))
		}
	}
	return out
}

// nest builds the loops of st around its body: inside loop i, the stages
// computed there, then the guarded rest. A reduction's accumulator is
// initialized before its first reduce loop, or kept in a vector
// accumulator reduced across lanes after the reduction loops (see
// vectorAccumulator).
func (n *nester) nest(st *schedule.Stage, leaves []*schedule.Axis, ext map[*schedule.Axis]te.Expr, guards [][]guard, inside []attached, body te.Expr, index []te.Expr) Stmt {
	t := st.Tensor
	store := n.store(t, index)
	red, isReduce := body.(*te.Reduce)
	fr := len(leaves)
	if isReduce {
		fr = slices.IndexFunc(leaves, func(a *schedule.Axis) bool { return a.Reduce })
	}
	var inner, init, finish Stmt
	var acc *Buffer
	switch {
	case !isReduce:
		inner = store(n.loads(body))
	case vectorAccumulator(leaves, ext) > 1:
		v := leaves[len(leaves)-1]
		lanes := vectorAccumulator(leaves, ext)
		acc = &Buffer{Name: t.Name + ".acc", DType: t.DType, Shape: []te.Expr{idx(lanes)}, Align: allocAlign}
		op := red.Op.Combiner()
		inner = &Store{Buffer: acc, Index: v.Var,
			Value: te.Bin(op, &Load{Buffer: acc, Index: v.Var}, n.loads(red.Body))}
		l := &te.Var{Name: t.Name + ".lane"}
		init = &For{Var: l, Min: idx(0), Extent: idx(lanes), Kind: Vectorized,
			Body: &Store{Buffer: acc, Index: l, Value: red.Op.Identity(t.DType)}}
		finish = store(&VectorReduce{Op: op, Value: &Load{Buffer: acc, Index: &Ramp{Base: idx(0), Stride: idx(1), Lanes: int(lanes)}}})
	default:
		at := n.flat(t, index)
		buf := n.bufs[t]
		inner = &Store{Buffer: buf, Index: at, Value: te.Bin(red.Op.Combiner(), &Load{Buffer: buf, Index: at}, n.loads(red.Body))}
		init = store(red.Op.Identity(t.DType))
		for i := len(leaves) - 1; i > fr; i-- {
			if !leaves[i].Reduce {
				init = n.loop(leaves[i], ext, wrapGuards(guards[i], init, true))
			}
		}
	}
	for i := len(leaves) - 1; i >= 0; i-- {
		// inside loop i: the windows of the stages computed here, those
		// stages, then the guarded rest of the nest
		inner = appendStmt(inside[i].stages, wrapGuards(guards[i], inner, false))
		for k := len(inside[i].allocs) - 1; k >= 0; k-- {
			inner = &Allocate{Buffer: inside[i].allocs[k], Body: inner}
		}
		for k := len(inside[i].lets) - 1; k >= 0; k-- {
			inner = &LetStmt{Var: inside[i].lets[k].Var, Value: inside[i].lets[k].Value, Body: inner}
		}
		inner = n.loop(leaves[i], ext, inner)
		if i == fr {
			inner = appendStmt(appendStmt(init, inner), finish)
			if acc != nil {
				inner = &Allocate{Buffer: acc, Body: inner}
			}
		}
	}
	return inner
}

// strongest drops guards that another guard of the same loop implies:
// splits of splits give x + 2 < 16, x + 2 < 8, ... over the same x, and only
// the tightest one matters (more guards would only make more tails).
func (n *nester) strongest(gs []guard) []guard {
	var out []guard
	var keys []te.Expr // the guard's x in x + c < 0; nil for a folded one
	var consts []int64
	for _, g := range gs {
		lt, ok := g.cond.(*te.Binary)
		if !ok || lt.Op != te.LT {
			// folded to a constant: simplify keeps or drops it
			out, keys, consts = append(out, g), append(keys, nil), append(consts, 0)
			continue
		}
		l := n.sp.linearOf(n.sp.expr(bin(te.Sub, lt.A, lt.B)))
		c := l.c
		l.c = 0
		key := l.expr()
		if i := slices.IndexFunc(keys, func(k te.Expr) bool { return k != nil && te.Equal(k, key) }); i >= 0 {
			if c > consts[i] { // x + c < 0 with the larger c is the stronger
				out[i], consts[i] = g, c
			}
			continue
		}
		out, keys, consts = append(out, g), append(keys, key), append(consts, c)
	}
	return out
}

// region decides the window of producer p that a consumer body needs while
// the variables in vary range over their intervals: the union of the
// intervals of p's indices, kept inside p's shape by shifting the window
// rather than shrinking it, so that its extent stays a constant when the
// needed extent is one. It returns p's buffer (sized to the window), the
// lets binding the window's origin, and the ranges of p's root axes.
func (n *nester) region(p *schedule.Stage, body te.Expr, vary map[*te.Var]symInterval) (*Buffer, []*LetStmt, map[*schedule.Axis]symRange) {
	t := p.Tensor
	nd := len(t.Shape)
	reg := make([]*symInterval, nd)
	whole := make([]bool, nd)
	te.Walk(body, func(x te.Expr) bool {
		r, ok := x.(*te.Read)
		if !ok || r.Tensor != t {
			return true
		}
		for d, e := range r.Indices {
			b, ok := n.sp.boundsOf(e, vary)
			switch {
			case !ok:
				whole[d] = true
			case reg[d] == nil:
				reg[d] = &b
			case !te.Equal(reg[d].Lo, b.Lo) || !te.Equal(reg[d].Hi, b.Hi):
				reg[d] = &symInterval{Lo: bin(te.Min, reg[d].Lo, b.Lo), Hi: bin(te.Max, reg[d].Hi, b.Hi)}
			}
		}
		return true
	})
	buf := &Buffer{Name: t.Name, DType: t.DType, Align: allocAlign}
	var lets []*LetStmt
	ranges := map[*schedule.Axis]symRange{}
	bases := make([]te.Expr, nd)
	for d := range nd {
		full := t.Shape[d]
		base, ext, alloc := te.Expr(idx(0)), full, full
		if reg[d] != nil && !whole[d] {
			lo, hi := n.sp.expr(reg[d].Lo), n.sp.expr(reg[d].Hi)
			need := n.sp.expr(bin(te.Add, bin(te.Sub, hi, lo), idx(1)))
			c, isConst := te.IntValue(need)
			if w := reg[d].Span; !isConst && w > 0 {
				// [lo, lo + w) holds [lo, hi]
				c, isConst, need = w, true, idx(w)
				hi = n.sp.expr(bin(te.Add, lo, idx(w-1)))
			}
			f, fullConst := te.IntValue(full)
			switch {
			case !isConst || (fullConst && c >= f):
				// the whole dimension
			case n.within(lo, hi, full):
				base, ext, alloc = lo, need, need
			case fullConst:
				base, ext, alloc = n.sp.expr(bin(te.Min, bin(te.Max, lo, idx(0)), idx(f-c))), need, need
			default:
				base = n.sp.expr(bin(te.Max, bin(te.Min, lo, bin(te.Sub, full, need)), idx(0)))
				ext, alloc = n.sp.expr(bin(te.Min, need, full)), need
			}
		}
		if _, ok := te.IntValue(base); !ok && clampedBase(base) {
			v := &te.Var{Name: fmt.Sprintf("%s.%s.min", t.Name, t.Axis[d].Var.Name)}
			lets = append(lets, &LetStmt{Var: v, Value: base})
			base = v
		}
		bases[d] = base
		buf.Shape = append(buf.Shape, alloc)
		ranges[p.Root[d]] = symRange{base, ext}
	}
	for _, r := range p.Root[nd:] {
		min, ext := p.RootRange(r)
		ranges[r] = symRange{min, ext}
	}
	n.bufs[t] = buf
	n.base[t] = bases
	return buf, lets, ranges
}

// clampedBase reports whether a buffer's base holds a min or max (a region
// clamped to the tensor), which a let computes once. Any other base is
// left in the indices, where the simplifier cancels it against the
// global index: a block attached under a fused loop has the base
// floormod(f, 56) * 448, and as a let it left every access to the block's
// accumulators at a variable offset, which LLVM kept in memory (4x slower).
func clampedBase(base te.Expr) bool {
	return te.Any(base, func(x te.Expr) bool {
		b, ok := x.(*te.Binary)
		return ok && (b.Op == te.Min || b.Op == te.Max)
	})
}

// readerInside is the stage attached at one of loops (or deeper, through
// another attached stage) that reads p, when the nest's own body does not:
// p is computed at an outer loop for a stage computed at an inner one.
func (n *nester) readerInside(p *schedule.Stage, loops []*schedule.Axis) *schedule.Stage {
	for _, l := range loops {
		for _, r := range n.at[l] {
			if r == p {
				continue
			}
			if readsTensorOf(n.bodies[r], p.Tensor) {
				return r
			}
			if deeper := n.readerInside(p, r.Leaf); deeper != nil {
				return deeper
			}
		}
	}
	return nil
}

func readsTensorOf(e te.Expr, t *te.Tensor) bool {
	return te.Any(e, func(x te.Expr) bool { r, ok := x.(*te.Read); return ok && r.Tensor == t })
}

// windowsOver is the range of r's root variables over every window r takes
// while vary varies (r's region from body, as if computed here), for the
// region of what r reads. It leaves no trace of r's buffer.
func (n *nester) windowsOver(r *schedule.Stage, body te.Expr, vary map[*te.Var]symInterval) map[*te.Var]symInterval {
	buf, base := n.bufs[r.Tensor], n.base[r.Tensor]
	_, lets, ranges := n.region(r, body, vary)
	n.bufs[r.Tensor], n.base[r.Tensor] = buf, base
	values := map[*te.Var]te.Expr{}
	for _, l := range lets {
		values[l.Var] = l.Value
	}
	out := map[*te.Var]symInterval{}
	for _, a := range r.Root {
		rg := ranges[a]
		lo := n.sp.expr(te.Substitute(rg.Min, values))
		out[a.Var] = symInterval{Lo: lo, Hi: n.sp.expr(bin(te.Sub, bin(te.Add, lo, rg.Ext), idx(1)))}
	}
	return out
}

// within reports whether [lo, hi] provably lies inside [0, full).
func (n *nester) within(lo, hi, full te.Expr) bool {
	l, okL := n.sp.rangeOf(lo)
	h, okH := n.sp.rangeOf(n.sp.expr(bin(te.Sub, full, hi)))
	return okL && okH && l.lo >= 0 && h.lo >= 1
}

// lanesOf is a constant extent, or 0.
func lanesOf(ext te.Expr) int64 {
	c, _ := te.IntValue(ext)
	return c
}

func divides(parent, outer, inner te.Expr) bool {
	p, ok1 := te.IntValue(parent)
	o, ok2 := te.IntValue(outer)
	i, ok3 := te.IntValue(inner)
	return ok1 && ok2 && ok3 && o*i == p
}

// innermost is the position of the innermost leaf variable e uses.
func innermost(e te.Expr, pos map[*te.Var]int) int {
	p := 0
	te.Walk(e, func(x te.Expr) bool {
		if v, ok := x.(*te.Var); ok {
			if i, ok := pos[v]; ok && i > p {
				p = i
			}
		}
		return true
	})
	return p
}

func wrapGuards(gs []guard, s Stmt, dataOnly bool) Stmt {
	for k := len(gs) - 1; k >= 0; k-- {
		if dataOnly && !gs[k].data {
			continue
		}
		s = &IfThenElse{Cond: gs[k].cond, Then: s, Likely: gs[k].likely}
	}
	return s
}

func (n *nester) loop(a *schedule.Axis, ext map[*schedule.Axis]te.Expr, body Stmt) Stmt {
	return &For{Var: a.Var, Min: idx(0), Extent: ext[a], Kind: a.Ann, Body: body, Axis: a}
}

// appendStmt sequences two statements, either of which may be nil.
func appendStmt(a, b Stmt) Stmt {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	out := Seq{}
	for _, s := range []Stmt{a, b} {
		if q, ok := s.(Seq); ok {
			out = append(out, q...)
		} else {
			out = append(out, s)
		}
	}
	return out
}

// flat is the flat offset of t[indices] in t's buffer (its window, if any).
func (n *nester) flat(t *te.Tensor, indices []te.Expr) te.Expr {
	buf := n.bufs[t]
	if base := n.base[t]; base != nil {
		rel := make([]te.Expr, len(indices))
		for d := range indices {
			rel[d] = bin(te.Sub, indices[d], base[d])
		}
		indices = rel
	}
	if p := n.place[t]; p != nil {
		moved := slices.Clone(indices)
		moved[p.Axis] = bin(te.Add, indices[p.Axis], idx(p.Offset))
		indices = moved
	}
	return n.sp.expr(flatIndex(indices, buf.Shape))
}

func (n *nester) store(t *te.Tensor, indices []te.Expr) func(te.Expr) Stmt {
	return func(v te.Expr) Stmt {
		return &Store{Buffer: n.bufs[t], Index: n.flat(t, indices), Value: v}
	}
}

// loads replaces tensor reads by loads from their buffers.
func (n *nester) loads(e te.Expr) te.Expr {
	return te.Mutate(e, func(x te.Expr) te.Expr {
		if r, ok := x.(*te.Read); ok {
			return &Load{Buffer: n.bufs[r.Tensor], Index: n.flat(r.Tensor, r.Indices)}
		}
		return x
	})
}

// flatIndex is the row-major offset of indices in shape.
func flatIndex(indices, shape []te.Expr) te.Expr {
	if len(indices) == 0 {
		return idx(0)
	}
	off := indices[0]
	for d := 1; d < len(indices); d++ {
		off = bin(te.Add, bin(te.Mul, off, shape[d]), indices[d])
	}
	return off
}
