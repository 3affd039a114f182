package te

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// IterKind says whether an iteration axis spans the output (data parallel)
// or is summed over (reduction).
type IterKind uint8

const (
	DataPar IterKind = iota
	Reduction
)

// IterVar is an iteration axis: a variable ranging over [Min, Min+Extent).
type IterVar struct {
	Var         *Var
	Min, Extent Expr
	Kind        IterKind
	owner       *Tensor // the compute that iterates over it, once claimed
}

// ReduceAxis makes a reduction axis over [min, min+extent).
func ReduceAxis(name string, min, extent Expr) *IterVar {
	return &IterVar{Var: &Var{Name: name}, Min: toIndex(min), Extent: toIndex(extent), Kind: Reduction}
}

// toIndex gives an untyped literal the Index type.
func toIndex(e Expr) Expr { return convertConst(e, Index) }

// ValueRange is the inclusive range of values a placeholder holds; random
// inputs are drawn from it. Integer bounds are exact up to 2^53.
type ValueRange struct{ Lo, Hi float64 }

// Tensor is a named n-dimensional array: a placeholder (an input, Body == nil)
// or the result of a compute.
type Tensor struct {
	Name  string
	Shape []Expr // Index expressions over constants and size vars
	DType DType

	// placeholders
	Range *ValueRange // declared value range, or nil for the default

	// computes
	Axis       []*IterVar // one data-parallel axis per dimension
	ReduceAxis []*IterVar // the axes of Body, when Body is a *Reduce
	Body       Expr

	// Tag names the operator that made a compute, and Attrs holds its
	// parameters (strides, padding, bits): the operator library sets them
	// so that its schedules and benchmarks can recognize its computes, like
	// TVM's op tags and attrs. Attrs is a value of one of topi's attribute
	// types (topi.WindowAttrs, topi.BitpackAttrs, ...), or nil: te carries
	// it without knowing the types, which belong to the operators (and
	// topi imports te); readers take it with topi.AttrsOf, which reports a
	// missing or other type as an error.
	Tag   Tag
	Attrs any
}

// Tag names an operator of the operator library (package topi), which
// defines the values (topi.TagConv2DNHWC, ...): te only carries them, as
// topi imports te. The empty tag is a compute no operator made.
type Tag string

// IsPlaceholder reports whether t is an input rather than a compute.
func (t *Tensor) IsPlaceholder() bool { return t.Body == nil }

// Ndim is the number of dimensions.
func (t *Tensor) Ndim() int { return len(t.Shape) }

// At reads t at the given indices (integers of any width).
func (t *Tensor) At(indices ...Expr) Expr {
	if bad := firstBad(indices...); bad != nil {
		return bad
	}
	if len(t.Shape) == 0 && len(indices) > 0 {
		// a scalar written as A[0], as a C or numpy user might
		return badf("%s is 0-d (one element) and is read with no indices: %s[]", t.Name, t.Name)
	}
	if len(indices) != len(t.Shape) {
		return badf("%s has %d dimensions but is indexed with %d indices", t.Name, len(t.Shape), len(indices))
	}
	idx := make([]Expr, len(indices))
	for i, e := range indices {
		if !e.Type().IsInteger() {
			return badf("index %d of %s is %v; indices must be integers", i, t.Name, e.Type())
		}
		idx[i] = toIndex(e)
		if b := firstBad(idx[i]); b != nil {
			return b
		}
	}
	return &Read{Tensor: t, Indices: idx}
}

// checkShape validates a shape: Index expressions over constants and size
// variables, constant extents positive.
func checkShape(what string, shape []Expr) ([]Expr, error) {
	out := make([]Expr, len(shape))
	for i, e := range shape {
		e = toIndex(e)
		if err := Error(e); err != nil {
			return nil, fmt.Errorf("%s: dimension %d: %w", what, i, err)
		}
		if !e.Type().IsInteger() {
			return nil, fmt.Errorf("%s: dimension %d is %v; dimensions must be integers", what, i, e.Type())
		}
		e = CastTo(Index, e)
		if c, ok := e.(*IntImm); ok && c.Value <= 0 {
			return nil, fmt.Errorf("%s: dimension %d is %d; dimensions must be positive", what, i, c.Value)
		}
		if err := onlySizeVars(e); err != nil {
			return nil, fmt.Errorf("%s: dimension %d: %w", what, i, err)
		}
		out[i] = e
	}
	return out, nil
}

