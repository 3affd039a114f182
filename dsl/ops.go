package dsl

import (
	"fmt"
	"strings"

	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/topi"
)

// An operator call declares a tensor with an operator of the library
// (topi): Y = conv2d(X, W, layout=NHWC, stride=1, padding=1). Its
// intermediate stages (Y_pad, Y_acc, ...) become names too, so that
// schedule blocks can name them.
type opSpec struct {
	sig     string   // how it is called, for messages
	tensors int      // positional tensor arguments
	keys    []string // keyword arguments
	// build reads its keywords from kw (which keeps the first error) and
	// makes the operator; it is not called when a keyword was wrong
	build func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error)
}

var ops = map[string]opSpec{
	"conv2d": {"conv2d(X, W, layout=NHWC|NCHW, stride=S|(SH, SW), padding=P|(T, L, B, R))", 2, []string{"layout", "stride", "padding"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			win, layout := kw.window(ts[1], 4)
			// without a target (tide eval) as on one that skips them: the
			// outputs are the same either way
			win.SkipPaddedTaps = kw.el.target == nil || kw.el.target.SkipsPaddedTaps()
			return kw.then(func() (*te.Tensor, error) { return topi.Conv2D(name, ts[0], ts[1], layout, win) })
		}},
	"dense": {"dense(X, W)", 2, nil, func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
		return topi.Dense(name, ts[0], ts[1])
	}},
	"max_pool2d": {"max_pool2d(X, pool=(KH, KW), layout=NHWC|NCHW, stride=S, padding=P)", 1, []string{"pool", "layout", "stride", "padding"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			win, layout := kw.pool()
			return kw.then(func() (*te.Tensor, error) { return topi.MaxPool2D(name, ts[0], layout, win) })
		}},
	"avg_pool2d": {"avg_pool2d(X, pool=(KH, KW), layout=NHWC|NCHW, stride=S, padding=P)", 1, []string{"pool", "layout", "stride", "padding"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			win, layout := kw.pool()
			return kw.then(func() (*te.Tensor, error) { return topi.AvgPool2D(name, ts[0], layout, win) })
		}},
	"global_avg_pool2d": {"global_avg_pool2d(X, layout=NHWC|NCHW)", 1, []string{"layout"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			layout := kw.layout()
			return kw.then(func() (*te.Tensor, error) { return topi.GlobalAvgPool2D(name, ts[0], layout) })
		}},
	"relu": {"relu(X)", 1, nil, func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
		return topi.ReLU(name, ts[0])
	}},
	"bias_add": {"bias_add(X, B, axis=A)", 2, []string{"axis"}, func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
		axis := kw.int("axis", -1)
		return kw.then(func() (*te.Tensor, error) { return topi.BiasAdd(name, ts[0], ts[1], axis) })
	}},
	"batch_norm": {"batch_norm(X, gamma, beta, mean, var, eps=E, axis=A)", 5, []string{"eps", "axis"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			axis, eps := kw.int("axis", -1), kw.number("eps", 1e-5)
			return kw.then(func() (*te.Tensor, error) { return topi.BatchNorm(name, ts[0], ts[1], ts[2], ts[3], ts[4], eps, axis) })
		}},
	"add": {"add(A, B)", 2, nil, func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
		return topi.Add(name, ts[0], ts[1])
	}},
	"concatenate": {"concatenate(A, B, axis=A)", 2, []string{"axis"}, func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
		axis := kw.int("axis", -1)
		return kw.then(func() (*te.Tensor, error) { return topi.Concatenate(name, axis, ts[0], ts[1]) })
	}},
	"softmax": {"softmax(X)", 1, nil, func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
		return topi.Softmax(name, ts[0])
	}},
	"quantize": {"quantize(X, bits=N)", 1, []string{"bits"}, func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
		bits := kw.int("bits", -1)
		return kw.then(func() (*te.Tensor, error) { return topi.Quantize(name, ts[0], bits) })
	}},
	"bitpack": {"bitpack(X, bits=N, pack_axis=A, bit_axis=B, word=uint8|uint16|uint32|uint64)", 1, []string{"bits", "pack_axis", "bit_axis", "word"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			bits, pack := kw.int("bits", -1), kw.int("pack_axis", -1)
			bit, word := kw.int("bit_axis", pack), kw.wordType("word", te.UInt64, wordTypes...)
			return kw.then(func() (*te.Tensor, error) { return topi.Bitpack(name, ts[0], bits, pack, bit, word) })
		}},
	"bitserial_conv2d": {"bitserial_conv2d(Xp, Wp, layout=NHWC|NCHW, stride=S, padding=P, polarity=unipolar|unsigned|bipolar, channels=C, out=int16|int32, pad_value=zero|one|minus_one)", 2,
		[]string{"layout", "stride", "padding", "polarity", "channels", "out", "pad_value"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			win, layout := kw.window(ts[1], 5)
			p := kw.bitserial("channels")
			kw.padValue(&p)
			return kw.then(func() (*te.Tensor, error) { return topi.BitserialConv2D(name, ts[0], ts[1], layout, win, p) })
		}},
	"bitserial_dense": {"bitserial_dense(Xp, Wp, polarity=unipolar|unsigned|bipolar, elements=K, out=int16|int32)", 2, []string{"polarity", "elements", "out"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			p := kw.bitserial("elements")
			return kw.then(func() (*te.Tensor, error) { return topi.BitserialDense(name, ts[0], ts[1], p) })
		}},
	"bitpack_conv2d": {"bitpack_conv2d(Xp, Wp, CB, Shift, layout=NHWC|NCHW, stride=S, padding=P, polarity=unipolar|unsigned|bipolar, channels=C, out=int16|int32, pad_value=zero|one|minus_one, bits=N, word=uint8|...|uint64)", 4,
		[]string{"layout", "stride", "padding", "polarity", "channels", "out", "pad_value", "bits", "word"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			win, layout := kw.window(ts[1], 5)
			p := kw.bitserial("channels")
			kw.padValue(&p)
			bits, word := kw.int("bits", -1), kw.wordType("word", ts[0].DType, wordTypes...)
			return kw.then(func() (*te.Tensor, error) {
				return topi.BitpackConv2D(name, ts[0], ts[1], ts[2], ts[3], layout, win, p, bits, word)
			})
		}},
	"fused_glue_bn": {"fused_glue_bn(Acc, alpha, mean, var, eps=E, axis=A, bits=N, rounding=exact|paper)", 4, []string{"eps", "axis", "bits", "rounding"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			eps, axis, bits := kw.number("eps", 1e-5), kw.int("axis", -1), kw.int("bits", -1)
			exact := kw.word("rounding", "exact", "exact", "paper") == "exact"
			return kw.then(func() (*te.Tensor, error) {
				return topi.FusedGlueBatchNorm(name, ts[0], ts[1], ts[2], ts[3], eps, axis, bits, exact, !kw.el.floatGlue)
			})
		}},
	"fused_glue": {"fused_glue(Acc, CB, Shift, axis=A, bits=N)", 3, []string{"axis", "bits"},
		func(name string, ts []*te.Tensor, kw *opArgs) (*te.Tensor, error) {
			axis, bits := kw.int("axis", -1), kw.int("bits", -1)
			return kw.then(func() (*te.Tensor, error) {
				if kw.el.floatGlue {
					return topi.FloatGlue(name, ts[0], ts[1], ts[2], axis, bits)
				}
				return topi.FusedGlue(name, ts[0], ts[1], ts[2], axis, bits)
			})
		}},
}

