// Package graph compiles a whole network: a te graph of operator calls
// (package topi) with a signature, whose weights are known at build time.
// It sits above topi and below the driver:
//
//	Partition  fuses operators into groups, as TVM's FuseOps does: a
//	           convolution (or pool, dense) takes the element-wise chain
//	           that follows it (glue, batch norm, ReLU, residual add) into
//	           its loop nest; a binary convolution whose codes are packed
//	           for the next one is bitpack-fused (Riptide); injective
//	           computes (a shortcut's cast, a quantization) are inlined into
//	           their one consumer; computes of weights alone are folded
//	           (computed at build time).
//	Schedule   gives every group its schedule (topi's, for the fused shape).
//	Finish     turns the lowered network into a network function: one
//	           lower.Group per fused group, weights as constants, and every
//	           intermediate in one workspace, reused by liveness.
//
// llvmgen then emits the module: an entry function (inputs, outputs,
// workspace), each group an internal function, NAME_workspace_size().
package graph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// Network is a network: inputs the caller passes at every call, weights
// whose values are known at build time, and outputs.
type Network struct {
	Name    string
	Inputs  []*te.Tensor
	Weights []*te.Tensor
	Outputs []*te.Tensor
}

// NetworkOf is the network a kernel declares when its last inputs are
// weights (a .te network declaration's kernel).
func NetworkOf(k *te.Kernel, weights []*te.Tensor) *Network {
	return &Network{Name: k.Name, Inputs: k.Inputs[:len(k.Inputs)-len(weights)], Weights: weights, Outputs: k.Outputs}
}

// Kernel is the network as one te kernel (inputs, then weights): what the
// reference evaluator computes.
func (n *Network) Kernel() (*te.Kernel, error) {
	return te.NewKernel(n.Name, append(slices.Clone(n.Inputs), n.Weights...), n.Outputs, nil)
}

// Optimization names an optimization the graph level can switch off (an
// ablation, or a test of fused against unfused code).
type Optimization string

const (
	// Fusion: element-wise chains into their anchor's group, injective
	// computes into their consumer. Without it every operator is a group.
	Fusion Optimization = "fusion"
	// BitpackFusion: a binary convolution's glue and packing in its loop
	// nest (Riptide), so its integer output is never stored.
	BitpackFusion Optimization = "bitpack-fusion"
	// Vectorize: SIMD loops; without it every loop the schedules vectorize
	// runs scalar.
	Vectorize Optimization = "vectorize"
	// Parallel: loops over threads; without it every loop runs on one.
	Parallel Optimization = "parallel"
	// Tiling: convolutions in register blocks; without it one vector of
	// outputs at a time.
	Tiling Optimization = "tiling"
	// FastPopcount: popcounts as vector lanes summed in bytes (the
	// accumulate pass); without it one word at a time, summed at full width.
	FastPopcount Optimization = "fast-popcount"
	// FusedGlue: the glue as integer compares with per-channel thresholds
	// (1- and 2-bit codes; an add, shift and clip for wider ones) in its
	// convolution's group; without it the float sequence (dequantize, batch norm, scale,
	// floor, clip and quantize), each step its own group (the front end
	// builds it: topi.FloatGlue).
	FusedGlue Optimization = "fused-glue"
)

// Optimizations lists what Options.Without accepts: Riptide's ablation,
// and fusion as a whole.
var Optimizations = []Optimization{Fusion, FusedGlue, BitpackFusion, Tiling, Vectorize, Parallel, FastPopcount}

// Without reports whether the plan switches o off.
func (p *Plan) Without(o Optimization) bool { return p.opts.Without[o] }

// LowerOptions are the lowering pipeline's options for the plan: without
// the fast popcount, sums are not narrowed (no accumulate pass).
func (p *Plan) LowerOptions() lower.Options {
	if p.Without(FastPopcount) {
		return lower.Options{Skip: map[string]bool{"accumulate": true}}
	}
	return lower.Options{}
}

// Options are the graph level's choices.
type Options struct {
	Without map[Optimization]bool
	// RuntimeWeights passes the weights the groups read (packed and
	// folded) as arguments of the network function instead of holding them
	// in the module (TVM's link-params, the default).
	RuntimeWeights bool
}

