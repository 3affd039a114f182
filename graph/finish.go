package graph

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// Stats describe a finished network function.
type Stats struct {
	// Intermediates is the sum of the bytes of every intermediate buffer
	// at the root (what a plan without reuse would take); Workspace what
	// the plan takes.
	Intermediates, Workspace int64
	// ConstantBytes is the size of the weights held in the module.
	ConstantBytes int64
}

// Function is a finished network function.
type Function struct {
	Func  *lower.Func
	Stats Stats
	// RuntimeValues are the values of the weight arguments, in order, when
	// the weights are passed at run time (Options.RuntimeWeights): they
	// follow the inputs in Func.Args.
	RuntimeValues []*te.Buffer
}

// Finish turns a lowered network (lower.Lower of the network's kernel with
// the plan's schedule) into the network function: its top-level loop nests
// grouped as the plan's groups (lower.Group), the folded computes and the
// weights as constants (values from weights, in Net.Weights' order), and
// every other root buffer placed in the workspace by liveness.
//
// s is the schedule f was lowered with: stages a file's own schedule
// blocks made (cache_write, rfactor) run in the group of the stage that
// reads them.
func (p *Plan) Finish(f *lower.Func, s *schedule.Schedule, weights []*te.Buffer) (*Function, error) {
	var stats Stats
	if len(weights) != len(p.Net.Weights) {
		return nil, fmt.Errorf("network %s has %d weights, got %d values", p.Net.Name, len(p.Net.Weights), len(weights))
	}
	// the root allocations, then the sequence of loop nests
	var roots []*lower.Buffer
	body := f.Body
	for {
		a, ok := body.(*lower.Allocate)
		if !ok {
			break
		}
		roots = append(roots, a.Buffer)
		body = a.Body
	}
	nests, ok := body.(lower.Seq)
	if !ok {
		nests = lower.Seq{body}
	}
	byName := map[string]*te.Tensor{}
	for _, t := range te.PostOrder(p.Net.Outputs) {
		byName[t.Name] = t
	}
	groupOf := p.stageGroups(s)
	for _, st := range s.Stages {
		if byName[st.Tensor.Name] == nil {
			byName[st.Tensor.Name] = st.Tensor
		}
	}
	// the folded computes' values
	values := map[*te.Tensor]*te.Buffer{}
	for i, w := range p.Net.Weights {
		values[w] = weights[i]
	}
	// the glues' shifts first: a refused channel's shift would fail in
	// the stages after it (the thresholds shift by it) without saying why
	if err := p.checkGlue(values); err != nil {
		return nil, err
	}
	if err := p.fold(values); err != nil {
		return nil, err
	}
	var constants []lower.Constant
	constant := func(b *lower.Buffer, t *te.Tensor) {
		constants = append(constants, lower.Constant{Buffer: b, Value: values[t]})
		n, _ := lower.ConstBytes(b)
		stats.ConstantBytes += n
	}
	// group the nests
	index := map[*Group]int{}
	for i, g := range p.Groups {
		index[g] = i
	}
	bodies := make([]lower.Seq, len(p.Groups))
	for _, s := range nests {
		t, err := nestTensor(s, byName)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w (a bug in Tide)", p.Net.Name, err)
		}
		if p.folded[t] {
			continue // computed at build time
		}
		g := groupOf[t]
		if g == nil {
			return nil, fmt.Errorf("network %s: the loop nest of %s belongs to no group (a bug in Tide)", p.Net.Name, t.Name)
		}
		bodies[index[g]] = append(bodies[index[g]], s)
	}
	var groups lower.Seq
	for i, g := range p.Groups {
		groups = append(groups, &lower.Group{Name: g.Name, Body: bodies[i]})
	}
	// buffers: folded values become constants, the rest share the workspace
	// the buffers each group reads or writes
	used := make([]map[*lower.Buffer]bool, len(groups))
	anyUses := map[*lower.Buffer]bool{}
	for i, g := range groups {
		used[i] = map[*lower.Buffer]bool{}
		for _, b := range lower.StmtBuffers(g) {
			used[i][b], anyUses[b] = true, true
		}
	}
	var slots []lower.Slot
	for _, b := range roots {
		t := byName[b.Name]
		if t == nil {
			return nil, fmt.Errorf("network %s: buffer %s is no tensor (a bug in Tide)", p.Net.Name, b.Name)
		}
		if p.folded[t] {
			if values[t] != nil {
				constant(b, t)
			}
			continue
		}
		n, ok := lower.ConstBytes(b)
		if !ok {
			return nil, fmt.Errorf("network %s: %s has a symbolic shape; a network's shapes are constants", p.Net.Name, b.Name)
		}
		first, last := -1, -1
		for i := range groups {
			if used[i][b] {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if first < 0 {
			continue // never used: nothing to place
		}
		stats.Intermediates += n
		slots = append(slots, lower.Slot{Buffer: b, Bytes: n, First: first, Last: last})
	}
	ws := lower.PlanWorkspace(slots)
	if err := lower.CheckWorkspace(ws); err != nil {
		return nil, fmt.Errorf("network %s: %w (a bug in Tide)", p.Net.Name, err)
	}
	stats.Workspace = ws.Bytes
	// weights are constants; the function takes the inputs and outputs
	isWeight := map[string]*te.Tensor{}
	for _, w := range p.Net.Weights {
		isWeight[w.Name] = w
	}
	var args []*lower.Buffer
	for _, a := range f.Args {
		if w := isWeight[a.Name]; w != nil {
			if anyUses[a] { // else only folded computes read it
				constant(a, w)
			}
			continue
		}
		args = append(args, a)
	}
	out := &Function{Stats: stats}
	if p.opts.RuntimeWeights {
		// the weights become arguments after the inputs, in the same order
		nIn := len(args) - f.Outputs
		var weightArgs []*lower.Buffer
		for _, c := range constants {
			weightArgs = append(weightArgs, c.Buffer)
			out.RuntimeValues = append(out.RuntimeValues, c.Value)
		}
		args = append(append(append([]*lower.Buffer(nil), args[:nIn]...), weightArgs...), args[nIn:]...)
		constants = nil
	}
	out.Func = &lower.Func{Name: f.Name, Args: args, Params: f.Params, ParamPos: f.ParamPos, Body: groups, Outputs: f.Outputs,
		Workspace: ws, Constants: constants, Passes: f.Passes}
	if err := lower.Verify(out.Func); err != nil {
		return nil, fmt.Errorf("network %s: the grouped loop IR is invalid (a bug in Tide): %w", p.Net.Name, err)
	}
	return out, nil
}

// stageGroups is the group of every stage of s: the plan's, and for a
// stage a schedule block made (cache_write, rfactor), the group of the
// stage that reads it.
func (p *Plan) stageGroups(s *schedule.Schedule) map[*te.Tensor]*Group {
	out := map[*te.Tensor]*Group{}
	for t, g := range p.groupOf {
		out[t] = g
	}
	var find func(st *schedule.Stage) *Group
	find = func(st *schedule.Stage) *Group {
		if g, ok := out[st.Tensor]; ok {
			return g
		}
		for _, c := range st.Consumers() {
			if g := find(c); g != nil {
				out[st.Tensor] = g
				return g
			}
		}
		return nil
	}
	for _, st := range s.Stages {
		find(st)
	}
	return out
}

// fold computes the folded tensors from the weights (values) with the
// reference evaluator, one goroutine per core: packing a ResNet-18's
// binary weights is most of a network's build time.
func (p *Plan) fold(values map[*te.Tensor]*te.Buffer) error {
	results := make([]*te.Buffer, len(p.Folded))
	errs := make([]error, len(p.Folded))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if b, ok := foldBitpack(p.Folded[i], values); ok {
					results[i] = b
					continue
				}
				// each tensor on its own: the evaluator is not shared
				r, err := te.Evaluate([]*te.Tensor{p.Folded[i]}, values, nil)
				results[i], errs[i] = r[p.Folded[i]], err
			}
		}()
	}
	for i := range p.Folded {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, t := range p.Folded {
		if errs[i] != nil {
			return fmt.Errorf("network %s: folding %s at build time: %w", p.Net.Name, t.Name, errs[i])
		}
		values[t] = results[i]
	}
	return nil
}

