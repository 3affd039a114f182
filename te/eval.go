package te

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// The reference evaluator. Every compute is materialized in
// producer-before-consumer order by plain loops over its shape (and, for a
// reduction, its reduce axes, first axis outermost). Expressions are compiled
// once per compute into closures specialized for each operator and dtype
// (eval_compile.go), and reads whose indices are affine in the loop
// variables compute their offset as a linear form (eval_affine.go); the
// results are those of evaluating the expression tree node by node, bit for
// bit, with the same errors (tests/eval_diff_test.go checks this against a
// tree-walking interpreter).
//
// Semantics (the generated code must agree on every input they define):
//   - integers wrap at their width (two's complement), as LLVM's add/sub/mul
//     without nsw/nuw;
//   - float32 operations are computed in float32, rounding after each one; no
//     contraction into FMA;
//   - integer min(a, b) is select(a < b, a, b) and max(a, b) is
//     select(a > b, a, b); float min and max are IEEE 754-2019 minimum and
//     maximum (see floatMin);
//   - round rounds half to even; casts float->int truncate toward zero;
//   - undefined, reported as an evaluation error wrapping ErrUndefined:
//     integer division or remainder by zero, signed division overflow
//     (MIN / -1), shift amounts outside 0..width-1, float->int casts of NaN or
//     of values outside the target type, and reads outside a tensor.
//   - && and || short-circuit, and if_then_else evaluates only the chosen
//     branch; select evaluates both.

// MaxElements bounds the size of one tensor (2^31 elements, 16 GiB here).
const MaxElements = 1 << 31

// Footprint is the memory that buffers of the given tensors take at these
// sizes: 8 bytes per element, as a Buffer holds int64 or float64 values
// whatever the dtype. The reference evaluator holds every tensor of a
// kernel at once; callers compare this with the memory they have before
// they allocate.
func Footprint(tensors []*Tensor, sizes map[*Var]int64) (int64, error) {
	total := int64(0)
	for _, t := range tensors {
		shape, err := ShapeOf(t, sizes)
		if err != nil {
			return 0, err
		}
		total += 8 * int64(NumElements(shape)) // each below 2^34 bytes (MaxElements)
	}
	return total, nil
}

// EvalOptions are the evaluator's options.
type EvalOptions struct {
	// Progress, when set, is called now and then, from several goroutines,
	// with the work done so far and the total (elements times reduction
	// points over every compute), for a progress bar.
	Progress func(done, total int64)
}

// Evaluate computes the given outputs from the inputs (every placeholder they
// read) and the values of their symbolic dimensions.
func Evaluate(outputs []*Tensor, inputs map[*Tensor]*Buffer, sizes map[*Var]int64) (map[*Tensor]*Buffer, error) {
	return EvaluateWith(outputs, inputs, sizes, EvalOptions{})
}

// EvaluateWith is Evaluate with options.
func EvaluateWith(outputs []*Tensor, inputs map[*Tensor]*Buffer, sizes map[*Var]int64, opts EvalOptions) (result map[*Tensor]*Buffer, err error) {
	ev := &evaluator{slots: map[*Var]int{}, bufs: map[*Tensor]*Buffer{}}
	order := PostOrder(outputs)
	for _, v := range SizeVars(order) {
		val, ok := sizes[v]
		if !ok {
			return nil, fmt.Errorf("no value given for the symbolic dimension %s", v.Name)
		}
		ev.slots[v] = ev.newSlot()
		ev.sizeVals = append(ev.sizeVals, val)
	}
	if opts.Progress != nil {
		ev.progress = newProgress(ev, order, opts.Progress)
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(evalError)
			if !ok {
				panic(r)
			}
			result, err = nil, fmt.Errorf("%s: %w", ev.where(), e.err)
		}
	}()
	for _, t := range order {
		shape, err := ev.shape(t)
		if err != nil {
			return nil, err
		}
		if t.IsPlaceholder() {
			b := inputs[t]
			if b == nil {
				return nil, fmt.Errorf("no input given for placeholder %s", t.Name)
			}
			if b.DType != t.DType || !slices.Equal(b.Shape, shape) {
				return nil, fmt.Errorf("input %s: got %v%v, want %v%v", t.Name, b.DType, b.Shape, t.DType, shape)
			}
			ev.bufs[t] = b
			continue
		}
		ev.bufs[t] = ev.compute(t, shape)
	}
	result = map[*Tensor]*Buffer{}
	for _, t := range outputs {
		result[t] = ev.bufs[t]
	}
	return result, nil
}