// Group is a fused group: one loop nest per stage it stores, one function
// in the generated module.
type Group struct {
	Name string
	// Output is what the group stores for later groups: a workspace buffer
	// or a network output.
	Output *te.Tensor
	// Anchor is the convolution, pool or dense layer the group is built
	// around, nil for a group of injective computes or a packing.
	Anchor *te.Tensor
	// Chain is the element-wise epilogue after the anchor, in order.
	Chain []*te.Tensor
	// Pack is the packing of the chain's codes, when bitpack-fused.
	Pack *te.Tensor
	// Members are every compute the group runs, in graph order: the
	// anchor, its private producers (padding), inlined computes, the chain.
	Members []*te.Tensor
}

// Ops describes the group's operators for --stats: anchor, then what is
// fused into it.
func (g *Group) Ops() string {
	var parts []string
	for _, m := range g.Members {
		tag := string(m.Tag)
		if tag == "" {
			tag = "compute"
		}
		parts = append(parts, fmt.Sprintf("%s(%s)", tag, m.Name))
	}
	return strings.Join(parts, " + ")
}

// Plan is a partitioned network.
type Plan struct {
	Net    *Network
	Groups []*Group
	// Folded are the computes of weights alone that the groups read: they
	// are computed at build time and become constants.
	Folded []*te.Tensor
	// Assembled are the concatenations whose inputs are stored in their
	// slices by their own groups: no group computes them, nothing is copied.
	Assembled []*Assembly

	opts    Options
	placed  map[*te.Tensor]bool // parts of an in-place concatenation
	folded  map[*te.Tensor]bool
	inlined map[*te.Tensor]bool
	groupOf map[*te.Tensor]*Group
}

// Assembly is a concatenation made in place: Parts[i] is stored at
// Offsets[i] along Axis of Whole's buffer.
type Assembly struct {
	Whole   *te.Tensor
	Axis    int
	Parts   []*te.Tensor
	Offsets []int64
}

// Partition splits a network into fused groups, in steps: fold the
// computes of weights alone, group the rest (anchors with their chains,
// packings, injective computes), put inlined computes and operators'
// private stages in their consumers' groups, order the groups.
func Partition(net *Network, opts Options) (*Plan, error) {
	if len(net.Outputs) == 0 {
		return nil, fmt.Errorf("network %s has no outputs", net.Name)
	}
	p := &Plan{Net: net, opts: opts, placed: map[*te.Tensor]bool{}, folded: map[*te.Tensor]bool{}, inlined: map[*te.Tensor]bool{}, groupOf: map[*te.Tensor]*Group{}}
	g := &graphInfo{all: te.PostOrder(net.Outputs), output: map[*te.Tensor]bool{}, consumers: map[*te.Tensor][]*te.Tensor{}}
	for _, o := range net.Outputs {
		g.output[o] = true
	}
	for _, t := range g.all {
		for _, in := range t.Inputs() {
			if !slices.Contains(g.consumers[in], t) {
				g.consumers[in] = append(g.consumers[in], t)
			}
		}
	}
	p.markFolded(g)
	if err := p.group(g); err != nil {
		return nil, err
	}
	if err := p.attachPrivate(g); err != nil {
		return nil, err
	}
	for _, t := range g.all {
		if grp := p.groupOf[t]; grp != nil {
			grp.Members = append(grp.Members, t)
		}
	}
	// groups run in the order of their outputs in the graph: a group reads
	// only outputs that come before its own
	pos := map[*te.Tensor]int{}
	for i, t := range g.all {
		pos[t] = i
	}
	slices.SortStableFunc(p.Groups, func(a, b *Group) int { return pos[a.Output] - pos[b.Output] })
	for _, grp := range p.Groups {
		grp.Name = grp.Output.Name
	}
	return p, nil
}

// graphInfo is what Partition's steps know of the te graph.
type graphInfo struct {
	all       []*te.Tensor // producers first
	output    map[*te.Tensor]bool
	consumers map[*te.Tensor][]*te.Tensor
}

// single is t's one consumer when t is an intermediate read once.
func (g *graphInfo) single(t *te.Tensor) *te.Tensor {
	if cs := g.consumers[t]; len(cs) == 1 && !g.output[t] {
		return cs[0]
	}
	return nil
}

// markFolded marks the computes of weights alone (computed at build time) and
// lists those the groups read.
func (p *Plan) markFolded(g *graphInfo) {
	isWeight := map[*te.Tensor]bool{}
	for _, w := range p.Net.Weights {
		isWeight[w] = true
	}
	for _, t := range g.all {
		if t.IsPlaceholder() {
			continue
		}
		only := true
		for _, in := range t.Inputs() {
			only = only && (isWeight[in] || p.folded[in])
		}
		if only && !g.output[t] {
			p.folded[t] = true
		}
	}
	for _, t := range g.all {
		if p.folded[t] {
			continue
		}
		for _, in := range t.Inputs() {
			if p.folded[in] && !slices.Contains(p.Folded, in) {
				p.Folded = append(p.Folded, in)
			}
		}
	}
}

