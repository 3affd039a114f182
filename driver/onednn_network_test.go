package driver

import (
	"testing"

	"github.com/tide-compiler/tide/te"
)

// channelScale recognizes a per-channel scale along the last axis; a 0-d
// compute has none (it looked up axis -1, and panicked).
func TestChannelScaleOfZeroDimensional(t *testing.T) {
	x, _ := te.Placeholder("x", nil, te.Float32)
	s, _ := te.Placeholder("s", []te.Expr{te.Int(4)}, te.Float32)
	y, err := te.Compute("y", nil, func([]te.Expr) te.Expr { return te.MulOf(x.At(), s.At(te.Int(0))) })
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := channelScale(y); ok {
		t.Error("a 0-d product is taken for a per-channel scale")
	}
	x2, _ := te.Placeholder("x", []te.Expr{te.Int(2), te.Int(4)}, te.Float32)
	z, _ := te.Compute("z", []te.Expr{te.Int(2), te.Int(4)}, func(a []te.Expr) te.Expr { return te.MulOf(x2.At(a...), s.At(a[1])) })
	if gx, gs, ok := channelScale(z); !ok || gx != x2 || gs != s {
		t.Error("x[i, c] * s[c] is not recognized as a per-channel scale")
	}
}
