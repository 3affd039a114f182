package tests

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// The reference evaluator compiles expressions into specialized closures,
// affine reads and reductions checked once per element (te/eval*.go). These
// tests hold it to a deliberately plain tree-walking interpreter, written
// from the semantics functions alone: equal bit for bit on every example,
// network and random program, and the same error, word for word, where an
// operation is undefined.

// walkValue is a value of the tree walker: integers canonical, floats rounded.
type walkValue struct {
	i int64
	f float64
}

type walker struct {
	env  map[*te.Var]int64
	bufs map[*te.Tensor]*te.Buffer
}

type walkError struct{ err error }

func (w *walker) fail(err error) { panic(walkError{err}) }

func (w *walker) eval(e te.Expr) walkValue {
	switch e := e.(type) {
	case *te.IntImm:
		return walkValue{i: e.Value}
	case *te.FloatImm:
		return walkValue{f: e.Value}
	case *te.Var:
		v, ok := w.env[e]
		if !ok {
			w.fail(fmt.Errorf("variable %s has no value", e.Name))
		}
		return walkValue{i: v}
	case *te.Read:
		b := w.bufs[e.Tensor]
		idx := make([]int64, len(e.Indices))
		off := int64(0)
		for d, x := range e.Indices {
			idx[d] = w.eval(x).i
			if idx[d] < 0 || idx[d] >= int64(b.Shape[d]) {
				for j := d + 1; j < len(idx); j++ {
					idx[j] = w.eval(e.Indices[j]).i
				}
				w.fail(fmt.Errorf("%w: read of %s%v is out of bounds (shape %v)", te.ErrUndefined, e.Tensor.Name, idx, b.Shape))
			}
			off = off*int64(b.Shape[d]) + idx[d]
		}
		if b.DType.IsFloat() {
			return walkValue{f: b.Floats[off]}
		}
		return walkValue{i: b.Ints[off]}
	case *te.Cast:
		from, x := e.X.Type(), w.eval(e.X)
		switch {
		case from.IsFloat() && e.T.IsFloat():
			return walkValue{f: te.RoundTo(e.T, x.f)}
		case from.IsFloat():
			v, err := te.FloatToInt(e.T, x.f)
			if err != nil {
				w.fail(err)
			}
			return walkValue{i: v}
		case e.T.IsFloat():
			return walkValue{f: te.IntToFloat(e.T, from, x.i)}
		}
		return walkValue{i: te.IntToInt(e.T, x.i)}
	case *te.Select:
		if e.Lazy {
			if w.eval(e.Cond).i != 0 {
				return w.eval(e.True)
			}
			return w.eval(e.False)
		}
		c, a, b := w.eval(e.Cond), w.eval(e.True), w.eval(e.False)
		if c.i != 0 {
			return a
		}
		return b
	case *te.Unary:
		x := w.eval(e.X)
		if e.X.Type().IsFloat() {
			return walkValue{f: te.FloatUnary(e.Op, e.X.Type(), x.f)}
		}
		return walkValue{i: te.IntUnary(e.Op, e.X.Type(), x.i)}
	case *te.Binary:
		ot := e.A.Type()
		switch {
		case e.Op == te.And || e.Op == te.Or:
			a := w.eval(e.A).i
			if (e.Op == te.And) == (a == 0) {
				return walkValue{i: a}
			}
			return w.eval(e.B)
		case ot.IsFloat() && e.Op.IsComparison():
			a, b := w.eval(e.A), w.eval(e.B)
			if te.FloatCompare(e.Op, a.f, b.f) {
				return walkValue{i: 1}
			}
			return walkValue{i: 0}
		case ot.IsFloat():
			a, b := w.eval(e.A), w.eval(e.B)
			return walkValue{f: te.FloatBinary(e.Op, e.T, a.f, b.f)}
		}
		a, b := w.eval(e.A), w.eval(e.B)
		var v int64
		var err error
		if e.Op == te.Shl || e.Op == te.Shr {
			v, err = te.Shift(e.Op, e.T, a.i, e.B.Type(), b.i)
		} else {
			v, err = te.IntBinary(e.Op, ot, a.i, b.i)
		}
		if err != nil {
			w.fail(err)
		}
		return walkValue{i: v}
	}
	w.fail(fmt.Errorf("cannot evaluate %s", te.ExprString(e)))
	return walkValue{}
}