// EvalKernel evaluates a kernel with inputs in argument order.
func EvalKernel(k *Kernel, inputs []*Buffer, sizes map[*Var]int64) ([]*Buffer, error) {
	return EvalKernelWith(k, inputs, sizes, EvalOptions{})
}

// EvalKernelWith is EvalKernel with options.
func EvalKernelWith(k *Kernel, inputs []*Buffer, sizes map[*Var]int64, opts EvalOptions) ([]*Buffer, error) {
	if len(inputs) != len(k.Inputs) {
		return nil, fmt.Errorf("kernel %s takes %d inputs, got %d", k.Name, len(k.Inputs), len(inputs))
	}
	in := map[*Tensor]*Buffer{}
	for i, t := range k.Inputs {
		in[t] = inputs[i]
	}
	res, err := EvaluateWith(k.Outputs, in, sizes, opts)
	if err != nil {
		return nil, err
	}
	out := make([]*Buffer, len(k.Outputs))
	for i, t := range k.Outputs {
		out[i] = res[t]
	}
	return out, nil
}

// ShapeOf evaluates a tensor's shape for the given symbolic dimensions.
func ShapeOf(t *Tensor, sizes map[*Var]int64) ([]int, error) {
	ev := &evaluator{slots: map[*Var]int{}}
	for v, val := range sizes {
		ev.slots[v] = ev.newSlot()
		ev.sizeVals = append(ev.sizeVals, val)
	}
	for _, v := range SizeVars([]*Tensor{t}) {
		if _, ok := sizes[v]; !ok {
			return nil, fmt.Errorf("no value given for the symbolic dimension %s", v.Name)
		}
	}
	return ev.shape(t)
}

type evalError struct{ err error }

func undefined(format string, args ...any) {
	panic(evalError{undefinedf(format, args...)})
}

type (
	frame   []int64
	intFn   func(frame) int64
	floatFn func(frame) float64
)

type evaluator struct {
	slots    map[*Var]int // frame slot of each variable
	nslots   int          // slots in a frame: variables and boxed reads' offsets
	sizeVals []int64      // values of the symbolic dimensions (the first slots)
	bufs     map[*Tensor]*Buffer
	box      map[*Read]*boxRead // while compiling a reduction's fast body
	cur      *Tensor            // the compute being evaluated, for messages
	curFrame frame
	progress *progress // nil without EvalOptions.Progress
}

func (ev *evaluator) newSlot() int {
	ev.nslots++
	return ev.nslots - 1
}

func (ev *evaluator) where() string {
	if ev.cur == nil {
		return "evaluating"
	}
	parts := make([]string, len(ev.cur.Axis))
	for i, iv := range ev.cur.Axis {
		parts[i] = fmt.Sprintf("%s=%d", iv.Var.Name, ev.curFrame[ev.slots[iv.Var]])
	}
	return fmt.Sprintf("computing %s at (%s)", ev.cur.Name, strings.Join(parts, ", "))
}

func (ev *evaluator) newFrame() frame {
	f := make(frame, ev.nslots)
	copy(f, ev.sizeVals)
	return f
}

func (ev *evaluator) shape(t *Tensor) ([]int, error) {
	f := ev.newFrame()
	shape := make([]int, len(t.Shape))
	total := int64(1)
	for i, s := range t.Shape {
		v := ev.compileInt(s)(f)
		if v <= 0 {
			return nil, fmt.Errorf("%s: dimension %d is %d; it must be positive", t.Name, i, v)
		}
		if v > MaxElements || total*v > MaxElements {
			return nil, fmt.Errorf("%s: shape %s is larger than %d elements", t.Name, ShapeString(t.Shape), int64(MaxElements))
		}
		total *= v
		shape[i] = int(v)
	}
	return shape, nil
}