// checkGlue reports glue constants a layer's parameters cannot give
// (topi.FusedGlueBatchNorm marks such a channel with shift -1): it computes
// the shift stages among the folded tensors' inputs, vectors of the
// weights alone.
func (p *Plan) checkGlue(weights map[*te.Tensor]*te.Buffer) error {
	for _, t := range te.PostOrder(p.Folded) {
		if t.Tag != topi.TagGlueShift {
			continue
		}
		got, err := te.Evaluate([]*te.Tensor{t}, weights, nil)
		if err != nil {
			return fmt.Errorf("network %s: folding %s at build time: %w", p.Net.Name, t.Name, err)
		}
		for c, s := range got[t].Ints {
			if s < 0 {
				return fmt.Errorf("network %s: %s, channel %d: its weight scale and batch norm give no fused glue (it needs wb = -round(log2 |alpha|) >= 1, i.e. alpha <= 0.7, and 0 <= wb + round(log2 sqrt(var + eps)) <= 30)", p.Net.Name, t.Name, c)
			}
		}
	}
	return nil
}

// nestTensor is the tensor whose root loop nest s is: the stage of its
// outermost loop, or the tensor it stores to.
func nestTensor(s lower.Stmt, byName map[string]*te.Tensor) (*te.Tensor, error) {
	var found *te.Tensor
	lower.WalkStmt(s, func(x lower.Stmt) bool {
		if found != nil {
			return false
		}
		switch x := x.(type) {
		case *lower.For:
			if x.Axis != nil {
				if st := x.Axis.Stage(); st != nil && st.Attach == schedule.AtRoot {
					found = byName[st.Tensor.Name]
					return false
				}
			}
		case *lower.Store:
			found = byName[x.Buffer.Name]
		}
		return true
	})
	if found == nil {
		return nil, fmt.Errorf("a loop nest computes no known tensor:\n%s", lower.StmtString(s))
	}
	return found, nil
}
