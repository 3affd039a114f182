package llvmgen

import (
	"fmt"
	"math"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

// splat repeats a scalar in every lane (insertelement + shufflevector, which
// LLVM turns into a broadcast instruction).
func (g *gen) splat(v value.Value, lanes int) value.Value {
	if _, ok := v.Type().(*types.VectorType); ok {
		return v
	}
	vt := types.NewVector(uint64(lanes), v.Type())
	one := g.b.NewInsertElement(constant.NewUndef(vt), v, constant.NewInt(types.I64, 0))
	mask := constant.NewZeroInitializer(types.NewVector(uint64(lanes), types.I32))
	return g.b.NewShuffleVector(one, constant.NewUndef(vt), mask)
}

// contiguous returns the first index of a unit-stride ramp.
func contiguous(index te.Expr) (te.Expr, bool) {
	r, ok := index.(*lower.Ramp)
	if !ok {
		return nil, false
	}
	s, ok := r.Stride.(*te.IntImm)
	return r.Base, ok && s.Value == 1
}

// vectorPointer is the address of lanes consecutive elements from base.
func (g *gen) vectorPointer(b *lower.Buffer, base te.Expr, lanes int) value.Value {
	p := g.address(b, base)
	return g.b.NewBitCast(p, types.NewPointer(types.NewVector(uint64(lanes), memType(b.DType.Element()))))
}

func elemAlign(b *lower.Buffer) ir.Align { return ir.Align(max(1, b.DType.Element().Bytes())) }

func (g *gen) load(x *lower.Load) value.Value {
	lanes := x.Index.Type().Lanes
	et := x.Buffer.DType.Element()
	var v value.Value
	switch base, ok := contiguous(x.Index); {
	case lanes == 1:
		v = g.b.NewLoad(memType(et), g.address(x.Buffer, x.Index))
	case ok && x.Predicate == nil:
		l := g.b.NewLoad(memType(x.Buffer.DType.WithLanes(lanes)), g.vectorPointer(x.Buffer, base, lanes))
		l.Align = elemAlign(x.Buffer)
		v = l
	case ok && lanes&(lanes-1) != 0:
		// LLVM 14 miscompiles masked loads of odd widths on x86 (found by
		// the random tester: 9 lanes read wrong values), so such loads are
		// made lane by lane
		g.warnings = append(g.warnings, fmt.Sprintf("load %s: a masked load of %d lanes (not a power of two) is made lane by lane", te.ExprString(x), lanes))
		v = g.gather(x, lanes)
	case ok:
		// lanes the predicate excludes read nothing and give zero
		vt := memType(et.WithLanes(lanes))
		name := fmt.Sprintf("llvm.masked.load.%s.p0%s", vecSuffix(et, lanes), vecSuffix(et, lanes))
		fn := g.declare(name, vt, types.NewPointer(vt), types.I32, types.NewVector(uint64(lanes), types.I1), vt)
		v = g.b.NewCall(fn, g.vectorPointer(x.Buffer, base, lanes), constant.NewInt(types.I32, int64(elemAlign(x.Buffer))),
			g.expr(x.Predicate), constant.NewZeroInitializer(vt))
	default:
		// lower's vectorize pass has warned about it, at the schedule's line
		v = g.gather(x, lanes)
	}
	if et.IsBool() {
		return g.b.NewTrunc(v, regType(x.Type()))
	}
	return v
}

// gather loads each lane on its own, under its predicate when there is one.
func (g *gen) gather(x *lower.Load, lanes int) value.Value {
	et := memType(x.Buffer.DType.Element())
	idx := g.expr(x.Index)
	var pred value.Value
	if x.Predicate != nil {
		pred = g.expr(x.Predicate)
	}
	var out value.Value = constant.NewZeroInitializer(types.NewVector(uint64(lanes), et))
	for l := 0; l < lanes; l++ {
		lane := constant.NewInt(types.I64, int64(l))
		read := func() value.Value {
			i := g.b.NewExtractElement(idx, lane)
			return g.b.NewLoad(et, g.b.NewGetElementPtr(et, g.bufs[x.Buffer], i))
		}
		var v value.Value
		if pred != nil {
			v = g.branch(g.b.NewExtractElement(pred, lane), read, func() value.Value { return zeroOf(et) })
		} else {
			v = read()
		}
		out = g.b.NewInsertElement(out, v, lane)
	}
	return out
}

func zeroOf(t types.Type) constant.Constant {
	if ft, ok := t.(*types.FloatType); ok {
		return constant.NewFloat(ft, 0)
	}
	return constant.NewInt(t.(*types.IntType), 0)
}

func vecSuffix(et te.DType, lanes int) string {
	e := fmt.Sprintf("i%d", et.Bits)
	switch {
	case et.IsBool():
		e = "i8"
	case et.IsFloat():
		e = fmt.Sprintf("f%d", et.Bits)
	}
	return fmt.Sprintf("v%d%s", lanes, e)
}

func (g *gen) store(s *lower.Store) {
	lanes := s.Index.Type().Lanes
	v := g.expr(s.Value)
	if s.Buffer.DType.IsBool() {
		v = g.b.NewZExt(v, memType(s.Buffer.DType.WithLanes(lanes)))
	}
	if lanes == 1 {
		g.b.NewStore(v, g.address(s.Buffer, s.Index))
		return
	}
	if base, ok := contiguous(s.Index); ok {
		st := g.b.NewStore(v, g.vectorPointer(s.Buffer, base, lanes))
		st.Align = elemAlign(s.Buffer)
		return
	}
	// lower's vectorize pass has warned about it, at the schedule's line
	idx := g.expr(s.Index)
	et := memType(s.Buffer.DType.Element())
	for l := 0; l < lanes; l++ {
		lane := constant.NewInt(types.I64, int64(l))
		p := g.b.NewGetElementPtr(et, g.bufs[s.Buffer], g.b.NewExtractElement(idx, lane))
		g.b.NewStore(g.b.NewExtractElement(v, lane), p)
	}
}

// vectorReduce combines the lanes, lane 0 first: integer reductions with
// LLVM's declared (exact in any order), a float sum with the ordered
// llvm.vector.reduce.fadd (no reassociation: strict semantics), float
// min/max as a chain of llvm.minimum/llvm.maximum (LLVM 14 has no
// NaN-propagating vector reduction; the chain is exact in any order).
func (g *gen) vectorReduce(x *lower.VectorReduce) value.Value {
	vt := x.Value.Type()
	et := vt.Element()
	v := g.expr(x.Value)
	ret := regType(et)
	if et.IsFloat() {
		if x.Op == te.Add {
			fn := g.declare("llvm.vector.reduce.fadd."+typeSuffix(vt), ret, ret, regType(vt))
			return g.b.NewCall(fn, floatConst(ret, negZero()), v)
		}
		var acc value.Value = g.b.NewExtractElement(v, constant.NewInt(types.I64, 0))
		for l := 1; l < vt.Lanes; l++ {
			b := g.b.NewExtractElement(v, constant.NewInt(types.I64, int64(l)))
			acc = g.floatMinMax(x.Op, et, acc, b)
		}
		return acc
	}
	if x.Op == te.Add {
		if bits, ok := shiftedBits(x.Value); ok {
			return g.packBits(bits, ret)
		}
	}
	name := map[te.BinOp]string{te.Add: "add", te.Min: "smin", te.Max: "smax"}[x.Op]
	if !et.IsInt() && x.Op != te.Add {
		name = map[te.BinOp]string{te.Min: "umin", te.Max: "umax"}[x.Op]
	}
	fn := g.declare("llvm.vector.reduce."+name+"."+typeSuffix(vt), ret, regType(vt))
	return g.b.NewCall(fn, v)
}

// shiftedBits matches the lanes of a bitpack, b << <0, 1, ..., N-1> with
// every lane of b 0 or 1 and N at most the element's bits: their sum is
// the N-bit mask of b's lanes, lane i in bit i. It returns b.
func shiftedBits(e te.Expr) (te.Expr, bool) {
	x, ok := e.(*te.Binary)
	if !ok || x.Op != te.Shl {
		return nil, false
	}
	r, ok := x.B.(*lower.Ramp)
	if !ok || r.Lanes > x.Type().Bits {
		return nil, false
	}
	base, ok0 := te.IntValue(r.Base)
	stride, ok1 := te.IntValue(r.Stride)
	if !ok0 || !ok1 || base != 0 || stride != 1 || !zeroOrOne(x.A) {
		return nil, false
	}
	return x.A, true
}

// zeroOrOne reports whether every lane of the integer expression e is 0 or
// 1, by its form: a bool, the constant 0 or 1, x & 1, a select between
// such, or a cast or broadcast of such.
func zeroOrOne(e te.Expr) bool {
	if e.Type().IsBool() {
		return true
	}
	if v, ok := splatValue(e); ok {
		return v == 0 || v == 1
	}
	switch x := e.(type) {
	case *te.Binary:
		isOne := func(e te.Expr) bool { v, ok := splatValue(e); return ok && v == 1 }
		return x.Op == te.BitAnd && (isOne(x.A) || isOne(x.B))
	case *te.Cast:
		return !x.X.Type().IsFloat() && zeroOrOne(x.X)
	case *te.Select:
		return zeroOrOne(x.True) && zeroOrOne(x.False)
	case *lower.Broadcast:
		return zeroOrOne(x.Value)
	}
	return false
}

// splatValue is the value of an integer constant or of a broadcast of one.
func splatValue(e te.Expr) (int64, bool) {
	if b, ok := e.(*lower.Broadcast); ok {
		e = b.Value
	}
	return te.IntValue(e)
}

// packBits is the mask of bits (lanes of 0 and 1) as an integer of type
// ret: a compare into <N x i1> and a bitcast to iN, which AVX-512 does
// with a mask register (vptestm, kmov), where the sum of shifted lanes
// took a horizontal add per word. AArch64 has no mask move: LLVM 14
// expands the bitcast lane by lane (a umov and a bfi per bit: 83% of the
// cortex-a53 estimate of SqueezeNet's 1x1 expand layers), so there the
// lanes select their powers of two in the narrowest integers that hold
// the word, and one addv sums them.
func (g *gen) packBits(bits te.Expr, ret types.Type) value.Value {
	v := g.expr(bits)
	n := uint64(bits.Type().Lanes)
	mask := v
	if !bits.Type().IsBool() {
		mask = g.b.NewICmp(enum.IPredNE, v, constant.NewZeroInitializer(v.Type()))
	}
	var word value.Value
	if g.target.IsAArch64() {
		word = g.sumOfPowers(mask, n)
	} else {
		word = g.b.NewBitCast(mask, types.NewInt(n))
	}
	if rt := ret.(*types.IntType); rt.BitSize > n {
		return g.b.NewZExt(word, rt)
	}
	return word
}

// sumOfPowers is the n-bit word of an <n x i1> mask: its lanes select
// their powers of two in the narrowest integers that hold the word, which
// llvm.vector.reduce.add sums (cmgt, narrowing, bic and one addv on NEON).
func (g *gen) sumOfPowers(mask value.Value, n uint64) value.Value {
	lanes := te.DType{Kind: te.KindUInt, Bits: 8, Lanes: int(n)}
	for uint64(lanes.Bits) < n {
		lanes.Bits *= 2
	}
	et, vt := types.NewInt(uint64(lanes.Bits)), types.NewVector(n, types.NewInt(uint64(lanes.Bits)))
	powers := make([]constant.Constant, n)
	for i := range powers {
		powers[i] = constant.NewInt(et, int64(1)<<i)
	}
	sel := g.b.NewSelect(mask, constant.NewVector(vt, powers...), constant.NewZeroInitializer(vt))
	var word value.Value = g.b.NewCall(g.declare("llvm.vector.reduce.add."+typeSuffix(lanes), et, vt), sel)
	if uint64(lanes.Bits) > n {
		word = g.b.NewTrunc(word, types.NewInt(n))
	}
	return word
}

// negZero is -0.0, the identity of an ordered float sum (0.0 + -0.0 would
// turn a -0.0 sum positive).
func negZero() float64 { return math.Copysign(0, -1) }