func (ev *evaluator) compute(t *Tensor, shape []int) *Buffer {
	for _, iv := range append(append([]*IterVar{}, t.Axis...), t.ReduceAxis...) {
		ev.slots[iv.Var] = ev.newSlot()
	}
	out := NewBuffer(t.DType, shape)
	axisSlots := make([]int, len(t.Axis))
	for i, iv := range t.Axis {
		axisSlots[i] = ev.slots[iv.Var]
	}
	ev.cur, ev.curFrame = t, ev.newFrame() // for a message while compiling
	store, work := ev.storeFn(t, out)
	n := out.Len()
	// The elements in contiguous chunks, one goroutine per core, split by
	// work (elements times reduction points) so that a small tensor with
	// long reductions (a dense layer) is parallel too. The compiled body only
	// reads the buffers and its frame, and each worker has its own frame.
	// Chunks are in element order and each stops at its first error, so the
	// first failing chunk's error is the first failing element's whatever
	// the number of workers.
	workers := int(min(int64(runtime.GOMAXPROCS(0)), int64(n), max(1, int64(n)*work/parallelGrain)))
	frames := make([]frame, workers)
	failed := make([]any, workers)
	var wg sync.WaitGroup
	for w := range workers {
		frames[w] = ev.newFrame()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { failed[w] = recover() }()
			f := frames[w]
			first, end := w*n/workers, (w+1)*n/workers
			rest := first
			for d := len(shape) - 1; d >= 0; d-- {
				f[axisSlots[d]] = int64(rest % shape[d])
				rest /= shape[d]
			}
			for flat := first; flat < end; flat++ {
				if (flat-first)%progressBatch == progressBatch-1 {
					ev.progress.add(progressBatch * work)
				}
				store(f, flat)
				// the next element: the last axis moves fastest
				for d := len(shape) - 1; d >= 0; d-- {
					s := axisSlots[d]
					if f[s]++; f[s] < int64(shape[d]) {
						break
					}
					f[s] = 0
				}
			}
			ev.progress.add(int64((end-first)%progressBatch) * work)
		}()
	}
	wg.Wait()
	for w, r := range failed {
		if r != nil {
			// the message names the element of the first failing chunk
			ev.cur, ev.curFrame = t, frames[w]
			panic(r)
		}
	}
	ev.cur = nil
	return out
}

// progressBatch is how many elements a worker computes between two reports.
const progressBatch = 256

// progress counts the work done for EvalOptions.Progress.
type progress struct {
	done, total int64
	report      func(done, total int64)
}

// newProgress counts the work of every compute in order: elements times
// reduction points, with extents that depend only on symbolic dimensions.
// It returns nil when a shape or an extent cannot be evaluated here: the
// evaluation reports that error in its own time.
func newProgress(ev *evaluator, order []*Tensor, report func(done, total int64)) (p *progress) {
	defer func() {
		if recover() != nil {
			p = nil
		}
	}()
	f := ev.newFrame()
	total := int64(0)
	for _, t := range order {
		if t.IsPlaceholder() {
			continue
		}
		shape, err := ev.shape(t)
		if err != nil {
			return nil
		}
		points := int64(1) // as storeFn counts them
		if red, ok := t.Body.(*Reduce); ok {
			for _, iv := range red.Axes {
				points = min(points*max(ev.compileInt(iv.Extent)(f), 1), MaxElements)
			}
		}
		total += int64(NumElements(shape)) * points // below 2^62 per compute
	}
	return &progress{total: total, report: report}
}

func (p *progress) add(n int64) {
	if p != nil {
		p.report(atomic.AddInt64(&p.done, n), p.total)
	}
}

// parallelGrain is the least work (elements times reduction points) a
// compute hands a goroutine.
const parallelGrain = 4096

