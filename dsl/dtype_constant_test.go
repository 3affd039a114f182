package dsl

import (
	"slices"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/te"
)

// Where a dtype goes, a choice of the file gives its word and an integer
// constant (a knob) a signed integer type by its bits; a bitserial
// operator's out= takes the same bits. Each misuse is reported where it is.
func TestDTypeFromAConstantOrAChoice(t *testing.T) {
	const src = `ACC = knob(16, 32)
T = choice(int16, float32)
N = 64
A = placeholder((N,), uint8)
B = compute((N,), (i) => cast(ACC, A[i]))
C = compute((N,), (i) => cast(T, A[i]))
Wp = placeholder((3, 3, 1, 1, 8), uint8)
X = placeholder((1, 4, 4, 1, 1), uint8)
Y = bitserial_conv2d(X, Wp, layout=NHWC, stride=1, padding=1, polarity=bipolar, channels=8, out=ACC)
kernel f(A, X, Wp) -> B, C, Y
`
	for _, c := range []struct {
		ints       map[string]int64
		words      map[string]string
		b, cT, acc te.DType
	}{
		{nil, nil, te.Int16, te.Int16, te.Int16},
		{map[string]int64{"ACC": 32}, map[string]string{"T": "float32"}, te.Int32, te.Float32, te.Int32},
	} {
		p, err := ParseWith("d.te", []byte(src), Options{Defines: c.ints, Words: c.words})
		if err != nil {
			t.Fatal(err)
		}
		got := []te.DType{p.Tensor("B").DType, p.Tensor("C").DType, p.Tensor("Y").DType}
		if want := []te.DType{c.b, c.cT, c.acc}; !slices.Equal(got, want) {
			t.Errorf("-D %v %v: B, C, Y are %v; want %v", c.ints, c.words, got, want)
		}
	}
	for _, c := range []struct {
		ints map[string]int64
		want string
	}{
		{map[string]int64{"ACC": 12}, "d.te:5:31: ACC is 12 here: a constant where a dtype goes gives an integer type by its bits, 8, 16, 32 or 64"},
		{map[string]int64{"ACC": 64}, "d.te:9:97: out=ACC: ACC is 64 here; out is given by its type (int16, int32) or its bits"},
	} {
		_, err := ParseWith("d.te", []byte(src), Options{Defines: c.ints})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-D %v: error %v; want one containing %q", c.ints, err, c.want)
		}
	}
}