// group makes the groups: each anchor (convolution, pool, dense layer)
// with the element-wise chain after it and, for a binary convolution, the
// packing of its codes; each packing and each injective compute that is
// not inlined on its own; concatenations in place.
func (p *Plan) group(g *graphInfo) error {
	fuse := !p.opts.Without[Fusion]
	for _, t := range g.all {
		if t.IsPlaceholder() || p.folded[t] || topi.IsInternal(t) || p.groupOf[t] != nil {
			continue
		}
		if fuse && topi.IsConcat(t) {
			inPlace, err := p.assemble(t)
			if err != nil {
				return fmt.Errorf("network %s: %w", p.Net.Name, err)
			}
			if inPlace {
				continue // its parts' groups store it
			}
		}
		switch {
		case topi.IsPack(t):
			p.newGroup(&Group{Output: t}, t)
		case topi.IsInjective(t):
			if c := g.single(t); fuse && c != nil && t.Tag != topi.TagGlueFloat && !topi.IsConcat(c) && (topi.IsInjective(c) || topi.IsPack(c)) {
				p.inlined[t] = true // its group is its consumer's (attachPrivate)
				continue
			}
			p.newGroup(&Group{Output: t}, t)
		default:
			p.anchorGroup(g, t, fuse)
		}
	}
	return nil
}

func (p *Plan) newGroup(grp *Group, t *te.Tensor) {
	p.groupOf[t] = grp
	p.Groups = append(p.Groups, grp)
}

// anchorGroup makes the group of an anchor t: the element-wise chain after
// it (the XNOR correction always, the rest when fusing) and a bitpack
// fusion.
func (p *Plan) anchorGroup(g *graphInfo, t *te.Tensor, fuse bool) {
	grp := &Group{Anchor: t}
	p.newGroup(grp, t)
	cur := t
	for {
		c := g.single(cur)
		if c == nil || p.groupOf[c] != nil || !topi.IsElementwiseOf(c, cur) || topi.IsInternal(c) {
			break // a residual add takes one of its producers' chains
		}
		if c.Tag == topi.TagGlueFloat {
			break // the unfused glue: each step its own group
		}
		// the XNOR correction is part of the operator itself
		if !fuse && c.Tag != topi.TagBitserialXnor {
			break
		}
		grp.Chain = append(grp.Chain, c)
		p.groupOf[c] = grp
		cur = c
	}
	if c := g.single(cur); fuse && !p.opts.Without[BitpackFusion] && c != nil && p.groupOf[c] == nil && topi.IsPack(c) &&
		topi.IsConv(t) && !t.DType.IsFloat() && len(grp.Chain) > 0 {
		grp.Pack = c
		p.groupOf[c] = grp
		cur = c
	}
	grp.Output = cur
}

// attachPrivate puts inlined computes and operators' private producers
// (padding) in their consumer's group.
func (p *Plan) attachPrivate(g *graphInfo) error {
	for i := len(g.all) - 1; i >= 0; i-- {
		t := g.all[i]
		if p.groupOf[t] != nil || !(p.inlined[t] || topi.IsInternal(t) && !p.folded[t]) {
			continue
		}
		cs := g.consumers[t]
		if len(cs) != 1 || p.groupOf[cs[0]] == nil {
			return fmt.Errorf("network %s: %s (%s) has %d consumers; an operator's private stage has one", p.Net.Name, t.Name, t.Tag, len(cs))
		}
		p.groupOf[t] = p.groupOf[cs[0]]
	}
	return nil
}

