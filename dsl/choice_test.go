package dsl

import (
	"strings"
	"testing"

	"github.com/tide-compiler/tide/topi"
)

// A choice names a word for an operator's keyword: the first word unless
// Words picks another, each misuse reported where it is.
func TestChoice(t *testing.T) {
	const src = `P = choice(bipolar, unipolar)
X = placeholder((1, 8, 8, 1, 1), uint8)
W = placeholder((3, 3, 1, 1, 16), uint8)
def conv(x, w) {
    Y = bitserial_conv2d(x, w, layout=NHWC, stride=1, padding=1, polarity=P, channels=8, out=int16)
    return Y
}
y = conv(X, W)
kernel f(X, W) -> y
`
	polarity := func(p *Program) topi.Polarity {
		acc := p.Tensor("y_Y_acc") // bipolar: the accumulation before the XNOR correction
		if acc == nil {
			acc = p.Tensor("y_Y")
		}
		a, err := topi.AttrsOf[topi.BitserialConv2DAttrs](acc)
		if err != nil {
			t.Fatal(err)
		}
		return a.Bitserial.Polarity
	}
	p, err := ParseWith("c.te", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := polarity(p); got != topi.BipolarBipolar {
		t.Errorf("default polarity %v, want bipolar (the first word)", got)
	}
	p, err = ParseWith("c.te", []byte(src), Options{Words: map[string]string{"P": "unipolar"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := polarity(p); got != topi.UnipolarBipolar {
		t.Errorf("-D P=unipolar gives polarity %v", got)
	}
	for _, c := range []struct {
		src   string
		words map[string]string
		ints  map[string]int64
		want  string
	}{
		{src, map[string]string{"P": "unsgned"}, nil, "c.te:1:5: -D P=unsgned: P is one of bipolar, unipolar"},
		{src, map[string]string{"Q": "unipolar"}, nil, "-D Q=unipolar: c.te has no choice of that name (its choices are: P)"},
		{src, nil, map[string]int64{"P": 2}, "-D P=2: P is a choice of words, not a number"},
		{"P = choice(1, 2)\n" + src[strings.Index(src, "\n")+1:], nil, nil, "c.te:1:12: choice lists words"},
		{"P = choice()\n" + src[strings.Index(src, "\n")+1:], nil, nil, "c.te:1:5: choice lists one or more words"},
		{strings.Replace(src, "choice(bipolar, unipolar)", "choice(NHWC, NCHW)", 1), nil, nil, "P is NHWC here, but polarity must be one of unipolar, unsigned, bipolar"},
	} {
		_, err := ParseWith("c.te", []byte(c.src), Options{Words: c.words, Defines: c.ints})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
}
