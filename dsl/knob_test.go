package dsl

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
	"github.com/tide-compiler/tide/tune"
)

// A knob is an integer constant with candidates: the first unless -D gives
// another, listed in Program.Knobs for tide tune, each misuse reported
// where it is.
func TestKnob(t *testing.T) {
	const src = `N = 64
TILE = knob(8, 4, 16)
LANES = knob(2 * 4, 16)
A = placeholder((N,), float32)
B = compute((N,), (i) => A[i] * 2.0)
kernel f(A) -> B
schedule B {
    io, ii = split(i, factor=TILE)
    iio, iii = split(ii, factor=LANES)
}
`
	factors := func(p *Program) []int64 {
		var out []int64
		for _, r := range p.Schedule.Stage(p.Tensor("B")).Rels {
			if s, ok := r.(*schedule.Split); ok {
				out = append(out, s.Factor)
			}
		}
		return out
	}
	p, err := ParseWith("k.te", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := tune.Space{{Name: "TILE", Values: []int64{8, 4, 16}, Where: "k.te:2:1"}, {Name: "LANES", Values: []int64{8, 16}, Where: "k.te:3:1"}}
	if d := cmp.Diff(want, p.Knobs); d != "" {
		t.Errorf("knobs (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int64{8, 8}, factors(p)); d != "" {
		t.Errorf("default split factors (-want +got):\n%s", d)
	}
	p, err = ParseWith("k.te", []byte(src), Options{Defines: map[string]int64{"TILE": 16, "LANES": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int64{16, 2}, factors(p)); d != "" {
		t.Errorf("-D TILE=16 -D LANES=2 (a value outside the list pins it) (-want +got):\n%s", d)
	}
	if d := cmp.Diff(tune.Config{"TILE": 16, "LANES": 2}, p.KnobValues); d != "" {
		t.Errorf("knob values (-want +got):\n%s", d)
	}
	for _, c := range []struct{ src, want string }{
		{"T = knob()\n", "k.te:1:5: knob lists one or more integer candidates"},
		{"T = knob(k=2)\n", "k.te:1:10: knob lists integer candidates"},
		{"T = knob(1.5)\n", "k.te:1:10:"},
		{"def g(x) {\n    T = knob(2)\n    return x\n}\nA = placeholder((4,), float32)\nb = g(A)\n", "k.te:2:9: a knob is declared at the top level"},
	} {
		_, err := ParseWith("k.te", []byte(c.src), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: want an error with %q, got %v", c.src, c.want, err)
		}
	}
}

// A packing word may be given by its bits, so that it can be a knob.
func TestWordByBits(t *testing.T) {
	const src = `WORD = knob(8, 32)
X = placeholder((1, 4, 4, 64), uint8, range=(0, 1))
P = bitpack(X, bits=1, pack_axis=3, bit_axis=3, word=WORD)
kernel f(X) -> P
`
	for _, c := range []struct {
		word int64
		want string
	}{{8, "uint8(1, 4, 4, 1, 8)"}, {32, "uint32(1, 4, 4, 1, 2)"}} {
		p, err := ParseWith("w.te", []byte(src), Options{Defines: map[string]int64{"WORD": c.word}})
		if err != nil {
			t.Fatal(err)
		}
		out := p.Kernel.Outputs[0]
		if got := out.DType.String() + te.ShapeString(out.Shape); got != c.want {
			t.Errorf("WORD=%d: P is %s, want %s", c.word, got, c.want)
		}
	}
	_, err := ParseWith("w.te", []byte(src), Options{Defines: map[string]int64{"WORD": 12}})
	if err == nil || !strings.Contains(err.Error(), "w.te:3:54: word=12: a word is given by its type (uint8, uint16, uint32, uint64) or its bits (8, 16, 32 or 64)") {
		t.Errorf("WORD=12: %v", err)
	}
}

// natural_vector_size and target_has_feature let a knob's default follow
// the target (Halide's Target methods); without a target they are the
// x86-64 preset's 256 bits and 0.
func TestTargetBuiltins(t *testing.T) {
	const src = `L = natural_vector_size(float32)
B = natural_vector_size(uint8)
F = target_has_feature(avx512vpopcntdq)
K = knob(2 * L, 8, 16, 32)
A = placeholder((L, B, F + 1, K), float32)
C = compute((L, B, F + 1, K), (i, j, k, l) => A[i, j, k, l])
kernel f(A) -> C
`
	for _, c := range []struct {
		target *topi.Target
		want   string
	}{
		{nil, "(8, 32, 1, 16)"},
		{&topi.Target{Name: "avx512", VectorBits: 512, Features: []string{"avx2", "avx512vpopcntdq"}}, "(16, 64, 2, 32)"},
		{&topi.Target{Name: "neon", VectorBits: 128, Features: []string{"neon"}}, "(4, 16, 1, 8)"},
	} {
		p, err := ParseWith("t.te", []byte(src), Options{Target: c.target})
		if err != nil {
			t.Fatal(err)
		}
		if got := te.ShapeString(p.Kernel.Inputs[0].Shape); got != c.want {
			t.Errorf("target %v: A is %s, want %s", c.target, got, c.want)
		}
	}
	for _, bad := range []struct{ src, want string }{
		{"L = natural_vector_size(floot32)\n", `t.te:1:25: unknown dtype "floot32"`},
		{"F = target_has_feature(1)\n", "t.te:1:24: target_has_feature takes a feature's name"},
		{"F = target_has_feature()\n", "t.te:1:5:"},
	} {
		_, err := ParseWith("t.te", []byte(bad.src), Options{})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: want %q, got %v", bad.src, bad.want, err)
		}
	}
}

// A knob nothing reads is listed in UnusedKnobs (tide tune leaves it out);
// one read by a schedule, a shape, an operator keyword or another knob's
// default is not.
func TestUnusedKnobs(t *testing.T) {
	const src = `L = knob(8, 16)
P = knob(2 * L, 32)
U = knob(1, 2)
N = knob(64, 128)
WORD = knob(8, 32)
A = placeholder((N, 64), uint8, range=(0, 1))
B = bitpack(A, bits=1, pack_axis=1, bit_axis=1, word=WORD)
C = compute((N, 64), (i, j) => A[i, j] + 1)
kernel f(A) -> B, C
schedule C {
    jo, ji = split(j, factor=P)
}
`
	p, err := ParseWith("u.te", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"U"}, p.UnusedKnobs); d != "" {
		t.Errorf("unused knobs (-want +got):\n%s", d)
	}
	src2, _ := os.ReadFile("../examples/matmul.te")
	if p, err := ParseWith("matmul.te", src2, Options{}); err != nil || len(p.UnusedKnobs) > 0 {
		t.Errorf("matmul.te: unused knobs %v, %v", p.UnusedKnobs, err)
	}
}
