package te

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// The reference evaluator: obviously correct, not fast. Every compute is
// materialized in producer-before-consumer order by plain loops over its
// shape (and, for a reduction, its reduce axes, first axis outermost).
//
// Semantics (the generated code must agree on every input they define):
//   - integers wrap at their width (two's complement), as LLVM's add/sub/mul
//     without nsw/nuw;
//   - float32 operations are computed in float32, rounding after each one; no
//     contraction into FMA;
//   - min(a, b) is select(a < b, a, b) and max(a, b) is select(a > b, a, b),
//     also for floats (so min(NaN, x) = x and min(x, NaN) = NaN);
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

// Evaluate computes the given outputs from the inputs (every placeholder they
// read) and the values of their symbolic dimensions.
func Evaluate(outputs []*Tensor, inputs map[*Tensor]*Buffer, sizes map[*Var]int64) (result map[*Tensor]*Buffer, err error) {
	ev := &evaluator{slots: map[*Var]int{}, bufs: map[*Tensor]*Buffer{}}
	order := PostOrder(outputs)
	for _, v := range SizeVars(order) {
		val, ok := sizes[v]
		if !ok {
			return nil, fmt.Errorf("no value given for the symbolic dimension %s", v.Name)
		}
		ev.slots[v] = len(ev.sizeVals)
		ev.sizeVals = append(ev.sizeVals, val)
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
	if len(inputs) != len(k.Inputs) {
		return nil, fmt.Errorf("kernel %s takes %d inputs, got %d", k.Name, len(k.Inputs), len(inputs))
	}
	in := map[*Tensor]*Buffer{}
	for i, t := range k.Inputs {
		in[t] = inputs[i]
	}
	res, err := Evaluate(k.Outputs, in, sizes)
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
		ev.slots[v] = len(ev.sizeVals)
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
	sizeVals []int64      // values of the symbolic dimensions (the first slots)
	bufs     map[*Tensor]*Buffer
	cur      *Tensor // the compute being evaluated, for messages
	curFrame frame
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
	f := make(frame, len(ev.slots))
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
		ev.slots[iv.Var] = len(ev.slots)
	}
	out := NewBuffer(t.DType, shape)
	axisSlots := make([]int, len(t.Axis))
	for i, iv := range t.Axis {
		axisSlots[i] = ev.slots[iv.Var]
	}
	ev.cur, ev.curFrame = t, ev.newFrame() // for a message while compiling
	store := ev.storeFn(t, out)
	n := out.Len()
	// the elements in chunks, one goroutine per core: the compiled body only
	// reads the buffers and its frame, and each worker has its own frame
	workers := min(runtime.GOMAXPROCS(0), max(1, n/parallelGrain))
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
			for flat := w * n / workers; flat < (w+1)*n/workers; flat++ {
				rest := flat
				for d := len(shape) - 1; d >= 0; d-- {
					f[axisSlots[d]] = int64(rest % shape[d])
					rest /= shape[d]
				}
				store(f, flat)
			}
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

// parallelGrain is the fewest elements a compute hands a goroutine.
const parallelGrain = 4096

// storeFn returns a function that computes the element at the frame's axes
// and stores it at flat position i of out.
func (ev *evaluator) storeFn(t *Tensor, out *Buffer) func(frame, int) {
	red, isReduce := t.Body.(*Reduce)
	if !isReduce {
		if t.DType.IsFloat() {
			body := ev.compileFloat(t.Body)
			return func(f frame, i int) { out.Floats[i] = body(f) }
		}
		body := ev.compileInt(t.Body)
		return func(f frame, i int) { out.Ints[i] = body(f) }
	}
	// reduce axes: bounds depend only on symbolic dimensions
	f0 := ev.newFrame()
	type axis struct {
		slot     int
		min, ext int64
	}
	axes := make([]axis, len(red.Axes))
	for i, iv := range red.Axes {
		axes[i] = axis{ev.slots[iv.Var], ev.compileInt(iv.Min)(f0), ev.compileInt(iv.Extent)(f0)}
	}
	// forEach calls fn at every point of the reduce axes, first axis outermost.
	var forEach func(f frame, d int, fn func())
	forEach = func(f frame, d int, fn func()) {
		if d == len(axes) {
			fn()
			return
		}
		a := axes[d]
		for v := a.min; v < a.min+a.ext; v++ {
			f[a.slot] = v
			forEach(f, d+1, fn)
		}
	}
	dt := t.DType
	if dt.IsFloat() {
		body := ev.compileFloat(red.Body)
		combine := floatCombine(red.Op, dt)
		init := red.Op.Identity(dt).(*FloatImm).Value
		return func(f frame, i int) {
			acc := init
			forEach(f, 0, func() { acc = combine(acc, body(f)) })
			out.Floats[i] = acc
		}
	}
	body := ev.compileInt(red.Body)
	combine := intCombine(red.Op, dt)
	init := red.Op.Identity(dt).(*IntImm).Value
	return func(f frame, i int) {
		acc := init
		forEach(f, 0, func() { acc = combine(acc, body(f)) })
		out.Ints[i] = acc
	}
}

func floatCombine(op ReduceOp, t DType) func(a, b float64) float64 {
	bop := op.Combiner()
	return func(a, b float64) float64 { return FloatBinary(bop, t, a, b) }
}

func intCombine(op ReduceOp, t DType) func(a, b int64) int64 {
	bop := op.Combiner()
	return func(a, b int64) int64 { v, _ := IntBinary(bop, t, a, b); return v }
}

func select64(c bool, a, b int64) int64 {
	if c {
		return a
	}
	return b
}

// compileInt compiles an expression of bool or integer type.
func (ev *evaluator) compileInt(e Expr) intFn {
	t := e.Type()
	switch e := e.(type) {
	case *IntImm:
		v := e.Value
		return func(frame) int64 { return v }
	case *Var:
		slot, ok := ev.slots[e]
		if !ok {
			panic(evalError{fmt.Errorf("variable %s has no value", e.Name)})
		}
		return func(f frame) int64 { return f[slot] }
	case *Read:
		buf := ev.bufs[e.Tensor]
		offset := ev.compileOffset(e)
		return func(f frame) int64 { return buf.Ints[offset(f)] }
	case *Cast:
		return ev.compileCastToInt(t, e.X)
	case *Select:
		return ev.compileSelectInt(e)
	case *Unary:
		x, op := ev.compileInt(e.X), e.Op
		return func(f frame) int64 { return IntUnary(op, t, x(f)) }
	case *Binary:
		return ev.compileBinaryInt(e)
	}
	panic(evalError{fmt.Errorf("cannot evaluate %s as an integer", ExprString(e))})
}

func (ev *evaluator) compileOffset(e *Read) intFn {
	buf := ev.bufs[e.Tensor]
	if buf == nil {
		panic(evalError{fmt.Errorf("%s is read before it is computed", e.Tensor.Name)})
	}
	idx := make([]intFn, len(e.Indices))
	for i, x := range e.Indices {
		idx[i] = ev.compileInt(x)
	}
	shape := buf.Shape
	name := e.Tensor.Name
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

func (ev *evaluator) compileSelectInt(e *Select) intFn {
	c, a, b := ev.compileInt(e.Cond), ev.compileInt(e.True), ev.compileInt(e.False)
	if e.Lazy {
		return func(f frame) int64 {
			if c(f) != 0 {
				return a(f)
			}
			return b(f)
		}
	}
	return func(f frame) int64 {
		cv, av, bv := c(f), a(f), b(f)
		return select64(cv != 0, av, bv)
	}
}

func (ev *evaluator) compileBinaryInt(e *Binary) intFn {
	op := e.Op
	ot := e.A.Type() // operand type
	if op.IsComparison() && ot.IsFloat() {
		a, b := ev.compileFloat(e.A), ev.compileFloat(e.B)
		return func(f frame) int64 { return boolInt(compare(op, a(f), b(f))) }
	}
	a, b := ev.compileInt(e.A), ev.compileInt(e.B)
	t := e.T
	switch op {
	case And:
		return func(f frame) int64 {
			if a(f) == 0 {
				return 0
			}
			return b(f)
		}
	case Or:
		return func(f frame) int64 {
			if a(f) != 0 {
				return 1
			}
			return b(f)
		}
	case Shl, Shr:
		bt := e.B.Type()
		return func(f frame) int64 { return check(Shift(op, t, a(f), bt, b(f))) }
	}
	return func(f frame) int64 { return check(IntBinary(op, ot, a(f), b(f))) }
}

// check turns an undefined operation into an evaluation error.
func check(v int64, err error) int64 {
	if err != nil {
		panic(evalError{err})
	}
	return v
}

func (t DType) format(v int64) string {
	if t.Kind == KindUInt {
		return fmt.Sprint(uint64(v))
	}
	return fmt.Sprint(v)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (ev *evaluator) compileCastToInt(t DType, x Expr) intFn {
	if !x.Type().IsFloat() {
		xf := ev.compileInt(x)
		return func(f frame) int64 { return IntToInt(t, xf(f)) }
	}
	xf := ev.compileFloat(x)
	return func(f frame) int64 { return check(FloatToInt(t, xf(f))) }
}

// compileFloat compiles an expression of float type.
func (ev *evaluator) compileFloat(e Expr) floatFn {
	t := e.Type()
	switch e := e.(type) {
	case *FloatImm:
		v := e.Value
		return func(frame) float64 { return v }
	case *Read:
		buf := ev.bufs[e.Tensor]
		offset := ev.compileOffset(e)
		return func(f frame) float64 { return buf.Floats[offset(f)] }
	case *Cast:
		from := e.X.Type()
		if from.IsFloat() {
			x := ev.compileFloat(e.X)
			return func(f frame) float64 { return RoundTo(t, x(f)) }
		}
		x := ev.compileInt(e.X)
		return func(f frame) float64 { return IntToFloat(t, from, x(f)) }
	case *Select:
		c, a, b := ev.compileInt(e.Cond), ev.compileFloat(e.True), ev.compileFloat(e.False)
		if e.Lazy {
			return func(f frame) float64 {
				if c(f) != 0 {
					return a(f)
				}
				return b(f)
			}
		}
		return func(f frame) float64 {
			cv, av, bv := c(f), a(f), b(f)
			if cv != 0 {
				return av
			}
			return bv
		}
	case *Unary:
		x, op := ev.compileFloat(e.X), e.Op
		return func(f frame) float64 { return FloatUnary(op, t, x(f)) }
	case *Binary:
		// Each result is rounded to the type's precision on its own, so no two
		// operations fuse.
		a, b, op := ev.compileFloat(e.A), ev.compileFloat(e.B), e.Op
		return func(f frame) float64 { return FloatBinary(op, t, a(f), b(f)) }
	}
	panic(evalError{fmt.Errorf("cannot evaluate %s as a float", ExprString(e))})
}

// IsUndefined reports whether err comes from an operation the language leaves undefined.
func IsUndefined(err error) bool { return errors.Is(err, ErrUndefined) }