func onlySizeVars(e Expr) error {
	var err error
	Walk(e, func(x Expr) bool {
		switch x := x.(type) {
		case *Var:
			if !x.size && err == nil {
				err = fmt.Errorf("loop axis %q cannot appear in a shape or range; only constants and symbolic dims (var) can", x.Name)
			}
		case *Read:
			if err == nil {
				err = fmt.Errorf("a shape or range cannot read tensor %s", x.Tensor.Name)
			}
		}
		return err == nil
	})
	return err
}

// Placeholder declares an input tensor. An empty shape declares a 0-d
// tensor (TVM's placeholder(())): one element, read as At() with no indices.
func Placeholder(name string, shape []Expr, dtype DType) (*Tensor, error) {
	if !isScalar(dtype) {
		return nil, fmt.Errorf("placeholder %s: %v is not a data type; use one of %v", name, dtype, DTypeNames())
	}
	s, err := checkShape("placeholder "+name, shape)
	if err != nil {
		return nil, err
	}
	if err := checkBytes("placeholder "+name, s, dtype); err != nil {
		return nil, err
	}
	return &Tensor{Name: name, Shape: s, DType: dtype}, nil
}

// MaxTensorBytes bounds the size of one tensor of constant shape (2^62
// bytes): its element count, its byte size and every index and byte offset
// into it, with loop tails rounded up to a split's factor, stay within a
// signed 64-bit integer, the type of generated code's indices.
const MaxTensorBytes = 1 << 62

// checkBytes refuses a constant shape whose size in bytes exceeds
// MaxTensorBytes (a symbolic one is sized when its dims get values).
func checkBytes(what string, shape []Expr, dtype DType) error {
	total := uint64(max(1, dtype.Bytes()))
	for _, e := range shape {
		n, ok := IntValue(e)
		if !ok {
			return nil
		}
		hi, lo := bits.Mul64(total, uint64(n))
		if hi != 0 || lo > MaxTensorBytes {
			return fmt.Errorf("%s: shape %s of %v is more than 2^62 bytes, the most a tensor can address (its indices are 64-bit)", what, ShapeString(shape), dtype)
		}
		total = lo
	}
	return nil
}

// SetRange declares the inclusive range of values t holds.
func (t *Tensor) SetRange(lo, hi float64) error {
	if !t.IsPlaceholder() {
		return fmt.Errorf("%s: only placeholders have a declared value range", t.Name)
	}
	if lo > hi || math.IsNaN(lo) || math.IsNaN(hi) {
		return fmt.Errorf("%s: empty value range %v..%v", t.Name, lo, hi)
	}
	dt := t.DType
	switch {
	case dt.IsFloat():
	case dt.IsInteger() || dt.IsBool():
		if lo != math.Trunc(lo) || hi != math.Trunc(hi) {
			return fmt.Errorf("%s: the value range of a %v must have integer bounds, not %v..%v", t.Name, dt, lo, hi)
		}
		max := float64(dt.MaxInt())
		if dt.Kind == KindUInt && dt.Bits == 64 {
			max = math.MaxUint64
		}
		if lo < float64(dt.MinInt()) || hi > max {
			return fmt.Errorf("%s: value range %v..%v does not fit %v (%d..%s)", t.Name, lo, hi, dt, dt.MinInt(), maxString(dt))
		}
	}
	t.Range = &ValueRange{Lo: lo, Hi: hi}
	return nil
}

func isScalar(t DType) bool {
	for _, s := range ScalarTypes {
		if s == t {
			return true
		}
	}
	return false
}