// element computes one element of t at the environment's axes.
func (w *walker) element(t *te.Tensor) walkValue {
	red, ok := t.Body.(*te.Reduce)
	if !ok {
		return w.eval(t.Body)
	}
	acc := red.Op.Identity(t.DType)
	var v walkValue
	if f, ok := acc.(*te.FloatImm); ok {
		v.f = f.Value
	} else {
		v.i = acc.(*te.IntImm).Value
	}
	var loop func(d int)
	loop = func(d int) {
		if d == len(red.Axes) {
			x := w.eval(red.Body)
			if t.DType.IsFloat() {
				v.f = te.FloatBinary(red.Op.Combiner(), t.DType, v.f, x.f)
			} else {
				v.i, _ = te.IntBinary(red.Op.Combiner(), t.DType, v.i, x.i)
			}
			return
		}
		iv := red.Axes[d]
		lo, ext := w.eval(iv.Min).i, w.eval(iv.Extent).i
		for k := lo; k < lo+ext; k++ {
			w.env[iv.Var] = k
			loop(d + 1)
		}
	}
	loop(0)
	return v
}

// walkEvaluate is te.Evaluate by the tree walker, one element at a time in
// row-major order; an error names the first element that fails.
func walkEvaluate(outputs []*te.Tensor, inputs map[*te.Tensor]*te.Buffer, sizes map[*te.Var]int64) (res map[*te.Tensor]*te.Buffer, err error) {
	w := &walker{env: map[*te.Var]int64{}, bufs: map[*te.Tensor]*te.Buffer{}}
	for v, x := range sizes {
		w.env[v] = x
	}
	var cur *te.Tensor
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(walkError)
			if !ok {
				panic(r)
			}
			parts := make([]string, len(cur.Axis))
			for i, iv := range cur.Axis {
				parts[i] = fmt.Sprintf("%s=%d", iv.Var.Name, w.env[iv.Var])
			}
			err = fmt.Errorf("computing %s at (%s): %w", cur.Name, strings.Join(parts, ", "), e.err)
		}
	}()
	for _, t := range te.PostOrder(outputs) {
		if t.IsPlaceholder() {
			w.bufs[t] = inputs[t]
			continue
		}
		shape, err := te.ShapeOf(t, sizes)
		if err != nil {
			return nil, err
		}
		cur = t
		out := te.NewBuffer(t.DType, shape)
		for flat := range out.Len() {
			rest := flat
			for d := len(shape) - 1; d >= 0; d-- {
				w.env[t.Axis[d].Var] = int64(rest % shape[d])
				rest /= shape[d]
			}
			v := w.element(t)
			if t.DType.IsFloat() {
				out.Floats[flat] = v.f
			} else {
				out.Ints[flat] = v.i
			}
		}
		w.bufs[t] = out
	}
	res = map[*te.Tensor]*te.Buffer{}
	for _, t := range outputs {
		res[t] = w.bufs[t]
	}
	return res, nil
}

// sameBits compares two buffers bit for bit (a NaN's payload included).
func sameBits(a, b *te.Buffer) string {
	if a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) {
		return fmt.Sprintf("%v%v against %v%v", a.DType, a.Shape, b.DType, b.Shape)
	}
	for i := range a.Len() {
		if a.Floats != nil && math.Float64bits(a.Floats[i]) != math.Float64bits(b.Floats[i]) {
			return fmt.Sprintf("element %d: %v against %v", i, a.Floats[i], b.Floats[i])
		}
		if a.Ints != nil && a.Ints[i] != b.Ints[i] {
			return fmt.Sprintf("element %d: %d against %d", i, a.Ints[i], b.Ints[i])
		}
	}
	return ""
}

