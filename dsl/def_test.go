package dsl

// Tests of def blocks: a program with defs elaborates to the same te graph
// as the program written out flat (same tensors, names, bodies, kernel and
// schedules, and the same values from the reference evaluator), and every
// misuse is reported at its position, with the call that expanded the body.

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// evalProgram evaluates p's kernel on seeded random inputs.
func evalProgram(t *testing.T, p *Program) []*te.Buffer {
	t.Helper()
	sizes, err := p.SizeValues(nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := tensorio.Inputs(p.Kernel, sizes, "", 7)
	if err != nil {
		t.Fatal(err)
	}
	out, err := te.EvalKernel(p.Kernel, in, sizes)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDefExpandsLikeFlat(t *testing.T) {
	tests := []struct {
		name, withDefs, flat string
	}{
		{
			name: "binary basic blocks (the README's example), two calls and a one-result def",
			withDefs: `H = 6
X0 = placeholder((1, H, H, 1, 2), uint8)
R0 = placeholder((1, H, H, 16), int16, range=(-20, 20))

def basic_block(x, r, c, stride) {
    W1 = placeholder((3, 3, 1, (c + 7) / 8, c), uint8)     # a weight: gets the call's prefix
    a = bitserial_conv2d(x, W1, layout=NHWC, stride=stride, padding=1, polarity=bipolar, channels=c, out=int16)
    s = add(a, r)
    return a, s
}
def sum_of(a, b) {
    s = add(a, b)
    return s
}
b1, s1 = basic_block(X0, R0, 16, 1)
b2, s2 = basic_block(X0, s1, 8 * 2, 1)
y = sum_of(b2, s2)
kernel net(X0, R0, b1_W1, b2_W1) -> (y, b1)
schedule b2_a_acc {
    reorder(ry, rx, ab, wb, rc, oc)
    vectorize(oc)
}
`,
			flat: `H = 6
X0 = placeholder((1, H, H, 1, 2), uint8)
R0 = placeholder((1, H, H, 16), int16, range=(-20, 20))
b1_W1 = placeholder((3, 3, 1, 2, 16), uint8)
b1_a = bitserial_conv2d(X0, b1_W1, layout=NHWC, stride=1, padding=1, polarity=bipolar, channels=16, out=int16)
b1_s = add(b1_a, R0)
b2_W1 = placeholder((3, 3, 1, 2, 16), uint8)
b2_a = bitserial_conv2d(X0, b2_W1, layout=NHWC, stride=1, padding=1, polarity=bipolar, channels=16, out=int16)
b2_s = add(b2_a, b1_s)
y_s = add(b2_a, b2_s)
kernel net(X0, R0, b1_W1, b2_W1) -> (y_s, b1_a)
schedule b2_a_acc {
    reorder(ry, rx, ab, wb, rc, oc)
    vectorize(oc)
}
`,
		},
		{
			name: "nested calls compose prefixes; local constants, computes and reductions",
			withDefs: `N = 8
SCALE = 3
X = placeholder((N,), int32, range=(-9, 9))

def scale(v, k) {
    W = placeholder((k,), int32, range=(-4, 4))
    m = k * SCALE                   # a local constant over a file constant
    y = compute((k,), (i) => v[i] * W[i] + m)
    return y
}
def two(v, k) {
    inner = scale(v, k)
    outer = scale(inner, k)
    r = reduce_axis(0, k)
    t = compute((1,), (i) => sum(outer[r], axis=r))
    return t, outer
}
b1, o1 = two(X, N)
kernel nest(X, b1_inner_W, b1_outer_W) -> (b1, o1)
schedule b1_outer_y {
    yo, yi = split(i, factor=4)
}
`,
			flat: `N = 8
SCALE = 3
X = placeholder((N,), int32, range=(-9, 9))
b1_inner_W = placeholder((N,), int32, range=(-4, 4))
b1_inner_y = compute((N,), (i) => X[i] * b1_inner_W[i] + 24)
b1_outer_W = placeholder((N,), int32, range=(-4, 4))
b1_outer_y = compute((N,), (i) => b1_inner_y[i] * b1_outer_W[i] + 24)
r = reduce_axis(0, N)
b1_t = compute((1,), (i) => sum(b1_outer_y[r], axis=r))
kernel nest(X, b1_inner_W, b1_outer_W) -> (b1_t, b1_outer_y)
schedule b1_outer_y {
    yo, yi = split(i, factor=4)
}
`,
		},
		{
			name: "keyword arguments, symbolic dims, a def after its call, a returned constant",
			withDefs: `n = var(default=5)
A = placeholder((n, 4), float32)
y, w = pad_rows(p=2, a=A, rows=n + 1)
def pad_rows(a, rows, p) {
    width = 4 + p
    y = compute((rows, width), (i, j) => if_then_else(i < rows - 1 && j < 4, a[i, j], 0.0))
    return y, width
}
B = compute((n + 1, w), (i, j) => y[i, j] * 2.0)
kernel pad(A) -> B
`,
			flat: `n = var(default=5)
A = placeholder((n, 4), float32)
y_y = compute((n + 1, 6), (i, j) => if_then_else(i < n + 1 - 1 && j < 4, A[i, j], 0.0))
B = compute((n + 1, 6), (i, j) => y_y[i, j] * 2.0)
kernel pad(A) -> B
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, "defs.te", tc.withDefs)
			q := mustParse(t, "flat.te", tc.flat)
			if d := cmpDiff(summarize(q), summarize(p)); d != "" {
				t.Errorf("the expanded program differs from the flat one (-flat +defs):\n%s", d)
			}
			if d := cmpDiff(evalProgram(t, q), evalProgram(t, p)); d != "" {
				t.Errorf("outputs differ (-flat +defs):\n%s", d)
			}
			// every expanded tensor is declared in the def's body
			for _, x := range p.Tensors {
				if pos := p.Decls[x]; pos.Line < 1 || pos.Filename != "defs.te" {
					t.Errorf("%s declared at %v", x.Name, pos)
				}
			}
		})
	}
}

// The same def called many times, as in a network: every call has its own
// weights and stages, named by its prefix, and the kernel can name them.
func TestDefManyCalls(t *testing.T) {
	var b strings.Builder
	b.WriteString("X = placeholder((4,), int32)\ndef layer(x) {\n    W = placeholder((4,), int32)\n    y = compute((4,), (i) => x[i] + W[i])\n    return y\n}\n")
	prev := "X"
	var ws []string
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&b, "l%d = layer(%s)\n", i, prev)
		prev = fmt.Sprintf("l%d", i)
		ws = append(ws, fmt.Sprintf("l%d_W", i))
	}
	fmt.Fprintf(&b, "kernel chain(X, %s) -> %s\n", strings.Join(ws, ", "), prev)
	p := mustParse(t, "many.te", b.String())
	if got := len(p.Tensors); got != 41 {
		t.Errorf("%d tensors, want 41", got)
	}
	if out := p.Kernel.Outputs[0].Name; out != "l20_y" {
		t.Errorf("output %s, want l20_y", out)
	}
	in := make([]*te.Buffer, 21)
	for i := range in {
		in[i] = te.NewBuffer(te.Int32, []int{4})
		for j := range in[i].Ints {
			in[i].Ints[j] = int64(i + j)
		}
	}
	out, err := te.EvalKernel(p.Kernel, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	// X[j] + sum over i of (i + j)
	want := []int64{210, 231, 252, 273}
	if !slices.Equal(out[0].Ints, want) {
		t.Errorf("got %v, want %v", out[0].Ints, want)
	}
}

// Existing names that only look like def syntax keep their meaning.
func TestDefWordsStayNames(t *testing.T) {
	p := mustParse(t, "words.te", "def = 3\nreturn = def + 1\nA = placeholder((return,), int8)\nB = compute((return,), (i) => A[i])\nkernel f(A) -> B\n")
	if got := te.ShapeString(p.Tensor("B").Shape); got != "(4,)" {
		t.Errorf("shape %s, want (4,)", got)
	}
}

// exactErr is an error with its exact message.
type exactErr struct {
	line, col int
	msg       string
}

func checkExact(t *testing.T, file, src string, want []exactErr) {
	t.Helper()
	_, err := Parse(file, []byte(src))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T), want an ErrorList", err, err)
	}
	var got []exactErr
	for _, e := range list {
		got = append(got, exactErr{e.Pos.Line, e.Pos.Column, e.Msg})
	}
	if d := cmp3(want, got); d != "" {
		t.Fatalf("errors (-want +got):\n%s\nfull error:\n%v", d, err)
	}
	// the layout: position, source line, caret
	var w []wantErr
	for _, e := range want {
		w = append(w, wantErr{e.line, e.col, "", e.msg})
	}
	checkErrors(t, file, src, err, w)
}

func cmp3(want, got []exactErr) string {
	type row struct {
		Line, Col int
		Msg       string
	}
	conv := func(l []exactErr) []row {
		var out []row
		for _, e := range l {
			out = append(out, row{e.line, e.col, e.msg})
		}
		return out
	}
	return cmpDiff(conv(want), conv(got))
}

// head declares two tensors and a def that uses all its parameters.
const defHead = `X = placeholder((4,), int32)
Y = placeholder((4,), int32)
def f(x, c) {
    W = placeholder((c,), int32)
    y = compute((c,), (i) => x[i] + W[i])
    return y
}
`

func TestDefErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []exactErr
	}{
		{"unknown def with several targets",
			defHead + "a, b = g(X, 4)\nkernel k(X) -> a\n",
			[]exactErr{{8, 8, `unknown def "g"; did you mean "f"?`}}},
		{"unknown function with one target suggests defs",
			defHead + "a = ff(X, 4)\nkernel k(X) -> a\n",
			[]exactErr{{8, 5, `unknown function "ff"; did you mean "f"?`}}},
		{"too few arguments",
			defHead + "a = f(X)\nkernel k(X) -> a\n",
			[]exactErr{{8, 5, "f takes 2 arguments, got 1; it is called as f(x, c)"}}},
		{"too many arguments",
			defHead + "a = f(X, 4, 5)\nkernel k(X) -> a\n",
			[]exactErr{{8, 5, "f takes 2 arguments, got 3; it is called as f(x, c)"}}},
		{"unknown keyword",
			defHead + "a = f(X, cc=4)\nkernel k(X) -> a\n",
			[]exactErr{{8, 10, `f has no parameter "cc"; did you mean "c"?; it is called as f(x, c)`}}},
		{"keyword given twice",
			defHead + "a = f(X, c=4, c=4)\nkernel k(X) -> a\n",
			[]exactErr{{8, 15, `argument "c" is given twice`}}},
		{"missing keyword",
			defHead + "a = f(c=4)\nkernel k(X) -> a\n",
			[]exactErr{{8, 5, "f is called without x; it is called as f(x, c)"}}},
		{"positional after keyword",
			defHead + "a = f(c=4, X)\nkernel k(X) -> a\n",
			[]exactErr{{8, 12, "positional argument after a keyword argument in f(x, c)"}}},
		{"a float argument",
			defHead + "a = f(X, 1.5)\nkernel k(X) -> a\n",
			[]exactErr{{8, 10, "the argument for c of f must be a tensor or an integer constant, not 1.5 (untyped float)"}}},
		{"a reduce axis as an argument",
			defHead + "r = reduce_axis(0, 4)\na = f(X, r)\nkernel k(X, a_W) -> a\n",
			[]exactErr{{9, 10, "reduce axis r can only be used inside a compute"}}},
		{"a symbolic dim and an expression over it are integer arguments",
			defHead + "n = var()\na = f(X, n * 2)\nkernel k(X, a_W, n) -> a\n",
			nil},
		{"a tensor where an integer is needed",
			defHead + "a = f(X, Y)\nkernel k(X, Y) -> a\n",
			[]exactErr{
				{4, 22, "parameter c is the tensor Y in this call; index it (c[...]) or pass an integer constant for it (in f called at t.te:8:5)"},
				{5, 18, "parameter c is the tensor Y in this call; index it (c[...]) or pass an integer constant for it (in f called at t.te:8:5)"}}},
		{"an integer where a tensor is needed (indexed)",
			defHead + "a = f(4, 4)\nkernel k(X) -> a\n",
			[]exactErr{{5, 31, "parameter x is the integer 4 in this call, not a tensor; only tensors can be indexed (in f called at t.te:8:5)"}}},
		{"an integer where a tensor is needed (operator)",
			"X = placeholder((4,), float32)\ndef g(x, r) {\n    s = add(x, r)\n    return s\n}\na = g(X, 3)\nkernel k(X) -> a\n",
			[]exactErr{{3, 16, "parameter r is the integer 3 in this call; add takes tensors as its first 2 arguments (in g called at t.te:6:5)"}}},
		{"direct recursion",
			"X = placeholder((4,), int32)\ndef g(x) {\n    y = g(x)\n    return y\n}\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{3, 9, "g is recursive (g -> g); a def cannot call itself, directly or through other defs (in g called at t.te:6:5)"}}},
		{"indirect recursion",
			"X = placeholder((4,), int32)\ndef g(x) {\n    y = h(x)\n    return y\n}\ndef h(x) {\n    y = g(x)\n    return y\n}\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{7, 9, "g is recursive (g -> h -> g); a def cannot call itself, directly or through other defs (in h called at t.te:3:9, in g called at t.te:10:5)"}}},
		{"a def defined twice",
			defHead + "def f(x, c) {\n    return x\n}\na = f(X, 4)\nkernel k(X, a_W) -> a\n",
			[]exactErr{{8, 5, "def f is already defined at 3:5"}}},
		{"a def named like a built-in",
			"def compute(x) {\n    return x\n}\n",
			[]exactErr{{1, 5, "def compute: compute is a built-in name; name the def differently"}}},
		{"a def named like an operator",
			"def add(x) {\n    return x\n}\n",
			[]exactErr{{1, 5, "def add: add is an operator, called as add(A, B); name the def differently"}}},
		{"an unused parameter",
			"def g(x, stride) {\n    y = compute((4,), (i) => x[i])\n    return y\n}\n",
			[]exactErr{{1, 10, "parameter stride of g is never used; use it or remove it"}}},
		{"a parameter listed twice",
			"def g(x, x) {\n    y = compute((4,), (i) => x[i])\n    return y\n}\n",
			[]exactErr{{1, 10, "parameter x of g is listed twice"}}},
		{"return missing",
			"X = placeholder((4,), int32)\ndef g(x) {\n    y = compute((4,), (i) => x[i])\n}\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{2, 5, "def g has no return; end its body with return NAME, ... (what a call gets)"}}},
		{"return not last",
			"X = placeholder((4,), int32)\ndef g(x) {\n    return y\n    y = compute((4,), (i) => x[i])\n}\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{3, 5, "return must be the last statement of g"}}},
		{"one target for two results",
			"X = placeholder((4,), int32)\ndef g(x) {\n    y = compute((4,), (i) => x[i])\n    z = compute((4,), (i) => x[i])\n    return y, z\n}\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{7, 1, "g returns 2 values (y, z), so the call needs 2 names before =, not 1"}}},
		{"two targets for one result",
			defHead + "a, b = f(X, 4)\nkernel k(X) -> a\n",
			[]exactErr{{8, 1, "f returns 1 value (y), so the call needs 1 name before =, not 2"}}},
		{"an error in the body, reported once for two calls",
			"X = placeholder((4,), int32)\ndef g(x) {\n    y = compute((4,), (i) => x[i] + q)\n    return y\n}\na = g(X)\nb = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{3, 37, `unknown name "q"; did you mean "i"? (in g called at t.te:6:5)`}}},
		{"an error that depends on the call, reported for each",
			"X = placeholder((4,), int32)\ndef g(x, c) {\n    y = compute((c,), (i) => x[i])\n    return y\n}\na = g(X, 0)\nb = g(X, -1)\nkernel k(X) -> a\n",
			[]exactErr{
				{3, 18, "dimension 0 is 0; dimensions must be positive (in g called at t.te:6:5)"},
				{3, 18, "dimension 0 is -1; dimensions must be positive (in g called at t.te:7:5)"}}},
		{"a tensor of the file in a body",
			"X = placeholder((4,), int32)\ndef g(x) {\n    y = compute((4,), (i) => x[i] + X[i])\n    return y\n}\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{3, 37, "X is a tensor of the file; pass it as a parameter (in g called at t.te:6:5)"}}},
		{"a constant declared after the call",
			"X = placeholder((4,), int32)\ndef g(x) {\n    y = compute((4,), (i) => x[i] + K)\n    return y\n}\na = g(X)\nK = 3\nkernel k(X) -> a\n",
			[]exactErr{{3, 37, "K is declared at 7:1, after the call; a def sees the file's constants declared before its call (in g called at t.te:6:5)"}}},
		{"an expanded name clashes with an earlier one",
			"X = placeholder((4,), int32)\nb1_W = placeholder((4,), int32)\n" + strings.Replace(defHead, "X = placeholder((4,), int32)\nY = placeholder((4,), int32)\n", "", 1) + "b1 = f(X, 4)\nkernel k(X, b1_W) -> b1\n",
			[]exactErr{{4, 5, "W makes a tensor named b1_W, but b1_W is already declared at 2:1; rename one of them (in f called at t.te:8:6)"}}},
		{"a later name clashes with an expanded one",
			defHead + "b1 = f(X, 4)\nb1_y = compute((4,), (i) => X[i])\nkernel k(X, b1_W) -> b1\n",
			[]exactErr{{9, 1, "b1_y is already declared at 8:1, by the def call there"}}},
		{"two calls with one prefix",
			defHead + "b1 = f(X, 4)\nb1 = f(Y, 4)\nkernel k(X, b1_W) -> b1\n",
			[]exactErr{{9, 1, "b1 is already declared at 8:1"}}},
		{"a parameter redeclared",
			"def g(x) {\n    x = compute((4,), (i) => 1)\n    y = compute((4,), (i) => x[i])\n    return y\n}\nX = placeholder((4,), int32)\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{2, 5, "x is a parameter of g; choose another name (in g called at t.te:7:5)"}}},
		{"a name taken by a def",
			defHead + "f = compute((4,), (i) => X[i])\nkernel k(X) -> f\n",
			[]exactErr{{8, 1, "f is the name of the def at 3:5; choose another name"}}},
		{"kernel, schedule and def in a def",
			"def g(x) {\n    kernel k(x) -> y\n    schedule y {\n        vectorize(i)\n    }\n    def h(z) {\n        return z\n    }\n    y = compute((4,), (i) => x[i])\n    return y\n}\n",
			[]exactErr{
				{2, 5, "a kernel is declared at the top level of the file, not in a def"},
				{3, 5, "schedule blocks go at the top level of the file: schedule what a call makes by its prefixed name there (schedule b_y { ... } after b = g(...))"},
				{6, 5, "a def cannot be defined inside another; define h at the top level of the file"}}},
		{"several targets for an operator",
			defHead + "a, b = add(X, Y)\nkernel k(X) -> a\n",
			[]exactErr{{8, 8, "add makes one value; assign it to one name"}}},
		{"several targets for a constant",
			defHead + "a, b = 3\nkernel k(X) -> a\n",
			[]exactErr{{8, 8, "only a def call assigns several names: a, b = NAME(...)"}}},
		{"a def call inside an expression",
			defHead + "a = compute((4,), (i) => f(X, 4))\nkernel k(X) -> a\n",
			[]exactErr{{8, 26, "f is a def; call it as a statement of its own: NAME = f(...)"}}},
		{"var in a def",
			"def g(x) {\n    n = var()\n    y = compute((n,), (i) => x[i])\n    return y\n}\nX = placeholder((4,), int32)\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{2, 9, "var() declares a symbolic dimension, a kernel argument: declare it at the top level of the file (a def sees the file's symbolic dimensions) (in g called at t.te:7:5)"}}},
		{"returning a parameter",
			"def g(x) {\n    return x\n}\nX = placeholder((4,), int32)\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{2, 12, "x is a parameter of g; a def returns tensors it makes (or constants) (in g called at t.te:5:5)"}}},
		{"returning an unknown name",
			"def g(x) {\n    y = compute((4,), (i) => x[i])\n    return yy\n}\nX = placeholder((4,), int32)\na = g(X)\nkernel k(X) -> a\n",
			[]exactErr{{3, 12, `unknown name "yy"; did you mean "y"? (in g called at t.te:6:5)`}}},
		{"nested calls name every call on the way",
			"def inner(x) {\n    y = compute((4,), (i) => x[i] + 1.5)\n    return y\n}\ndef outer(x) {\n    t = inner(x)\n    return t\n}\nX = placeholder((4,), int32)\na = outer(X)\nkernel k(X) -> a\n",
			[]exactErr{{2, 35, "in '+': float constant 1.5 cannot be used as int32; to compute in floating point, convert the int32 operand: cast(float32, x) (in inner called at t.te:6:9, in outer called at t.te:10:5)"}}},
		{"a syntax error in a body keeps its calls silent",
			"def g(x) {\n    y = compute((4,), (i) => x[i] +)\n    return y\n}\nX = placeholder((4,), int32)\na, b = g(X)\nkernel k(X, a_W) -> b\nschedule a_y {\n    vectorize(i)\n}\n",
			[]exactErr{{2, 36, `syntax error: unexpected token ")" (expected an operand)`}}},
		{"every syntax error of a body, and of its header",
			"def g(x y) {\n    y = compute((4,), (i) => x[i] +)\n    z = 3 +* 2\n    return y,\n}\n",
			[]exactErr{
				{1, 9, `syntax error: unexpected token "y" (expected ")")`},
				{2, 36, `syntax error: unexpected token ")" (expected an operand)`},
				{3, 12, `syntax error: unexpected token "*" (expected an operand)`},
				{4, 14, `syntax error: unexpected token end of statement (expected a name)`}}},
		{"a schedule block for a local name",
			defHead + "b1 = f(X, 4)\nkernel k(X, b1_W) -> b1\nschedule y {\n    vectorize(i)\n}\n",
			[]exactErr{{10, 10, `unknown name "y"; did you mean "Y"?`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == nil {
				if _, err := Parse("t.te", []byte(tc.src)); err != nil {
					t.Fatalf("want no error, got\n%v", err)
				}
				return
			}
			checkExact(t, "t.te", tc.src, tc.want)
		})
	}
}

// Defs that call each other many times are refused before they take long.
func TestDefExpansionIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("X = placeholder((2,), int32)\ndef d0(x) {\n    y = compute((2,), (i) => x[i] + 1)\n    return y\n}\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&b, "def d%d(x) {\n    a = d%d(x)\n    b = d%d(a)\n    return b\n}\n", i, i-1, i-1)
	}
	b.WriteString("r = d20(X)\nkernel k(X) -> r\n")
	_, err := Parse("big.te", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "would expand more than 10000 statements in all") {
		t.Fatalf("got %v", err)
	}
	if n := len(err.(ErrorList)); n != 1 {
		t.Errorf("%d errors, want 1:\n%v", n, err)
	}
}

// Parse never panics on a def program cut short or missing a line: it
// elaborates or returns a positioned ErrorList.
func TestDefTruncationsDoNotPanic(t *testing.T) {
	src := `N = 4
X = placeholder((1, 4, 4, 1, 1), uint8)
R = placeholder((1, 4, 4, 8), int16)
def block(x, r, c, stride) {
    W1 = placeholder((3, 3, 1, (c + 7) / 8, c), uint8)
    a = bitserial_conv2d(x, W1, layout=NHWC, stride=stride, padding=1, polarity=bipolar, channels=c, out=int16)
    s = add(a, r)
    k = reduce_axis(0, c)
    t = compute((1,), (i) => sum(s[0, 0, 0, k], axis=k))
    return s, t
}
def twice(x, r) {
    one, t1 = block(x, r, 8, stride=1)
    two, t2 = block(x, one, c=N * 2, stride=1)
    return two, t2
}
b1, s1 = block(X, R, 8, 1)
b2, s2 = twice(X, b1)
kernel f(X, R, b1_W1, b2_one_W1, b2_two_W1) -> (s1, b2)
schedule b2_two_a_acc {
    reorder(ry, rx, ab, wb, rc, oc)
    vectorize(oc)
}
`
	try := func(what, s string) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s: Parse panicked: %v\n%s", what, r, s)
			}
		}()
		if _, err := Parse("cut.te", []byte(s)); err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("%s: error %T is not a non-empty ErrorList", what, err)
			}
			for _, e := range list {
				if e.Pos.Line < 1 || e.Pos.Column < 1 {
					t.Fatalf("%s: error without a position: %v", what, e)
				}
			}
		}
	}
	if _, err := Parse("cut.te", []byte(src)); err != nil {
		t.Fatalf("the whole program: %v", err)
	}
	for i := 0; i <= len(src); i++ {
		try(fmt.Sprintf("the first %d bytes", i), src[:i])
	}
	lines := strings.Split(src, "\n")
	for i := range lines {
		try(fmt.Sprintf("without line %d", i+1), strings.Join(slices.Delete(slices.Clone(lines), i, i+1), "\n"))
	}
}

// The README's def example elaborates (with the declarations it assumes).
func TestReadmeDefExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "```\ndef basic_block")
	if start < 0 {
		t.Fatal("README has no def example")
	}
	block := text[start+4:]
	block = block[:strings.Index(block, "```")]
	prelude := "C = 16\nXp = placeholder((1, 6, 6, 1, 2), uint8)\nR = placeholder((1, 6, 6, 16), int16)\n"
	p := mustParse(t, "readme.te", prelude+block)
	var names []string
	for _, x := range p.Tensors {
		names = append(names, x.Name)
	}
	// a bipolar convolution pads with zero by default: its border
	// correction's stages (wones, wsum, border) are named after the call too
	want := []string{"Xp", "R", "b1_W1", "b1_a_pad", "b1_a_acc", "b1_a_wones", "b1_a_wsum", "b1_a_border", "b1_a", "b1_s",
		"b2_W1", "b2_a_pad", "b2_a_acc", "b2_a_wones", "b2_a_wsum", "b2_a_border", "b2_a", "b2_s", "y_s"}
	if d := cmpDiff(want, names); d != "" {
		t.Error(d)
	}
	if got := p.Kernel.Outputs[0].Name; got != "y_s" {
		t.Errorf("output %s, want y_s", got)
	}
}

// A binarized ResNet-18-like network (8 basic blocks, three of them
// downsampling with a 1x1 shortcut convolution; 59 operator calls) written
// with defs elaborates to the network written out flat, generated here
// with the names the expansion must give.
func TestDefNetwork(t *testing.T) {
	const defs = `H = 16
X = placeholder((1, H, H, 8), uint8, range=(0, 1))
def glue(acc, c) {
    CB = placeholder((c,), int32, range=(-40, 40))
    SH = placeholder((c,), int32, range=(0, 4))
    q = fused_glue(acc, CB, SH, axis=3, bits=1)
    return q
}
def basic(x, h, c) {
    xp = bitpack(x, bits=1, pack_axis=3, bit_axis=3, word=uint8)
    W1 = placeholder((3, 3, 1, c / 8, c), uint8)
    a1 = bitserial_conv2d(xp, W1, layout=NHWC, stride=1, padding=1, polarity=bipolar, channels=c, out=int16)
    g1 = glue(a1, c)
    g1p = bitpack(g1, bits=1, pack_axis=3, bit_axis=3, word=uint8)
    W2 = placeholder((3, 3, 1, c / 8, c), uint8)
    a2 = bitserial_conv2d(g1p, W2, layout=NHWC, stride=1, padding=1, polarity=bipolar, channels=c, out=int16)
    sc = compute((1, h, h, c), (n, i, j, k) => cast(int16, x[n, i, j, k]) * 16)
    s = add(a2, sc)
    q = glue(s, c)
    return q
}
def down(x, cin, c) {
    xp = bitpack(x, bits=1, pack_axis=3, bit_axis=3, word=uint8)
    W1 = placeholder((3, 3, 1, cin / 8, c), uint8)
    a1 = bitserial_conv2d(xp, W1, layout=NHWC, stride=2, padding=1, polarity=bipolar, channels=cin, out=int16)
    g1 = glue(a1, c)
    g1p = bitpack(g1, bits=1, pack_axis=3, bit_axis=3, word=uint8)
    W2 = placeholder((3, 3, 1, c / 8, c), uint8)
    a2 = bitserial_conv2d(g1p, W2, layout=NHWC, stride=1, padding=1, polarity=bipolar, channels=c, out=int16)
    Ws = placeholder((1, 1, 1, cin / 8, c), uint8)
    sc = bitserial_conv2d(xp, Ws, layout=NHWC, stride=2, padding=0, polarity=bipolar, channels=cin, out=int16)
    s = add(a2, sc)
    q = glue(s, c)
    return q
}
b1 = basic(X, H, 8)
b2 = basic(b1, H, 8)
b3 = down(b2, 8, 16)
b4 = basic(b3, H / 2, 16)
b5 = down(b4, 16, 32)
b6 = basic(b5, H / 4, 32)
b7 = down(b6, 32, 64)
b8 = basic(b7, H / 8, 64)
`
	var flat strings.Builder
	flat.WriteString("H = 16\nX = placeholder((1, H, H, 8), uint8, range=(0, 1))\n")
	var weights []string
	w := func(format string, args ...any) { fmt.Fprintf(&flat, format+"\n", args...) }
	weight := func(name, decl string) {
		w("%s = %s", name, decl)
		weights = append(weights, name)
	}
	glue := func(p, acc string, c int) string {
		weight(p+"_CB", fmt.Sprintf("placeholder((%d,), int32, range=(-40, 40))", c))
		weight(p+"_SH", fmt.Sprintf("placeholder((%d,), int32, range=(0, 4))", c))
		w("%s_q = fused_glue(%s, %s_CB, %s_SH, axis=3, bits=1)", p, acc, p, p)
		return p + "_q"
	}
	conv := "layout=NHWC, stride=%d, padding=%d, polarity=bipolar, channels=%d, out=int16"
	pack := "bits=1, pack_axis=3, bit_axis=3, word=uint8"
	block := func(p, x string, h, cin, c int, down bool) string {
		stride := 1
		if down {
			stride = 2
		}
		w("%s_xp = bitpack(%s, %s)", p, x, pack)
		weight(p+"_W1", fmt.Sprintf("placeholder((3, 3, 1, %d, %d), uint8)", cin/8, c))
		w("%s_a1 = bitserial_conv2d(%s_xp, %s_W1, "+conv+")", p, p, p, stride, 1, cin)
		g1 := glue(p+"_g1", p+"_a1", c)
		w("%s_g1p = bitpack(%s, %s)", p, g1, pack)
		weight(p+"_W2", fmt.Sprintf("placeholder((3, 3, 1, %d, %d), uint8)", c/8, c))
		w("%s_a2 = bitserial_conv2d(%s_g1p, %s_W2, "+conv+")", p, p, p, 1, 1, c)
		if down {
			weight(p+"_Ws", fmt.Sprintf("placeholder((1, 1, 1, %d, %d), uint8)", cin/8, c))
			w("%s_sc = bitserial_conv2d(%s_xp, %s_Ws, "+conv+")", p, p, p, 2, 0, cin)
		} else {
			w("%s_sc = compute((1, %d, %d, %d), (n, i, j, k) => cast(int16, %s[n, i, j, k]) * 16)", p, h, h, c, x)
		}
		w("%s_s = add(%s_a2, %s_sc)", p, p, p)
		return glue(p+"_q", p+"_s", c)
	}
	x := "X"
	for i, b := range []struct {
		h, cin, c int
		down      bool
	}{{16, 8, 8, false}, {16, 8, 8, false}, {16, 8, 16, true}, {8, 16, 16, false}, {8, 16, 32, true}, {4, 32, 32, false}, {4, 32, 64, true}, {2, 64, 64, false}} {
		x = block(fmt.Sprintf("b%d", i+1), x, b.h, b.cin, b.c, b.down)
	}
	kernel := fmt.Sprintf("kernel resnet(X, %s) -> %s\n", strings.Join(weights, ", "), "b8")
	p := mustParse(t, "net.te", defs+kernel)
	q := mustParse(t, "flat.te", flat.String()+strings.Replace(kernel, "-> b8", "-> "+x, 1))
	if d := cmpDiff(summarize(q), summarize(p)); d != "" {
		t.Fatalf("the network differs from the flat one (-flat +defs):\n%s", d)
	}
	if d := cmpDiff(evalProgram(t, q), evalProgram(t, p)); d != "" {
		t.Errorf("outputs differ (-flat +defs):\n%s", d)
	}
	calls := strings.Count(flat.String(), "bitpack(") + strings.Count(flat.String(), "conv2d(") +
		strings.Count(flat.String(), "fused_glue(") + strings.Count(flat.String(), "add(")
	if calls != 59 || len(p.Kernel.Inputs) != 52 {
		t.Errorf("%d operator calls, %d kernel inputs; want 59 and 52", calls, len(p.Kernel.Inputs))
	}
}