// assemble makes a concatenation in place when each of its inputs is a
// group's output (stored nowhere else): each group then stores into its
// slice of the concatenation's buffer.
func (p *Plan) assemble(t *te.Tensor) (bool, error) {
	attrs, err := topi.AttrsOf[topi.ConcatAttrs](t)
	if err != nil {
		return false, err
	}
	axis := attrs.Axis
	a := &Assembly{Whole: t, Axis: axis}
	var off int64
	seen := map[*te.Tensor]bool{}
	for _, part := range t.Inputs() {
		g := p.groupOf[part]
		// a tensor stored in one concatenation's buffer cannot be in
		// another's: that one copies
		if g == nil || g.Output != part || seen[part] || p.placed[part] || slices.Contains(p.Net.Outputs, part) {
			return false, nil
		}
		seen[part] = true
	}
	// the inputs in the order they are concatenated: the body is a chain
	// if_then_else(i < start1, A[..], if_then_else(i < start2, B[..], ..))
	var parts []*te.Tensor
	te.Walk(t.Body, func(e te.Expr) bool {
		if r, ok := e.(*te.Read); ok && !slices.Contains(parts, r.Tensor) {
			parts = append(parts, r.Tensor)
		}
		return true
	})
	for _, part := range parts {
		p.placed[part] = true
		ext, _ := te.IntValue(part.Shape[axis])
		a.Parts = append(a.Parts, part)
		a.Offsets = append(a.Offsets, off)
		off += ext
	}
	p.Assembled = append(p.Assembled, a)
	return true, nil
}

// Schedule gives every group its schedule for the target: topi's schedule
// of the anchor, shaped by what is fused into it. keep marks stages the
// user schedules: a group with one is left to the user.
func (p *Plan) Schedule(s *schedule.Schedule, t topi.Target, keep func(*te.Tensor) bool) error {
	t.NoTiling, t.ScalarPopcount = p.Without(Tiling), p.Without(FastPopcount)
	for _, g := range p.Groups {
		if keep != nil && slices.ContainsFunc(g.Members, keep) {
			continue
		}
		if err := p.scheduleGroup(s, t, g); err != nil {
			return fmt.Errorf("network %s, group %s: %w", p.Net.Name, g.Name, err)
		}
	}
	for _, a := range p.Assembled {
		for i, part := range a.Parts {
			if err := s.PlaceIn(part, a.Whole, a.Axis, a.Offsets[i]); err != nil {
				return err
			}
		}
		if err := s.Assemble(a.Whole); err != nil {
			return err
		}
	}
	// an ablation of a loop annotation strips it from every stage
	for _, st := range s.Stages {
		for _, a := range st.Leaf {
			if a.Ann == schedule.Vectorized && p.opts.Without[Vectorize] || a.Ann == schedule.Parallel && p.opts.Without[Parallel] {
				a.Ann = schedule.Serial
			}
		}
	}
	// folded computes get their own loop nests, which Finish replaces by
	// their values (a schedule may have attached the float kernel's packing)
	for t := range p.folded {
		if st := s.Stage(t); st != nil && st.Attach != schedule.AtRoot {
			if err := st.ComputeRoot(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Plan) scheduleGroup(s *schedule.Schedule, t topi.Target, g *Group) error {
	t.Scope = g.Name // the group's knobs are named after it
	for _, m := range g.Members {
		if p.inlined[m] {
			if err := s.Stage(m).ComputeInline(); err != nil {
				return err
			}
		}
	}
	inlineAll := func(ts []*te.Tensor) error {
		for _, c := range ts {
			if err := s.Stage(c).ComputeInline(); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case g.Anchor == nil:
		if topi.IsPack(g.Output) {
			return topi.ScheduleDefault(s, t, g.Output)
		}
		return topi.ScheduleOuter(s, t, g.Output)
	case g.Pack != nil:
		last := len(g.Chain) - 1
		return topi.ScheduleBitpackFused(s, t, g.Pack, g.Chain[last], g.Anchor, g.Chain[:last])
	case topi.IsConv(g.Anchor) && len(g.Chain) > 0:
		last := len(g.Chain) - 1
		if err := inlineAll(g.Chain[:last]); err != nil {
			return err
		}
		return topi.ScheduleConvFused(s, t, g.Anchor, g.Chain[last])
	case topi.IsPool(g.Anchor) && len(g.Chain) > 0:
		last := len(g.Chain) - 1
		if err := inlineAll(g.Chain[:last]); err != nil {
			return err
		}
		return topi.SchedulePoolFused(s, t, g.Anchor, g.Chain[last])
	default:
		// a dense layer (or another reduction) keeps its own schedule; its
		// epilogue is computed after it in the same group
		if err := topi.ScheduleDefault(s, t, g.Anchor); err != nil {
			return err
		}
		for _, c := range g.Chain {
			if c.Tag == topi.TagBitserialXnor || c.Tag == topi.TagAvgPool2D {
				continue // scheduled with the anchor
			}
			if err := topi.ScheduleOuter(s, t, c); err != nil {
				return err
			}
		}
		return nil
	}
}
