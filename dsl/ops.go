package dsl

import (
	"fmt"
	"sort"
	"strings"

	"tide/te"
	"tide/topi"
)

// An operator call declares a tensor with an operator of the library
// (topi): Y = conv2d(X, W, layout=NHWC, stride=1, padding=1). Its
// intermediate stages (Y_pad, Y_acc, ...) become names too, so that
// schedule blocks can name them.
type opSpec struct {
	sig     string   // how it is called, for messages
	tensors int      // positional tensor arguments
	keys    []string // keyword arguments
	build   func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error)
}

var ops = map[string]opSpec{
	"conv2d": {"conv2d(X, W, layout=NHWC|NCHW, stride=S|(SH, SW), padding=P|(T, L, B, R))", 2, []string{"layout", "stride", "padding"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			win, layout, err := kw.window(ts[1], 4)
			if err != nil {
				return nil, err
			}
			return topi.Conv2D(name, ts[0], ts[1], layout, win)
		}},
	"dense": {"dense(X, W)", 2, nil, func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
		return topi.Dense(name, ts[0], ts[1])
	}},
	"max_pool2d": {"max_pool2d(X, pool=(KH, KW), layout=NHWC|NCHW, stride=S, padding=P)", 1, []string{"pool", "layout", "stride", "padding"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			win, layout, err := kw.pool()
			if err != nil {
				return nil, err
			}
			return topi.MaxPool2D(name, ts[0], layout, win)
		}},
	"avg_pool2d": {"avg_pool2d(X, pool=(KH, KW), layout=NHWC|NCHW, stride=S, padding=P)", 1, []string{"pool", "layout", "stride", "padding"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			win, layout, err := kw.pool()
			if err != nil {
				return nil, err
			}
			return topi.AvgPool2D(name, ts[0], layout, win)
		}},
	"global_avg_pool2d": {"global_avg_pool2d(X, layout=NHWC|NCHW)", 1, []string{"layout"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			layout, err := kw.layout()
			if err != nil {
				return nil, err
			}
			return topi.GlobalAvgPool2D(name, ts[0], layout)
		}},
	"relu": {"relu(X)", 1, nil, func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
		return topi.ReLU(name, ts[0])
	}},
	"bias_add": {"bias_add(X, B, axis=A)", 2, []string{"axis"}, func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
		axis, err := kw.int("axis", -1)
		if err != nil {
			return nil, err
		}
		return topi.BiasAdd(name, ts[0], ts[1], int(axis))
	}},
	"batch_norm": {"batch_norm(X, gamma, beta, mean, var, eps=E, axis=A)", 5, []string{"eps", "axis"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			axis, err := kw.int("axis", -1)
			if err != nil {
				return nil, err
			}
			eps, err := kw.number("eps", 1e-5)
			if err != nil {
				return nil, err
			}
			return topi.BatchNorm(name, ts[0], ts[1], ts[2], ts[3], ts[4], eps, int(axis))
		}},
	"add": {"add(A, B)", 2, nil, func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
		return topi.Add(name, ts[0], ts[1])
	}},
	"quantize": {"quantize(X, bits=N)", 1, []string{"bits"}, func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
		bits, err := kw.int("bits", -1)
		if err != nil {
			return nil, err
		}
		return topi.Quantize(name, ts[0], int(bits))
	}},
	"bitpack": {"bitpack(X, bits=N, pack_axis=A, bit_axis=B, word=uint8|uint16|uint32|uint64)", 1, []string{"bits", "pack_axis", "bit_axis", "word"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			bits, err := kw.int("bits", -1)
			if err != nil {
				return nil, err
			}
			pack, err := kw.int("pack_axis", -1)
			if err != nil {
				return nil, err
			}
			bit, err := kw.int("bit_axis", pack)
			if err != nil {
				return nil, err
			}
			word, err := kw.dtype("word", te.UInt64, wordTypes...)
			if err != nil {
				return nil, err
			}
			return topi.Bitpack(name, ts[0], int(bits), int(pack), int(bit), word)
		}},
	"bitserial_conv2d": {"bitserial_conv2d(Xp, Wp, layout=NHWC|NCHW, stride=S, padding=P, polarity=unipolar|unsigned|bipolar, channels=C, out=int16|int32)", 2,
		[]string{"layout", "stride", "padding", "polarity", "channels", "out"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			win, layout, err := kw.window(ts[1], 5)
			if err != nil {
				return nil, err
			}
			p, err := kw.bitserial("channels")
			if err != nil {
				return nil, err
			}
			return topi.BitserialConv2D(name, ts[0], ts[1], layout, win, p)
		}},
	"bitserial_dense": {"bitserial_dense(Xp, Wp, polarity=unipolar|unsigned|bipolar, elements=K, out=int16|int32)", 2, []string{"polarity", "elements", "out"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			p, err := kw.bitserial("elements")
			if err != nil {
				return nil, err
			}
			return topi.BitserialDense(name, ts[0], ts[1], p)
		}},
	"bitpack_conv2d": {"bitpack_conv2d(Xp, Wp, CB, Shift, layout=NHWC|NCHW, stride=S, padding=P, polarity=unipolar|unsigned|bipolar, channels=C, out=int16|int32, bits=N, word=uint8|...|uint64)", 4,
		[]string{"layout", "stride", "padding", "polarity", "channels", "out", "bits", "word"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			win, layout, err := kw.window(ts[1], 5)
			if err != nil {
				return nil, err
			}
			p, err := kw.bitserial("channels")
			if err != nil {
				return nil, err
			}
			bits, err := kw.int("bits", -1)
			if err != nil {
				return nil, err
			}
			word, err := kw.dtype("word", ts[0].DType, wordTypes...)
			if err != nil {
				return nil, err
			}
			return topi.BitpackConv2D(name, ts[0], ts[1], ts[2], ts[3], layout, win, p, int(bits), word)
		}},
	"fused_glue": {"fused_glue(Acc, CB, Shift, axis=A, bits=N)", 3, []string{"axis", "bits"},
		func(el *elab, name string, ts []*te.Tensor, kw opArgs) (*te.Tensor, error) {
			axis, err := kw.int("axis", -1)
			if err != nil {
				return nil, err
			}
			bits, err := kw.int("bits", -1)
			if err != nil {
				return nil, err
			}
			return topi.FusedGlue(name, ts[0], ts[1], ts[2], int(axis), int(bits))
		}},
}

