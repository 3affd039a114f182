package dsl

import (
	"strings"
	"testing"
)

// Operator calls: a working call declares the operator's stages as names,
// and each misuse is reported at the argument at fault (or the call), with
// what would be legal.
func TestOperatorCalls(t *testing.T) {
	const head = "X = placeholder((1, 8, 8, 1, 1), uint64)\nW = placeholder((3, 3, 1, 1, 16), uint64)\n"
	p := mustParse(t, "ok.te", head+"Y = bitserial_conv2d(X, W, layout=NHWC, stride=1, padding=1, polarity=bipolar, channels=64, out=int16)\nkernel f(X, W) -> Y\nschedule Y_acc {\n    reorder(ry, rx, ab, wb, rc, oc)\n    vectorize(oc)\n}\n")
	for _, name := range []string{"Y", "Y_acc", "Y_pad"} {
		if p.Tensor(name) == nil {
			t.Errorf("no stage %s", name)
		}
	}
	// the pad values: exact zero (the default) corrects a bipolar
	// convolution's border outputs in stages of their own
	for _, c := range []struct {
		call   string
		stages []string
		absent []string
	}{
		{"polarity=bipolar, channels=64, padding=1", []string{"Y_pad", "Y_acc", "Y_wones", "Y_wsum", "Y_border"}, nil},
		{"polarity=bipolar, channels=64, padding=1, pad_value=zero", []string{"Y_pad", "Y_acc", "Y_wones", "Y_wsum", "Y_border"}, nil},
		{"polarity=bipolar, channels=64, padding=1, pad_value=one", []string{"Y_pad", "Y_acc"}, []string{"Y_wones", "Y_wsum", "Y_border"}},
		{"polarity=bipolar, channels=64, padding=1, pad_value=minus_one", []string{"Y_pad", "Y_acc"}, []string{"Y_wones", "Y_wsum", "Y_border"}},
		{"polarity=bipolar, channels=64", []string{"Y_acc"}, []string{"Y_pad", "Y_wones", "Y_wsum", "Y_border"}},
		{"polarity=unipolar, channels=64, padding=1", []string{"Y_pad"}, []string{"Y_wones", "Y_wsum", "Y_border"}},
		{"polarity=unipolar, channels=64, padding=1, pad_value=one", []string{"Y_pad"}, []string{"Y_wones", "Y_wsum", "Y_border"}},
	} {
		p := mustParse(t, "pad.te", head+"Y = bitserial_conv2d(X, W, "+c.call+")\nkernel f(X, W) -> Y\n")
		for _, name := range c.stages {
			if p.Tensor(name) == nil {
				t.Errorf("%s: no stage %s", c.call, name)
			}
		}
		for _, name := range c.absent {
			if p.Tensor(name) != nil {
				t.Errorf("%s: a stage %s", c.call, name)
			}
		}
	}
	cases := []struct{ line, want string }{
		{"Y = bitserial_conv2d(X, W, polarity=xnor, channels=64)", "3:37: polarity must be one of unipolar, unsigned, bipolar"},
		{"Y = bitserial_conv2d(X, W, layout=NHCW, channels=64, polarity=bipolar)", "3:35: layout must be one of NHWC, NCHW"},
		{"Y = bitserial_conv2d(X, W, polarity=bipolar)", "3:5: bitserial_conv2d needs channels=...; it is called as bitserial_conv2d(Xp, Wp"},
		{"Y = bitserial_conv2d(X, W, polarity=bipolar, channels=64, strides=2)", `3:59: bitserial_conv2d has no argument "strides"; did you mean "stride"?`},
		{"Y = bitserial_conv2d(X, 3, polarity=bipolar, channels=64)", "3:25: bitserial_conv2d takes tensors as its first 2 arguments"},
		{"Y = bitserial_conv2d(X, Q, polarity=bipolar, channels=64)", `3:25: unknown name "Q"`},
		{"Y = bitserial_conv2d(X, W, polarity=bipolar, channels=64, stride=(1, 2, 3))", "3:66: stride is one integer or (H, W)"},
		{"Y = bitserial_conv2d(X, W, polarity=bipolar, channels=64, padding=(1, 2, 3))", "3:67: padding is one integer, (H, W), or (top, left, bottom, right)"},
		{"Y = bitserial_conv2d(X, W, polarity=bipolar, channels=200)", "3:5: bitserial_conv2d Y: 200 channels do not fill 1 words of 64 bits"},
		{"Y = conv2d(X, W)", "3:5: the kernel W has 5 dimensions; conv2d wants 4"},
		{"Y = bitpack(X, bits=2, pack_axis=7)", "3:5: bitpack Y: pack axis 7 of a 5-D tensor"},
		{"Y = bitpack(X, bits=2)", "3:5: bitpack needs pack_axis=..."},
		{"Y = bitpack(X, bits=2, pack_axis=4, word=float32)", "3:42: word must be one of uint8, uint16, uint32, uint64"},
		{"Y_pad = X\nY = bitserial_conv2d(X, W, polarity=bipolar, channels=64, padding=1)", "4:1: bitserial_conv2d makes a stage named Y_pad, but Y_pad is already declared at 3:1; rename one of them"},
		{"Y = bitserial_conv2d(X, W, polarity=bipolar, channels=64, pad_value=two)", "3:69: pad_value must be one of zero, one, minus_one"},
		{"Y = bitserial_conv2d(X, W, polarity=bipolar, channels=64, pad_value=0)", "3:69: pad_value must be one of zero, one, minus_one"},
		{"Y = bitserial_conv2d(X, W, polarity=unipolar, channels=64, pad_value=minus_one)", "3:70: pad_value must be one of zero, one with polarity=unipolar: unipolar activations have no -1"},
		{"Y = bitserial_conv2d(X, W, polarity=unsigned, channels=64, padding=1, pad_value=minus_one)", "3:81: pad_value must be one of zero, one with polarity=unsigned"},
		{"Y = bitserial_conv2d(X, W, polarity=bipolar, channels=64, pad_values=one)", `3:59: bitserial_conv2d has no argument "pad_values"; did you mean "pad_value"?`},
		{"C = placeholder((16,), int32)\nY = bitpack_conv2d(X, W, C, C, polarity=bipolar, channels=64, bits=1, pad_value=minus)", "4:81: pad_value must be one of zero, one, minus_one"},
		{"C = placeholder((16,), int32)\nY = bitpack_conv2d(X, W, C, C, polarity=unipolar, channels=64, bits=1, pad_value=minus_one)", "4:82: pad_value must be one of zero, one with polarity=unipolar"},
		{"Y_wsum = X\nY = bitserial_conv2d(X, W, polarity=bipolar, channels=64, padding=1)", "4:1: bitserial_conv2d makes a stage named Y_wsum, but Y_wsum is already declared at 3:1; rename one of them"},
	}
	for _, c := range cases {
		_, err := Parse("e.te", []byte(head+c.line+"\nkernel f(X, W) -> Y\n"))
		if err == nil || !strings.Contains(err.Error(), "e.te:"+c.want) {
			t.Errorf("%s:\ngot  %v\nwant e.te:%s", c.line, err, c.want)
		}
	}
	// the int16 bound, with the numbers
	big := "X = placeholder((1, 8, 8, 2, 8), uint64)\nW = placeholder((3, 3, 2, 8, 16), uint64)\nY = bitserial_conv2d(X, W, polarity=unsigned, channels=512, out=int16)\nkernel f(X, W) -> Y\n"
	if _, err := Parse("big.te", []byte(big)); err == nil || !strings.Contains(err.Error(), "reaches 41472, which overflows int16 (at most 32767); use int32") {
		t.Errorf("int16 overflow: %v", err)
	}
}