// diffProgram evaluates a program both ways on seeded inputs, every tensor
// it computes (not only the outputs), and compares results or errors.
func diffProgram(t *testing.T, name string, src []byte, defines map[string]int64, seed uint64) error {
	t.Helper()
	p, err := dsl.ParseWith(name, src, dsl.Options{Defines: defines})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sizes, err := p.SizeValues(nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	in, _, err := tensorio.Inputs(p.Kernel, sizes, "", seed)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	inputs := map[*te.Tensor]*te.Buffer{}
	for i, x := range p.Kernel.Inputs {
		inputs[x] = in[i]
	}
	var all []*te.Tensor
	for _, x := range te.PostOrder(p.Kernel.Outputs) {
		if !x.IsPlaceholder() {
			all = append(all, x)
		}
	}
	got, gotErr := te.Evaluate(all, inputs, sizes)
	want, wantErr := walkEvaluate(all, inputs, sizes)
	if gotErr != nil || wantErr != nil {
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || errors.Is(gotErr, te.ErrUndefined) != errors.Is(wantErr, te.ErrUndefined) {
			t.Fatalf("%s: error\n  evaluator:   %v\n  tree walker: %v", name, gotErr, wantErr)
		}
		return gotErr
	}
	for _, x := range all {
		if msg := sameBits(got[x], want[x]); msg != "" {
			t.Fatalf("%s: tensor %s differs: %s (evaluator against tree walker)", name, x.Name, msg)
		}
	}
	return nil
}

func TestEvalDiffExamples(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.te")
	files = append(files, "../examples/networks/binary_tiny.te")
	if !testing.Short() {
		// the networks at their smallest size (IMAGE must be a multiple of 32)
		files = append(files, "../examples/networks/resnet18.te", "../examples/networks/squeezenet.te")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var defines map[string]int64
			if strings.Contains(string(src), "IMAGE = ") {
				defines = map[string]int64{"IMAGE": 32}
			}
			diffProgram(t, f, src, defines, 5)
		})
	}
}

func TestEvalDiffRandomPrograms(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 60
	}
	for i := range n {
		c := generate(20261130, i)
		for j, src := range c.sources {
			diffProgram(t, fmt.Sprintf("random %d/%d (%s)", i, j, c.kind), []byte(src), nil, uint64(i))
		}
	}
}