// Compute declares a tensor whose element at axes (one per dimension of
// shape) is body(axes). The body may be a reduction (Sum, ReduceMinOf,
// ReduceMaxOf) as a whole, not inside another expression. axisNames names
// the axes (i0, i1, ... when omitted). An empty shape makes a 0-d tensor,
// one element: body gets no axes, and a reduction over every element of
// its input is compute((), () => sum(...)).
func Compute(name string, shape []Expr, body func(axes []Expr) Expr, axisNames ...string) (*Tensor, error) {
	s, err := checkShape("compute "+name, shape)
	if err != nil {
		return nil, err
	}
	if len(axisNames) != 0 && len(axisNames) != len(s) {
		return nil, fmt.Errorf("compute %s: %d axis names for %d dimensions", name, len(axisNames), len(s))
	}
	t := &Tensor{Name: name, Shape: s}
	axes := make([]Expr, len(s))
	for i, ext := range s {
		n := fmt.Sprintf("i%d", i)
		if len(axisNames) != 0 {
			n = axisNames[i]
		}
		iv := &IterVar{Var: &Var{Name: n}, Min: &IntImm{Value: 0, T: Index}, Extent: ext, Kind: DataPar, owner: t}
		t.Axis = append(t.Axis, iv)
		axes[i] = iv.Var
	}
	b := body(axes)
	if b == nil {
		return nil, fmt.Errorf("compute %s: the body is missing", name)
	}
	if err := Error(b); err != nil {
		return nil, fmt.Errorf("compute %s: %w", name, err)
	}
	if b.Type().IsUntyped() {
		b = convertConst(b, b.Type().Default())
	}
	if err := t.setBody(b); err != nil {
		return nil, fmt.Errorf("compute %s: %w", name, err)
	}
	if err := checkBytes("compute "+name, s, t.DType); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tensor) setBody(b Expr) error {
	var reduceAxes []*IterVar
	if r, ok := b.(*Reduce); ok {
		for _, iv := range r.Axes {
			if iv.owner != nil && iv.owner != t {
				return fmt.Errorf("reduce axis %s already belongs to %s; make a new reduce_axis for each compute", iv.Var.Name, iv.owner.Name)
			}
		}
		reduceAxes = r.Axes
	}
	if !isScalar(b.Type()) {
		return fmt.Errorf("the body has type %v, which a tensor cannot hold", b.Type())
	}
	bound := map[*Var]bool{}
	for _, iv := range append(append([]*IterVar{}, t.Axis...), reduceAxes...) {
		bound[iv.Var] = true
	}
	var err error
	Walk(b, func(x Expr) bool {
		switch x := x.(type) {
		case *Reduce:
			if x != b {
				err = fmt.Errorf("%s(...) must be the whole body of a compute, not part of an expression; compute it in a stage of its own", x.Op)
			}
		case *Var:
			if !x.size && !bound[x] {
				err = fmt.Errorf("axis %q does not belong to this compute", x.Name)
			}
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	for _, iv := range reduceAxes {
		iv.owner = t
	}
	t.ReduceAxis, t.Body, t.DType = reduceAxes, b, b.Type()
	return nil
}

// ReduceOf builds a reduction of body over axes; it must be the whole body of a compute.
func ReduceOf(op ReduceOp, body Expr, axes ...*IterVar) Expr {
	if bad := firstBad(body); bad != nil {
		return bad
	}
	if len(axes) == 0 {
		return badf("%s needs at least one reduce axis (axis=k)", op)
	}
	seen := map[*IterVar]bool{}
	for _, iv := range axes {
		if iv == nil || iv.Kind != Reduction {
			return badf("%s: axis= takes reduce axes made with reduce_axis", op)
		}
		if seen[iv] {
			return badf("%s: reduce axis %s is listed twice", op, iv.Var.Name)
		}
		seen[iv] = true
		if err := onlySizeVars(iv.Min); err != nil {
			return &Bad{Err: fmt.Errorf("reduce axis %s: %w", iv.Var.Name, err)}
		}
		if err := onlySizeVars(iv.Extent); err != nil {
			return &Bad{Err: fmt.Errorf("reduce axis %s: %w", iv.Var.Name, err)}
		}
	}
	t := body.Type()
	if t.IsUntyped() {
		body = convertConst(body, t.Default())
		t = body.Type()
	}
	if !t.IsNumeric() {
		return badf("%s is not defined on %v; it reduces numbers", op, t)
	}
	return &Reduce{Op: op, Body: body, Axes: axes}
}

// ReduceWhere is a reduction with a condition, TVM's te.sum(body, axis,
// where=cond): the points where cond is false contribute op's identity
// (0, or the type's largest or smallest value, +inf or -inf for floats), so
// a reduction whose condition is never true gives the identity. It is
// built as ReduceOf(op, if_then_else(cond, body, identity), axes...): the
// body is not evaluated where cond is false (cond may guard reads outside
// a tensor, as in TVM), and evaluation, lowering and code generation treat
// it as any reduction body.
func ReduceWhere(op ReduceOp, body, cond Expr, axes ...*IterVar) Expr {
	if bad := firstBad(body, cond); bad != nil {
		return bad
	}
	if !cond.Type().IsBool() {
		return badf("%s: where= takes a bool condition, not %v (compare, e.g. k <= i)", op, cond.Type())
	}
	if body.Type().IsUntyped() {
		body = convertConst(body, body.Type().Default())
	}
	if !body.Type().IsNumeric() {
		return ReduceOf(op, body, axes...) // its error
	}
	return ReduceOf(op, IfThenElse(cond, body, op.Identity(body.Type())), axes...)
}

// DropUnitReduction rewrites t when its body is an integer reduction over
// one element (every reduce axis of extent 1): the element itself, read at
// the axes' minimums, which makes t injective, so that a consumer can
// inline it (a network's shortcut that sums over BITS=1 bit planes). It
// reports whether it did; float reductions are left (0 + -0.0 is +0.0).
func (t *Tensor) DropUnitReduction() bool {
	r, ok := t.Body.(*Reduce)
	if !ok || !r.Body.Type().IsInteger() {
		return false
	}
	at := map[*Var]Expr{}
	for _, iv := range r.Axes {
		if n, ok := IntValue(iv.Extent); !ok || n != 1 {
			return false
		}
		at[iv.Var] = iv.Min
	}
	t.Body, t.ReduceAxis = Substitute(r.Body, at), nil
	return true
}

// Combiner is the binary operation a reduction folds with: the accumulator
// is always its left operand.
func (op ReduceOp) Combiner() BinOp { return [...]BinOp{Sum: Add, ReduceMin: Min, ReduceMax: Max}[op] }

// Identity is the neutral element of op for type t, as a constant.
func (op ReduceOp) Identity(t DType) Expr {
	switch op {
	case Sum:
		if t.IsFloat() {
			return &FloatImm{Value: 0, T: t}
		}
		return &IntImm{Value: 0, T: t}
	case ReduceMin:
		if t.IsFloat() {
			return &FloatImm{Value: math.Inf(1), T: t}
		}
		if t.Kind == KindUInt && t.Bits == 64 {
			return &IntImm{Value: -1, T: t} // all ones
		}
		return &IntImm{Value: t.MaxInt(), T: t}
	default:
		if t.IsFloat() {
			return &FloatImm{Value: math.Inf(-1), T: t}
		}
		return &IntImm{Value: t.MinInt(), T: t}
	}
}

// Walk calls f on e and its sub-expressions, parents first, descending into a
// node's children only when f returns true.
func Walk(e Expr, f func(Expr) bool) {
	if e == nil || !f(e) {
		return
	}
	switch e := e.(type) {
	case *Binary:
		Walk(e.A, f)
		Walk(e.B, f)
	case *Unary:
		Walk(e.X, f)
	case *Cast:
		Walk(e.X, f)
	case *Select:
		Walk(e.Cond, f)
		Walk(e.True, f)
		Walk(e.False, f)
	case *Read:
		for _, i := range e.Indices {
			Walk(i, f)
		}
	case *Reduce:
		Walk(e.Body, f)
	case Composite:
		for _, c := range e.Children() {
			Walk(c, f)
		}
	}
}

// Inputs returns the tensors t reads directly, in first-use order.
func (t *Tensor) Inputs() []*Tensor {
	var out []*Tensor
	seen := map[*Tensor]bool{}
	Walk(t.Body, func(x Expr) bool {
		if r, ok := x.(*Read); ok && !seen[r.Tensor] {
			seen[r.Tensor] = true
			out = append(out, r.Tensor)
		}
		return true
	})
	return out
}

// PostOrder returns every tensor the outputs depend on, producers before
// consumers, each once.
func PostOrder(outputs []*Tensor) []*Tensor {
	var order []*Tensor
	seen := map[*Tensor]bool{}
	var visit func(t *Tensor)
	visit = func(t *Tensor) {
		if seen[t] {
			return
		}
		seen[t] = true
		for _, in := range t.Inputs() {
			visit(in)
		}
		order = append(order, t)
	}
	for _, t := range outputs {
		visit(t)
	}
	return order
}

// SizeVars returns the symbolic dimensions the tensors use, in first-use order.
func SizeVars(tensors []*Tensor) []*Var {
	var out []*Var
	seen := map[*Var]bool{}
	add := func(e Expr) {
		Walk(e, func(x Expr) bool {
			if v, ok := x.(*Var); ok && v.size && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
			return true
		})
	}
	for _, t := range tensors {
		for _, s := range t.Shape {
			add(s)
		}
		for _, iv := range t.ReduceAxis {
			add(iv.Min)
			add(iv.Extent)
		}
		add(t.Body)
	}
	return out
}

// Kernel is a callable unit: input tensors, output tensors and symbolic
// dimensions, in argument order.
type Kernel struct {
	Name    string
	Inputs  []*Tensor
	Outputs []*Tensor
	Params  []*Var
	// ParamPos places each param among the inputs in the kernel's C
	// signature, as it was declared: param j comes right before input
	// ParamPos[j] (len(Inputs): after every input). The outputs follow.
	// NewKernel puts every param after the inputs.
	ParamPos []int
}

// NewKernel checks a signature: every placeholder the outputs read is an
// input, outputs are computes, nothing is listed twice. Symbolic dimensions
// not named in params are appended in first-use order.
func NewKernel(name string, inputs, outputs []*Tensor, params []*Var) (*Kernel, error) {
	if !IsIdentifier(name) {
		// the generated function and its C header carry this name
		return nil, fmt.Errorf("kernel name %q: a kernel is named like a C function: a letter or _, then letters, digits or _", name)
	}
	if len(outputs) == 0 {
		return nil, fmt.Errorf("kernel %s has no outputs", name)
	}
	listed := map[*Tensor]string{}
	for _, t := range inputs {
		if !t.IsPlaceholder() {
			return nil, fmt.Errorf("kernel %s: argument %s is computed, not a placeholder; list it after ->", name, t.Name)
		}
		if listed[t] != "" {
			return nil, fmt.Errorf("kernel %s: %s is listed twice", name, t.Name)
		}
		listed[t] = "input"
	}
	for _, t := range outputs {
		if t.IsPlaceholder() {
			return nil, fmt.Errorf("kernel %s: output %s is a placeholder; outputs must be computed", name, t.Name)
		}
		if listed[t] != "" {
			return nil, fmt.Errorf("kernel %s: %s is listed twice", name, t.Name)
		}
		listed[t] = "output"
	}
	all := PostOrder(outputs)
	var missing []string
	for _, t := range all {
		if t.IsPlaceholder() && listed[t] == "" {
			missing = append(missing, t.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("kernel %s: the outputs read placeholders that are not arguments: %v", name, missing)
	}
	seen := map[*Var]bool{}
	ps := []*Var{}
	for _, v := range params {
		if !v.size {
			return nil, fmt.Errorf("kernel %s: %s is not a symbolic dimension", name, v.Name)
		}
		if seen[v] {
			return nil, fmt.Errorf("kernel %s: %s is listed twice", name, v.Name)
		}
		seen[v] = true
		ps = append(ps, v)
	}
	for _, v := range SizeVars(append(append([]*Tensor{}, inputs...), all...)) {
		if !seen[v] {
			seen[v] = true
			ps = append(ps, v)
		}
	}
	pos := make([]int, len(ps))
	for j := range pos {
		pos[j] = len(inputs)
	}
	return &Kernel{Name: name, Inputs: inputs, Outputs: outputs, Params: ps, ParamPos: pos}, nil
}

// ErrUndefined marks evaluation errors caused by operations whose result the
// language leaves undefined (division by zero, out-of-range shifts, ...).
var ErrUndefined = errors.New("undefined behaviour")

// IsIdentifier reports whether s is a name of the language (and of C): a
// letter or _, then letters, digits or _.
func IsIdentifier(s string) bool {
	for i, r := range s {
		letter := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}