var wordTypes = []string{"uint8", "uint16", "uint32", "uint64"}

// opArgs are an operator call's keyword arguments, elaborated on demand so
// that each error points at its argument. The first error is kept (later
// reads return zero values) and ends the call in then.
type opArgs struct {
	el   *elab
	call *Call
	sig  string
	kw   map[string]*Arg
	err  error
}

// then makes the operator, unless reading a keyword failed.
func (a *opArgs) then(build func() (*te.Tensor, error)) (*te.Tensor, error) {
	if a.err != nil {
		return nil, a.err
	}
	return build()
}

func (a *opArgs) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

// opArgError is an operator argument's error, at the argument.
type opArgError struct {
	pos Pos
	msg string
}

func (e *opArgError) Error() string { return e.msg }

func (a *opArgs) at(pos Pos, format string, args ...any) {
	a.fail(&opArgError{pos, fmt.Sprintf(format, args...)})
}

func (a *opArgs) missing(key string) {
	a.at(a.call.Pos, "%s needs %s=...; it is called as %s", a.call.Func.Name, key, a.sig)
}

// ints elaborates an integer or a tuple of integers; nil when absent.
func (a *opArgs) ints(key string) ([]int64, *Arg) {
	arg := a.kw[key]
	if arg == nil || a.err != nil {
		return nil, nil
	}
	e := arg.Value
	elems := []*Expr{e}
	if p := e.First.Operand.Primary.Paren; p != nil && len(e.Rest) == 0 && len(e.First.Ops) == 0 && len(e.First.Operand.Index) == 0 {
		elems = append(append([]*Expr{}, p.Elems...), p.More...)
	}
	var out []int64
	for _, x := range elems {
		v, ok := a.el.constInt(x, key)
		if !ok {
			a.fail(errReported)
			return nil, nil
		}
		out = append(out, v)
	}
	return out, arg
}