// Programs the random generator avoids: every dtype's wrapping, shifts,
// divisions by constants of both signs, casts, NaN from float operations,
// and undefined operations (the first failing element and the same message).
var evalDiffPrograms = map[string]string{
	"ops": `
A = placeholder((6, 7), int8, range=(-128, 127))
B = placeholder((6, 7), uint8, range=(0, 255))
F = placeholder((6, 7), float32, range=(-3, 3))
S = compute((6, 7), (i, j) => cast(int16, A[i, j]) * 300 + cast(int16, B[i, j]) - (cast(int16, A[i, j]) << 3))
U = compute((6, 7), (i, j) => (B[i, j] >> 3) + (B[i, j] << 2) * B[i, j] - ~B[i, j] + popcount(B[i, j]) + B[i, j] / 7 + B[i, j] % 5)
D = compute((6, 7), (i, j) => A[i, j] / -3 + A[i, j] % -3 + floordiv(A[i, j], -4) + floormod(A[i, j], 5) + floordiv(A[i, j], 3) + abs(A[i, j]) - min(A[i, j], cast(int8, j)) + max(-A[i, j], 2))
H = compute((6, 7), (i, j) => cast(int64, A[i, j]) * 1000000007 * 1000000007 + (cast(int64, A[i, j]) << 60) + cast(int64, cast(uint32, B[i, j]) * 4000000000 > 5 && A[i, j] != 0 || B[i, j] == 3))
V = compute((6, 7), (i, j) => (A[i, j] >> cast(uint8, j)) + cast(int8, B[i, j] << cast(int32, i)))
G = compute((6, 7), (i, j) => sqrt(F[i, j]) + log2(F[i, j]) * exp(F[i, j]) + round(F[i, j] * 2.5) + floor(F[i, j]) / (F[i, j] - F[i, j]))
M = compute((6,), (i) => max(G[i, 0], G[i, 1]) + min(F[i, 2], -F[i, 2]) + cast(float32, cast(int32, F[i, 3] * 100.0)) + cast(float32, B[i, 4]) + cast(float32, select(F[i, 5] < 0.0, 1, 2)))
k = reduce_axis(0, 7)
R = compute((6,), (i) => sum(cast(float64, F[i, k]) * 0.1, axis=k))
R2 = compute((6,), (i) => max(F[i, k] * 3.0, axis=k))
R3 = compute((6,), (i) => sum(G[i, k] * F[i, k] + log2(F[i, k]), axis=k))
R4 = compute((6,), (i) => sum(cast(float32, 1 << cast(int32, i + k)) / (F[i, k] - F[i, 6 - k]), axis=k))
Q = compute((6,), (i) => min(cast(int32, A[i, k]) * cast(int32, B[i, k]), axis=k))
Q2 = compute((6,), (i) => sum(cast(int32, popcount(A[i, k] ^ cast(int8, B[i, k]))), axis=k))
kernel ops(A, B, F) -> (S, U, D, H, V, M, R, Q, R2, Q2, R3, R4)
`,
	"out of bounds in a reduction, at some elements": `
A = placeholder((10,), int32)
k = reduce_axis(0, 5)
S = compute((8,), (i) => sum(A[i + k], axis=k))
kernel f(A) -> S
`,
	"out of bounds under a guard": `
A = placeholder((10,), float32)
k = reduce_axis(0, 5)
S = compute((8,), (i) => sum(if_then_else(i + k < 10, A[i + k], 0.0), axis=k))
T = compute((12,), (i) => if_then_else(i < 10, A[i], 1.0))
kernel f(A) -> (S, T)
`,
	"division by zero before the read out of bounds": `
A = placeholder((10,), int32, range=(0, 3))
k = reduce_axis(0, 5)
S = compute((8,), (i) => sum(A[k] / A[i] + A[i + k], axis=k))
kernel f(A) -> S
`,
	"out of bounds, a packed index": `
A = placeholder((4, 16), float32)
k = reduce_axis(0, 4)
S = compute((5, 16), (i, j) => sum(A[j / 16 + i, k * 4 + j % 4], axis=k))
kernel f(A) -> S
`,
	"out of bounds, elementwise": `
A = placeholder((4, 5), uint8)
S = compute((4, 6), (i, j) => A[i, j] + 1)
kernel f(A) -> S
`,
	"shift out of range": `
A = placeholder((8,), int16)
S = compute((8, 20), (i, j) => A[i] << cast(int16, j))
kernel f(A) -> S
`,
	"shift out of range in a reduction": `
A = placeholder((5,), int16)
k = reduce_axis(0, 5)
S = compute((4,), (i) => sum(A[k] << cast(int16, i * 5 + k), axis=k))
kernel f(A) -> S
`,
	"undefined operations under a guard in a reduction": `
A = placeholder((5,), int16)
F = placeholder((5,), float32, range=(-300, 300))
k = reduce_axis(0, 5)
S = compute((4,), (i) => sum(if_then_else(i * 5 + k < 16, A[k] << cast(int16, i * 5 + k), cast(int16, 0)), axis=k))
T = compute((4,), (i) => sum(if_then_else(F[k] > -100.0 && F[k] < 100.0, cast(int8, F[k]), cast(int8, i)), axis=k))
kernel f(A, F) -> (S, T)
`,
	"cast of a value out of range": `
A = placeholder((8,), float32, range=(-300, 300))
S = compute((8,), (i) => cast(int8, A[i]))
kernel f(A) -> S
`,
	"indirect read": `
I = placeholder((6,), int64, range=(0, 7))
A = placeholder((8, 3), float64)
k = reduce_axis(0, 3)
S = compute((6,), (i) => sum(A[I[i], k] * A[I[5 - i], 2 - k], axis=k))
kernel f(I, A) -> S
`,
}

func TestEvalDiffPrograms(t *testing.T) {
	for name, src := range evalDiffPrograms {
		t.Run(name, func(t *testing.T) {
			failed := false
			for seed := range uint64(5) {
				if err := diffProgram(t, name, []byte(src), nil, seed); err != nil {
					t.Logf("seed %d: %v", seed, err)
					failed = true
				}
			}
			// the programs named for an undefined operation must meet it
			if wantFail := !strings.Contains(name, "guard") && name != "ops" && name != "indirect read"; failed != wantFail {
				t.Errorf("failed: %v, want %v", failed, wantFail)
			}
		})
	}
}