var wordTypes = []string{"uint8", "uint16", "uint32", "uint64"}

// OperatorNames are the operator calls the language accepts.
func OperatorNames() []string {
	var names []string
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// opArgs are an operator call's keyword arguments, elaborated on demand so
// that each error points at its argument.
type opArgs struct {
	el   *elab
	call *Call
	sig  string
	kw   map[string]*Arg
}

// argError is an operator argument's error, at the argument.
type opArgError struct {
	pos Pos
	msg string
}

func (e *opArgError) Error() string { return e.msg }

func (a opArgs) missing(key string) error {
	return &opArgError{a.call.Pos, fmt.Sprintf("%s needs %s=...; it is called as %s", a.call.Func.Name, key, a.sig)}
}

// ints elaborates an integer or a tuple of integers.
func (a opArgs) ints(key string) ([]int64, *Arg, error) {
	arg := a.kw[key]
	if arg == nil {
		return nil, nil, nil
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
			return nil, arg, errReported
		}
		out = append(out, v)
	}
	return out, arg, nil
}

// int is an integer keyword; def < 0 means it is required.
func (a opArgs) int(key string, def int64) (int64, error) {
	vs, arg, err := a.ints(key)
	switch {
	case err != nil:
		return 0, err
	case arg == nil && def < 0:
		return 0, a.missing(key)
	case arg == nil:
		return def, nil
	case len(vs) != 1:
		return 0, &opArgError{arg.Value.Pos, fmt.Sprintf("%s must be one integer", key)}
	}
	return vs[0], nil
}

func (a opArgs) number(key string, def float64) (float64, error) {
	arg := a.kw[key]
	if arg == nil {
		return def, nil
	}
	v, ok := a.el.constNumber(arg.Value)
	if !ok {
		return 0, errReported
	}
	return v, nil
}

