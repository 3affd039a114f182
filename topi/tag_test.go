package topi

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/te"
)

// Every compute of a bitpack-fused bipolar layer (bitpack, convolution,
// zero-padding correction, glue and its thresholds, packing) and of the
// XNOR correction carries the
// attributes its tag declares, with the operator's parameters; a reader
// asking for another type gets an error naming the compute, not a zero.
func TestTypedAttrs(t *testing.T) {
	x, _ := te.Placeholder("X", ints(1, 6, 6, 10), te.UInt8)
	k, _ := te.Placeholder("K", ints(3, 3, 10, 12), te.UInt8)
	cb, _ := te.Placeholder("CB", ints(12), te.Int32)
	shift, _ := te.Placeholder("S", ints(12), te.Int32)
	xp, err := Bitpack("Xp", x, 1, 3, 3, te.UInt8)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := Bitpack("Kp", k, 1, 2, 2, te.UInt8)
	if err != nil {
		t.Fatal(err)
	}
	win := Window{KH: 3, KW: 3, StrideH: 2, Pad: Pad(1)} // StrideW 0 means 1
	p := Bitserial{Polarity: BipolarBipolar, Elements: 10, Out: te.Int16}
	y, err := BitpackConv2D("Y", xp, kp, cb, shift, NHWC, win, p, 2, te.UInt8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[te.Tag]bool{}
	for _, c := range te.PostOrder([]*te.Tensor{y}) {
		if c.IsPlaceholder() {
			continue
		}
		seen[c.Tag] = true
		if want := tagAttrs[c.Tag]; reflect.TypeOf(c.Attrs) != want {
			t.Errorf("%s (%s) has attributes %T, want %v", c.Name, c.Tag, c.Attrs, want)
		}
	}
	// the glue folds the XNOR correction into its thresholds, which read
	// the border correction (see FusedGlue)
	for _, tag := range []te.Tag{TagBitpack, TagBitserialConv2DNHWC, TagBitserialWeightOnes, TagBitserialWeightSum,
		TagBitserialPadBorder, TagGlueThreshold, TagFusedGlue, TagBitpackConv2DNHWC, TagPad} {
		if !seen[tag] {
			t.Errorf("no %s compute in the layer", tag)
		}
	}
	a, err := AttrsOf[BitpackAttrs](xp)
	if want := (BitpackAttrs{Bits: 1, PackAxis: 3, BitAxis: 3, WordBits: 8, Elements: 10}); err != nil || a != want {
		t.Errorf("Xp's attributes %+v (%v), want %+v", a, err, want)
	}
	if n, ok := Elements(y); !ok || n != 12 {
		t.Errorf("the packing has %d elements (%v), want 12 (the output channels)", n, ok)
	}
	conv := y.Inputs()[0].Inputs()[0] // packing <- glue <- accumulation
	ca, err := AttrsOf[BitserialConv2DAttrs](conv)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Window{KH: 3, KW: 3, StrideH: 2, StrideW: 1, Pad: Pad(1)}); ca.Layout != NHWC || ca.Window != want || ca.Bitserial != p {
		t.Errorf("%s's attributes %+v, want NHWC, %+v (strides resolved), %+v", conv.Name, ca, want, p)
	}
	// the XNOR correction (a layer without glue keeps it) names its parts:
	// Full = 9 taps x 10 channels, the accumulation, the border correction
	c, err := BitserialConv2D("C", xp, kp, NHWC, win, p)
	if err != nil {
		t.Fatal(err)
	}
	xa, err := AttrsOf[XnorAttrs](c)
	if err != nil || xa.Bitserial != p || xa.Full != 90 || xa.Acc != c.Inputs()[0] || xa.Acc.Tag != TagBitserialConv2DNHWC ||
		xa.Border == nil || xa.Border.Tensor.Tag != TagBitserialPadBorder || xa.Border.Channel != 2 {
		t.Errorf("%s's attributes %+v (%v), want %+v, Full 90, its accumulation, its border correction (channel axis 2)", c.Name, xa, err, p)
	}
	if _, err := AttrsOf[WindowAttrs](conv); err == nil || !strings.Contains(err.Error(), conv.Name) {
		t.Errorf("a bitserial convolution's attributes read as WindowAttrs: %v", err)
	}
	if _, err := AttrsOf[ConcatAttrs](x); err == nil || !strings.Contains(err.Error(), "X (untagged)") {
		t.Errorf("a placeholder's attributes read as ConcatAttrs: %v", err)
	}
	// the library cannot tag a compute with attributes of another type
	z, _ := te.Compute("Z", ints(2), func(a []te.Expr) te.Expr { return te.Int(0) })
	if _, err := tagged(z, nil, TagConcatenate, WindowAttrs{}); err == nil {
		t.Error("tagged a concatenation with window attributes")
	}
	if _, err := tagged(z, nil, TagReLU, ConcatAttrs{}); err == nil {
		t.Error("tagged a relu with attributes")
	}
}