// storeFn returns a function that computes the element at the frame's axes
// and stores it at flat position i of out, and the number of reduction
// points per element (1 without a reduction).
func (ev *evaluator) storeFn(t *Tensor, out *Buffer) (func(frame, int), int64) {
	red, isReduce := t.Body.(*Reduce)
	if !isReduce {
		if t.DType.IsFloat() {
			body := ev.compileFloat(t.Body)
			return func(f frame, i int) { out.Floats[i] = body(f) }, 1
		}
		body := ev.compileInt(t.Body)
		return func(f frame, i int) { out.Ints[i] = body(f) }, 1
	}
	// reduce axes: bounds depend only on symbolic dimensions
	f0 := ev.newFrame()
	axes := make([]reduceAxis, len(red.Axes))
	work := int64(1)
	for i, iv := range red.Axes {
		axes[i] = reduceAxis{ev.slots[iv.Var], ev.compileInt(iv.Min)(f0), ev.compileInt(iv.Extent)(f0)}
		work = min(work*max(axes[i].ext, 1), MaxElements)
	}
	// Two bodies: a fast one whose affine reads are not bounds-checked, used
	// for an element when every such read is in bounds over the whole
	// reduction box (checked once per element), and the checked one
	// otherwise, which fails where the tree-walking order fails.
	boxes := ev.boxReads(red.Body, axes)
	prepare := func(f frame) bool {
		ok := true
		for _, b := range boxes {
			ok = b.prepare(f) && ok // prepare sets every base offset
		}
		return ok
	}
	// With every read a box read, a third body computes the whole box at
	// once (eval_lanes.go), falling back on the fast one when a lane meets
	// an undefined operation.
	var lanes *laneCompiler
	if len(boxes) > 0 {
		lanes = newLaneCompiler(ev, axes, boxes)
	}
	dt := t.DType
	if dt.IsFloat() {
		init := red.Op.Identity(dt).(*FloatImm).Value
		checked := floatStep(red.Op, dt, ev.compileFloat(red.Body))
		fast := checked
		var whole func(frame, float64) (float64, bool)
		if len(boxes) > 0 {
			ev.box = boxMap(boxes)
			fast = floatStep(red.Op, dt, ev.compileFloat(red.Body))
			ev.box = nil
		}
		if lanes != nil {
			whole = lanes.floatBody(red.Op, dt, red.Body)
		}
		return reduceElement(axes, prepare, init, checked, fast, whole, out.Floats), work
	}
	init := red.Op.Identity(dt).(*IntImm).Value
	checked := intStep(red.Op, dt, ev.compileInt(red.Body))
	fast := checked
	var whole func(frame, int64) (int64, bool)
	if len(boxes) > 0 {
		ev.box = boxMap(boxes)
		fast = intStep(red.Op, dt, ev.compileInt(red.Body))
		ev.box = nil
	}
	if lanes != nil {
		whole = lanes.intBody(red.Op, dt, red.Body)
	}
	return reduceElement(axes, prepare, init, checked, fast, whole, out.Ints), work
}

// reduceElement computes one element of a reduction into store: the whole
// box at once when every read is in bounds and no lane abandons it, else
// step by step with the fast body when the reads are in bounds, else with
// the checked one.
func reduceElement[V int64 | float64](axes []reduceAxis, prepare func(frame) bool, init V, checked, fast func(V, frame) V, whole func(frame, V) (V, bool), store []V) func(frame, int) {
	return func(f frame, i int) {
		step := checked
		if prepare(f) {
			if whole != nil {
				if v, ok := whole(f, init); ok {
					store[i] = v
					return
				}
			}
			step = fast
		}
		store[i] = reduceLoop(axes, f, init, step)
	}
}

type reduceAxis struct {
	slot     int
	min, ext int64
}

// reduceLoop folds step over every point of the reduce axes, first axis
// outermost, as nested loops would.
func reduceLoop[V int64 | float64](axes []reduceAxis, f frame, acc V, step func(V, frame) V) V {
	if len(axes) == 0 {
		return step(acc, f)
	}
	for _, a := range axes {
		if a.ext <= 0 {
			return acc
		}
		f[a.slot] = a.min
	}
	last := axes[len(axes)-1]
	for {
		for v := last.min; v < last.min+last.ext; v++ {
			f[last.slot] = v
			acc = step(acc, f)
		}
		d := len(axes) - 2
		for ; d >= 0; d-- {
			a := axes[d]
			if f[a.slot]++; f[a.slot] < a.min+a.ext {
				break
			}
			f[a.slot] = a.min
		}
		if d < 0 {
			return acc
		}
	}
}

// IsUndefined reports whether err comes from an operation the language leaves undefined.
func IsUndefined(err error) bool { return errors.Is(err, ErrUndefined) }