// word is a name keyword checked against the legal names.
func (a opArgs) word(key, def string, legal ...string) (string, *Arg, error) {
	arg := a.kw[key]
	if arg == nil {
		if def == "" {
			return "", nil, a.missing(key)
		}
		return def, nil, nil
	}
	name, ok := asName(arg.Value)
	if !ok || !contains(legal, name) {
		return "", arg, &opArgError{arg.Value.Pos, fmt.Sprintf("%s must be one of %s", key, strings.Join(legal, ", "))}
	}
	return name, arg, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// dtype is a dtype keyword among legal.
func (a opArgs) dtype(key string, def te.DType, legal ...string) (te.DType, error) {
	name, _, err := a.word(key, def.String(), legal...)
	if err != nil {
		return te.Invalid, err
	}
	t, _ := te.ParseDType(name)
	return t, nil
}

func (a opArgs) layout() (topi.Layout, error) {
	name, _, err := a.word("layout", "NHWC", "NHWC", "NCHW")
	return topi.Layout(name), err
}

// pair is an (H, W) keyword given as one integer or two.
func (a opArgs) pair(key string, def int64) (int, int, error) {
	vs, arg, err := a.ints(key)
	switch {
	case err != nil:
		return 0, 0, err
	case arg == nil:
		return int(def), int(def), nil
	case len(vs) == 1:
		return int(vs[0]), int(vs[0]), nil
	case len(vs) == 2:
		return int(vs[0]), int(vs[1]), nil
	}
	return 0, 0, &opArgError{arg.Value.Pos, fmt.Sprintf("%s is one integer or (H, W)", key)}
}

// padding is one integer, (H, W), or (top, left, bottom, right).
func (a opArgs) padding() (topi.Padding, error) {
	vs, arg, err := a.ints("padding")
	switch {
	case err != nil:
		return topi.Padding{}, err
	case arg == nil:
		return topi.Padding{}, nil
	case len(vs) == 1:
		return topi.Pad(int(vs[0])), nil
	case len(vs) == 2:
		return topi.Padding{Top: int(vs[0]), Left: int(vs[1]), Bottom: int(vs[0]), Right: int(vs[1])}, nil
	case len(vs) == 4:
		return topi.Padding{Top: int(vs[0]), Left: int(vs[1]), Bottom: int(vs[2]), Right: int(vs[3])}, nil
	}
	return topi.Padding{}, &opArgError{arg.Value.Pos, "padding is one integer, (H, W), or (top, left, bottom, right)"}
}

// window is a convolution's window: its size from the kernel's shape (a
// rank-dimensional tensor, HWIO-like first two axes for NHWC, last two for
// NCHW), stride and padding from the keywords.
func (a opArgs) window(kernel *te.Tensor, rank int) (topi.Window, topi.Layout, error) {
	layout, err := a.layout()
	if err != nil {
		return topi.Window{}, "", err
	}
	if len(kernel.Shape) != rank {
		return topi.Window{}, "", &opArgError{a.call.Pos, fmt.Sprintf("the kernel %s has %d dimensions; %s wants %d", kernel.Name, len(kernel.Shape), a.call.Func.Name, rank)}
	}
	hAxis := 0
	if layout == topi.NCHW {
		hAxis = rank - 2
	}
	kh, okH := te.IntValue(kernel.Shape[hAxis])
	kw, okW := te.IntValue(kernel.Shape[hAxis+1])
	if !okH || !okW {
		return topi.Window{}, "", &opArgError{a.call.Pos, fmt.Sprintf("the kernel %s has a symbolic window size", kernel.Name)}
	}
	sh, sw, err := a.pair("stride", 1)
	if err != nil {
		return topi.Window{}, "", err
	}
	pad, err := a.padding()
	if err != nil {
		return topi.Window{}, "", err
	}
	return topi.Window{KH: int(kh), KW: int(kw), StrideH: sh, StrideW: sw, Pad: pad}, layout, nil
}

// pool is a pooling window: pool=(KH, KW), stride (default the window),
// padding.
func (a opArgs) pool() (topi.Window, topi.Layout, error) {
	layout, err := a.layout()
	if err != nil {
		return topi.Window{}, "", err
	}
	if a.kw["pool"] == nil {
		return topi.Window{}, "", a.missing("pool")
	}
	kh, kw, err := a.pair("pool", 0)
	if err != nil {
		return topi.Window{}, "", err
	}
	sh, sw, err := a.pair("stride", int64(kh))
	if err != nil {
		return topi.Window{}, "", err
	}
	if a.kw["stride"] == nil {
		sw = kw
	}
	pad, err := a.padding()
	if err != nil {
		return topi.Window{}, "", err
	}
	return topi.Window{KH: kh, KW: kw, StrideH: sh, StrideW: sw, Pad: pad}, layout, nil
}

// bitserial reads polarity, the element count (under countKey) and out.
func (a opArgs) bitserial(countKey string) (topi.Bitserial, error) {
	pol, _, err := a.word("polarity", "", "unipolar", "unsigned", "bipolar")
	if err != nil {
		return topi.Bitserial{}, err
	}
	p, err := topi.ParsePolarity(pol)
	if err != nil {
		return topi.Bitserial{}, err
	}
	n, err := a.int(countKey, -1)
	if err != nil {
		return topi.Bitserial{}, err
	}
	out, err := a.dtype("out", te.Int32, "int16", "int32")
	if err != nil {
		return topi.Bitserial{}, err
	}
	return topi.Bitserial{Polarity: p, Elements: int(n), Out: out}, nil
}

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
		if b.kind != bTensor {
			el.errs.add(arg.Value.Pos, "%s is a %s; %s takes tensors as its first %d arguments", name, describeBinding(b), call.Func.Name, spec.tensors)
			el.define(n, &binding{kind: bPoison})
			return true
		}
		ts = append(ts, b.tensor)
	}
	t, err := spec.build(el, n.Name, ts, opArgs{el: el, call: call, sig: spec.sig, kw: ca.kw})
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
		if old := el.globals[x.Name]; old != nil {
			el.errs.add(n.Pos, "%s makes a stage named %s, but %s is already declared at %d:%d; rename one of them", call.Func.Name, x.Name, x.Name, old.pos.Line, old.pos.Column)
			continue
		}
		el.defineTensor(&Name{Pos: n.Pos, Name: x.Name}, x)
	}
	el.defineTensor(n, t)
	return true
}