// int is an integer keyword; def < 0 means it is required.
func (a *opArgs) int(key string, def int) int {
	vs, arg := a.ints(key)
	switch {
	case a.err != nil:
	case arg == nil && def < 0:
		a.missing(key)
	case arg == nil:
		return def
	case len(vs) != 1:
		a.at(arg.Value.Pos, "%s must be one integer", key)
	default:
		return int(vs[0])
	}
	return 0
}

func (a *opArgs) number(key string, def float64) float64 {
	arg := a.kw[key]
	if arg == nil || a.err != nil {
		return def
	}
	v, ok := a.el.constNumber(arg.Value)
	if !ok {
		a.fail(errReported)
	}
	return v
}

// word is a name keyword checked against the legal names; def "" means it
// is required.
func (a *opArgs) word(key, def string, legal ...string) string {
	arg := a.kw[key]
	switch {
	case a.err != nil:
		return ""
	case arg == nil && def == "":
		a.missing(key)
		return ""
	case arg == nil:
		return def
	}
	name, ok := asName(arg.Value)
	if w, isChoice := a.el.wordConstant(name); ok && !contains(legal, name) && isChoice {
		// a choice of the file: POLARITY = choice(bipolar, unipolar)
		if !contains(legal, w) {
			a.at(arg.Value.Pos, "%s is %s here, but %s must be one of %s", name, w, key, strings.Join(legal, ", "))
			return ""
		}
		return w
	}
	if !ok || !contains(legal, name) {
		a.at(arg.Value.Pos, "%s must be one of %s", key, strings.Join(legal, ", "))
		return ""
	}
	return name
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// wordType is a packing word keyword: a dtype among legal, or an integer
// constant giving its bits, so that a file can make the word width a knob
// (WORD = knob(8, 32), word=WORD: 32-bit words suit vpopcntd on AVX-512,
// bytes suit NEON's cnt and AVX2's table lookups).
func (a *opArgs) wordType(key string, def te.DType, legal ...string) te.DType {
	return a.typeByBits(key, "uint", def, legal, func(bits int64) string {
		return fmt.Sprintf("%s=%d: a word is given by its type (%s) or its bits (8, 16, 32 or 64)", key, bits, strings.Join(legal, ", "))
	})
}

// intType is a signed integer type keyword among legal, or an integer
// constant giving its bits, as wordType's words (ACC = knob(16, 32),
// out=ACC: 16-bit accumulators suit byte popcounts, 32-bit ones vpopcntd's
// 32-bit lanes).
func (a *opArgs) intType(key string, def te.DType, legal ...string) te.DType {
	return a.typeByBits(key, "int", def, legal, func(bits int64) string {
		given := fmt.Sprintf("%s=%d", key, bits)
		if name, isName := asName(a.kw[key].Value); isName {
			given = fmt.Sprintf("%s=%s: %s is %d here", key, name, name, bits)
		}
		return fmt.Sprintf("%s; %s is given by its type (%s) or its bits", given, key, strings.Join(legal, ", "))
	})
}

// typeByBits is a type keyword among legal, or an integer constant of the
// file (or a number) giving the bits of a type named prefix and its bits;
// illegal says what is wrong with bits that name no legal type.
func (a *opArgs) typeByBits(key, prefix string, def te.DType, legal []string, illegal func(bits int64) string) te.DType {
	arg := a.kw[key]
	if arg == nil || a.err != nil {
		return a.dtype(key, def, legal...)
	}
	if name, isName := asName(arg.Value); isName {
		b := a.el.fileBinding(name, bConst)
		if b == nil {
			return a.dtype(key, def, legal...) // a type's name (or a choice)
		}
		a.el.use(b)
	}
	bits, ok := a.el.constInt(arg.Value, key)
	if !ok {
		a.fail(errReported)
		return def
	}
	name := fmt.Sprintf("%s%d", prefix, bits)
	if !contains(legal, name) {
		a.at(arg.Value.Pos, "%s", illegal(bits))
		return def
	}
	t, _ := te.ParseDType(name)
	return t
}

// dtype is a dtype keyword among legal.
func (a *opArgs) dtype(key string, def te.DType, legal ...string) te.DType {
	t, _ := te.ParseDType(a.word(key, def.String(), legal...))
	return t
}

func (a *opArgs) layout() topi.Layout {
	return topi.Layout(a.word("layout", "NHWC", "NHWC", "NCHW"))
}

// pair is an (H, W) keyword given as one integer or two.
func (a *opArgs) pair(key string, def int) (int, int) {
	vs, arg := a.ints(key)
	switch {
	case a.err != nil:
	case arg == nil:
		return def, def
	case len(vs) == 1:
		return int(vs[0]), int(vs[0])
	case len(vs) == 2:
		return int(vs[0]), int(vs[1])
	default:
		a.at(arg.Value.Pos, "%s is one integer or (H, W)", key)
	}
	return 0, 0
}

// padding is one integer, (H, W), or (top, left, bottom, right).
func (a *opArgs) padding() topi.Padding {
	vs, arg := a.ints("padding")
	switch {
	case a.err != nil, arg == nil:
	case len(vs) == 1:
		return topi.Pad(int(vs[0]))
	case len(vs) == 2:
		return topi.Padding{Top: int(vs[0]), Left: int(vs[1]), Bottom: int(vs[0]), Right: int(vs[1])}
	case len(vs) == 4:
		return topi.Padding{Top: int(vs[0]), Left: int(vs[1]), Bottom: int(vs[2]), Right: int(vs[3])}
	default:
		a.at(arg.Value.Pos, "padding is one integer, (H, W), or (top, left, bottom, right)")
	}
	return topi.Padding{}
}

// window is a convolution's window: its size from the kernel's shape (a
// rank-dimensional tensor, HWIO-like first two axes for NHWC, last two for
// NCHW), stride and padding from the keywords.
func (a *opArgs) window(kernel *te.Tensor, rank int) (topi.Window, topi.Layout) {
	layout := a.layout()
	if a.err != nil {
		return topi.Window{}, layout
	}
	if len(kernel.Shape) != rank {
		a.at(a.call.Pos, "the kernel %s has %d dimensions; %s wants %d", kernel.Name, len(kernel.Shape), a.call.Func.Name, rank)
		return topi.Window{}, layout
	}
	hAxis := 0
	if layout == topi.NCHW {
		hAxis = rank - 2
	}
	kh, okH := te.IntValue(kernel.Shape[hAxis])
	kw, okW := te.IntValue(kernel.Shape[hAxis+1])
	if !okH || !okW {
		a.at(a.call.Pos, "the kernel %s has a symbolic window size", kernel.Name)
	}
	sh, sw := a.pair("stride", 1)
	return topi.Window{KH: int(kh), KW: int(kw), StrideH: sh, StrideW: sw, Pad: a.padding()}, layout
}

// pool is a pooling window: pool=(KH, KW), stride (default the window),
// padding.
func (a *opArgs) pool() (topi.Window, topi.Layout) {
	layout := a.layout()
	if a.kw["pool"] == nil {
		a.missing("pool")
	}
	kh, kw := a.pair("pool", 0)
	sh, sw := a.pair("stride", kh)
	if a.kw["stride"] == nil {
		sw = kw
	}
	return topi.Window{KH: kh, KW: kw, StrideH: sh, StrideW: sw, Pad: a.padding()}, layout
}

// bitserial reads polarity, the element count (under countKey) and out.
func (a *opArgs) bitserial(countKey string) topi.Bitserial {
	pol := a.word("polarity", "", "unipolar", "unsigned", "bipolar")
	p, _ := topi.ParsePolarity(pol) // the names are the legal ones
	n := a.int(countKey, -1)
	return topi.Bitserial{Polarity: p, Elements: n, Out: a.intType("out", te.Int32, "int16", "int32")}
}

// padValue reads pad_value (default zero) into p: one of the pad values,
// and minus_one only for bipolar activations (unipolar and unsigned ones
// have no -1).
func (a *opArgs) padValue(p *topi.Bitserial) {
	name := a.word("pad_value", "zero", padValueNames...)
	if a.err != nil {
		return
	}
	v, _ := topi.ParsePadValue(name) // the names are the legal ones
	if legal := topi.PadValueNames(p.Polarity); !contains(legal, name) {
		a.at(a.kw["pad_value"].Value.Pos, "pad_value must be one of %s with polarity=%v: %v activations have no -1", strings.Join(legal, ", "), p.Polarity, p.Polarity)
		return
	}
	p.PadValue = v
}

var padValueNames = topi.PadValueNames(topi.BipolarBipolar)

// operator elaborates an operator call; it reports whether name was one.
func (el *elab) operator(n *Name, call *Call) bool {
	spec, ok := ops[call.Func.Name]
	if !ok {
		return false
	}
	ca, ok := el.args(call, spec.sig, spec.tensors, spec.tensors, spec.keys...)
	if !ok {
		el.define(n, &binding{kind: bPoison})
		return true
	}
	var ts []*te.Tensor
	for _, arg := range ca.pos {
		name, isName := asName(arg.Value)
		if !isName {
			el.errs.add(arg.Value.Pos, "%s takes tensors as its first %d arguments; it is called as %s", call.Func.Name, spec.tensors, spec.sig)
			el.define(n, &binding{kind: bPoison})
			return true
		}
		b := el.lookupGlobal(&Name{Pos: arg.Value.Pos, Name: name}, nil)
		if b == nil || b.kind == bPoison {
			el.define(n, &binding{kind: bPoison})
			return true
		}
		if b.kind != bTensor && b.param != nil {
			el.errs.add(arg.Value.Pos, "parameter %s is the integer %s in this call; %s takes tensors as its first %d arguments", name, b.param.arg, call.Func.Name, spec.tensors)
			el.define(n, &binding{kind: bPoison})
			return true
		}
		if b.kind != bTensor {
			el.errs.add(arg.Value.Pos, "%s is a %s; %s takes tensors as its first %d arguments", name, describeBinding(b), call.Func.Name, spec.tensors)
			el.define(n, &binding{kind: bPoison})
			return true
		}
		ts = append(ts, b.tensor)
	}
	t, err := spec.build(el.tensorName(n.Name), ts, &opArgs{el: el, call: call, sig: spec.sig, kw: ca.kw})
	if err != nil {
		switch e := err.(type) {
		case *opArgError:
			el.errs.add(e.pos, "%s", e.msg)
		default:
			if err != errReported {
				el.errs.add(call.Pos, "%v", err)
			}
		}
		el.define(n, &binding{kind: bPoison})
		return true
	}
	// the operator's intermediate stages, then its output
	known := map[*te.Tensor]bool{}
	for _, x := range el.prog.Tensors {
		known[x] = true
	}
	for _, x := range te.PostOrder([]*te.Tensor{t}) {
		if known[x] || x == t {
			continue
		}
		local := el.localName(x.Name) // x.Name itself outside defs
		if old := el.globals[local]; old != nil {
			el.errs.add(n.Pos, "%s makes a stage named %s, but %s is already declared at %d:%d; rename one of them", call.Func.Name, local, local, old.pos.Line, old.pos.Column)
			continue
		}
		el.defineTensor(&Name{Pos: n.Pos, Name: local}, x)
	}
	el.defineTensor(n, t)
	return true
}
