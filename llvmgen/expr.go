package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

// Scalar expressions, with the semantics of te/semantics.go: integers wrap
// at their width (LLVM's add/sub/mul do), / and % truncate (sdiv/srem),
// floordiv/floormod round toward minus infinity, >> is arithmetic on signed
// types, float operations are not fused or reassociated, min is
// select(a < b, a, b), && || and if_then_else evaluate only what they need.

func (g *gen) expr(e te.Expr) value.Value {
	switch x := e.(type) {
	case *te.IntImm:
		if x.T.IsBool() {
			return constant.NewBool(x.Value != 0)
		}
		return constant.NewInt(regType(x.T).(*types.IntType), x.Value)
	case *te.FloatImm:
		return constant.NewFloat(regType(x.T).(*types.FloatType), x.Value)
	case *te.Var:
		v, ok := g.vars[x]
		if !ok {
			fail("variable %s is used outside its loop", x.Name)
		}
		return v
	case *lower.Load:
		return g.load(x)
	case *lower.Ramp:
		// base + stride * <0, 1, ..., L-1>
		lanes := make([]constant.Constant, x.Lanes)
		for i := range lanes {
			lanes[i] = constant.NewInt(types.I64, int64(i))
		}
		iota := constant.NewVector(types.NewVector(uint64(x.Lanes), types.I64), lanes...)
		base, stride := g.splat(g.expr(x.Base), x.Lanes), g.splat(g.expr(x.Stride), x.Lanes)
		return g.b.NewAdd(base, g.b.NewMul(stride, iota))
	case *lower.Broadcast:
		return g.splat(g.expr(x.Value), x.Lanes)
	case *lower.VectorReduce:
		return g.vectorReduce(x)
	case *te.Binary:
		return g.binary(x)
	case *te.Unary:
		return g.unary(x)
	case *te.Cast:
		return g.cast(x.T, x.X.Type(), g.expr(x.X))
	case *te.Select:
		if !x.Lazy || x.Cond.Type().Lanes > 1 {
			// a lane-dependent condition: the vectorizer predicated the
			// loads of both sides, so both may be evaluated
			return g.b.NewSelect(g.expr(x.Cond), g.expr(x.True), g.expr(x.False))
		}
		return g.branch(g.expr(x.Cond), func() value.Value { return g.expr(x.True) }, func() value.Value { return g.expr(x.False) })
	}
	fail("cannot generate code for %T %s yet", e, te.ExprString(e))
	return nil
}

// branch evaluates one of two expressions, as a conditional branch and a phi.
func (g *gen) branch(cond value.Value, then, els func() value.Value) value.Value {
	tb, eb, join := g.block("sel.then"), g.block("sel.else"), g.block("sel.end")
	g.b.NewCondBr(cond, tb, eb)
	g.b = tb
	tv := then()
	tEnd := g.b
	g.b.NewBr(join)
	g.b = eb
	ev := els()
	eEnd := g.b
	g.b.NewBr(join)
	g.b = join
	return join.NewPhi(ir.NewIncoming(tv, tEnd), ir.NewIncoming(ev, eEnd))
}

var intPred = map[te.BinOp][2]enum.IPred{ // signed, unsigned
	te.EQ: {enum.IPredEQ, enum.IPredEQ}, te.NE: {enum.IPredNE, enum.IPredNE},
	te.LT: {enum.IPredSLT, enum.IPredULT}, te.LE: {enum.IPredSLE, enum.IPredULE},
	te.GT: {enum.IPredSGT, enum.IPredUGT}, te.GE: {enum.IPredSGE, enum.IPredUGE},
}

// ordered comparisons are false on NaN; != is true (as in the evaluator)
var floatPred = map[te.BinOp]enum.FPred{
	te.EQ: enum.FPredOEQ, te.NE: enum.FPredUNE, te.LT: enum.FPredOLT,
	te.LE: enum.FPredOLE, te.GT: enum.FPredOGT, te.GE: enum.FPredOGE,
}

func (g *gen) binary(x *te.Binary) value.Value {
	ot := x.A.Type()
	if (x.Op == te.And || x.Op == te.Or) && ot.Lanes == 1 {
		{
			// short-circuit: the right side may read where the left forbids
			a := g.expr(x.A)
			if x.Op == te.And {
				return g.branch(a, func() value.Value { return g.expr(x.B) }, func() value.Value { return constant.False })
			}
			return g.branch(a, func() value.Value { return constant.True }, func() value.Value { return g.expr(x.B) })
		}
	}
	a, b := g.expr(x.A), g.expr(x.B)
	if ot.IsFloat() {
		if p, ok := floatPred[x.Op]; ok {
			return g.b.NewFCmp(p, a, b)
		}
		switch x.Op {
		case te.Add:
			return g.b.NewFAdd(a, b)
		case te.Sub:
			return g.b.NewFSub(a, b)
		case te.Mul:
			return g.b.NewFMul(a, b)
		case te.Div:
			return g.b.NewFDiv(a, b)
		case te.Min, te.Max:
			return g.floatMinMax(x.Op, ot, a, b)
		case te.Pow:
			lt := regType(ot)
			return g.b.NewCall(g.declare("llvm.pow."+typeSuffix(ot), lt, lt, lt), a, b)
		}
		fail("float operation %s is not supported", x.Op)
	}
	signed := ot.IsInt()
	pick := func(s, u int) int {
		if signed {
			return s
		}
		return u
	}
	if p, ok := intPred[x.Op]; ok {
		return g.b.NewICmp(p[pick(0, 1)], a, b)
	}
	switch x.Op {
	case te.Add:
		return g.b.NewAdd(a, b)
	case te.Sub:
		return g.b.NewSub(a, b)
	case te.Mul:
		return g.b.NewMul(a, b)
	case te.Div:
		if signed {
			return g.b.NewSDiv(a, b)
		}
		return g.b.NewUDiv(a, b)
	case te.Mod:
		if signed {
			return g.b.NewSRem(a, b)
		}
		return g.b.NewURem(a, b)
	case te.FloorDiv, te.FloorMod:
		if !signed {
			if x.Op == te.FloorDiv {
				return g.b.NewUDiv(a, b)
			}
			return g.b.NewURem(a, b)
		}
		return g.floorDivMod(x.Op, a, b)
	case te.Min:
		return g.b.NewSelect(g.b.NewICmp(intPred[te.LT][pick(0, 1)], a, b), a, b)
	case te.Max:
		return g.b.NewSelect(g.b.NewICmp(intPred[te.GT][pick(0, 1)], a, b), a, b)
	case te.BitAnd, te.And:
		return g.b.NewAnd(a, b)
	case te.BitOr, te.Or:
		return g.b.NewOr(a, b)
	case te.BitXor:
		return g.b.NewXor(a, b)
	case te.Shl, te.Shr:
		// the amount may have another integer type: bring it to a's width
		b = g.cast(ot, x.B.Type(), b)
		if x.Op == te.Shl {
			return g.b.NewShl(a, b)
		}
		if signed {
			return g.b.NewAShr(a, b)
		}
		return g.b.NewLShr(a, b)
	}
	fail("integer operation %s is not supported", x.Op)
	return nil
}

// floorDivMod: q = a sdiv b, r = a srem b; when r != 0 and r and b differ
// in sign, floor is q - 1 and the floor remainder r + b.
func (g *gen) floorDivMod(op te.BinOp, a, b value.Value) value.Value {
	t := a.Type()
	q, r := g.b.NewSDiv(a, b), g.b.NewSRem(a, b)
	zero := intConst(t, 0)
	adjust := g.b.NewAnd(g.b.NewICmp(enum.IPredNE, r, zero),
		g.b.NewICmp(enum.IPredNE, g.b.NewICmp(enum.IPredSLT, r, zero), g.b.NewICmp(enum.IPredSLT, b, zero)))
	if op == te.FloorDiv {
		return g.b.NewSelect(adjust, g.b.NewSub(q, intConst(t, 1)), q)
	}
	return g.b.NewSelect(adjust, g.b.NewAdd(r, b), r)
}

func (g *gen) unary(x *te.Unary) value.Value {
	if v, ok := g.broadcastPopcount(x); ok {
		return v
	}
	t := x.X.Type()
	a := g.expr(x.X)
	lt := regType(t)
	suffix := typeSuffix(t)
	if t.IsFloat() {
		switch x.Op {
		case te.Neg:
			return g.b.NewFNeg(a)
		case te.Abs:
			return g.b.NewCall(g.declare("llvm.fabs."+suffix, lt, lt), a)
		case te.Exp, te.Sqrt, te.Round, te.Floor, te.Log2, te.Log, te.Exp2:
			name := map[te.UnOp]string{te.Exp: "exp", te.Sqrt: "sqrt", te.Round: "roundeven", te.Floor: "floor",
				te.Log2: "log2", te.Log: "log", te.Exp2: "exp2"}[x.Op]
			return g.b.NewCall(g.declare("llvm."+name+"."+suffix, lt, lt), a)
		case te.Sigmoid:
			// 1 / (1 + exp(-x)): exp overflows to +inf for x below about
			// -88 (float32), which gives 0, the limit
			e := g.b.NewCall(g.declare("llvm.exp."+suffix, lt, lt), g.b.NewFNeg(a))
			return g.b.NewFDiv(floatConst(lt, 1), g.b.NewFAdd(floatConst(lt, 1), e))
		case te.Tanh, te.Erf:
			// LLVM has no intrinsic for these: libm's (linked with -lm)
			return g.libmCall(x.Op.String(), t, a)
		}
		fail("float operation %s is not supported", x.Op)
	}
	switch x.Op {
	case te.Neg:
		return g.b.NewSub(intConst(lt, 0), a)
	case te.Not:
		return g.b.NewXor(a, intConst(lt, 1))
	case te.BitNot:
		return g.b.NewXor(a, intConst(lt, -1))
	case te.Abs:
		if !t.IsInt() {
			return a
		}
		neg := g.b.NewICmp(enum.IPredSLT, a, intConst(lt, 0))
		return g.b.NewSelect(neg, g.b.NewSub(intConst(lt, 0), a), a)
	case te.Popcount:
		return g.b.NewCall(g.declare("llvm.ctpop."+suffix, lt, lt), a)
	}
	fail("integer operation %s is not supported", x.Op)
	return nil
}

// libmCall calls the C library's function name (tanh, erf) on a float or
// a vector of floats of type t: tanhf on float32, tanh on float64, lane by
// lane on a vector (libm has no vector forms that both targets share).
func (g *gen) libmCall(name string, t te.DType, a value.Value) value.Value {
	et := t.Element()
	if et.Bits == 32 {
		name += "f"
	}
	elem := regType(et)
	fn := g.declare(name, elem, elem)
	if t.Lanes == 1 {
		return g.b.NewCall(fn, a)
	}
	var out value.Value = constant.NewUndef(regType(t).(*types.VectorType))
	for l := 0; l < t.Lanes; l++ {
		lane := constant.NewInt(types.I32, int64(l))
		r := g.b.NewCall(fn, g.b.NewExtractElement(a, lane))
		out = g.b.NewInsertElement(out, r, lane)
	}
	return out
}

// typeSuffix is LLVM's overloaded-intrinsic suffix: i32, f32, v8i32, v4f32.
func typeSuffix(t te.DType) string {
	e := fmt.Sprintf("i%d", t.Bits)
	if t.IsFloat() {
		e = fmt.Sprintf("f%d", t.Bits)
	}
	if t.IsBool() {
		e = "i1"
	}
	if t.Lanes > 1 {
		return fmt.Sprintf("v%d%s", t.Lanes, e)
	}
	return e
}

// intConst is an integer constant of type t, splat when t is a vector.
func intConst(t types.Type, v int64) constant.Constant {
	if vt, ok := t.(*types.VectorType); ok {
		elems := make([]constant.Constant, vt.Len)
		for i := range elems {
			elems[i] = intConst(vt.ElemType, v)
		}
		return constant.NewVector(vt, elems...)
	}
	it := t.(*types.IntType)
	if it.BitSize == 1 {
		return constant.NewBool(v&1 != 0)
	}
	return constant.NewInt(it, v)
}

// floatConst is a float constant of type t, splat when t is a vector.
func floatConst(t types.Type, v float64) constant.Constant {
	if vt, ok := t.(*types.VectorType); ok {
		elems := make([]constant.Constant, vt.Len)
		for i := range elems {
			elems[i] = floatConst(vt.ElemType, v)
		}
		return constant.NewVector(vt, elems...)
	}
	return constant.NewFloat(t.(*types.FloatType), v)
}

// cast converts v from type from to type to (te's cast semantics).
func (g *gen) cast(to, from te.DType, v value.Value) value.Value {
	tt := regType(to)
	switch {
	case to == from:
		return v
	case to.IsBool() && from.IsFloat():
		return g.b.NewFCmp(enum.FPredUNE, v, floatConst(regType(from), 0))
	case to.IsBool():
		return g.b.NewICmp(enum.IPredNE, v, intConst(regType(from), 0))
	case from.IsFloat() && to.IsFloat():
		if to.Bits > from.Bits {
			return g.b.NewFPExt(v, tt)
		}
		return g.b.NewFPTrunc(v, tt)
	case from.IsFloat():
		if to.IsInt() {
			return g.b.NewFPToSI(v, tt)
		}
		return g.b.NewFPToUI(v, tt)
	case to.IsFloat():
		if from.IsInt() {
			return g.b.NewSIToFP(v, tt)
		}
		return g.b.NewUIToFP(v, tt)
	}
	fb, tb := from.Bits, to.Bits
	if from.IsBool() {
		fb = 1
	}
	switch {
	case tb < fb:
		return g.b.NewTrunc(v, tt)
	case tb > fb && from.IsInt():
		return g.b.NewSExt(v, tt)
	case tb > fb:
		return g.b.NewZExt(v, tt)
	}
	return v // same width, signedness differs: the same bits
}

// floatMinMax is the language's float min or max (te.FloatBinary: IEEE
// 754-2019 minimum and maximum, NaN-propagating, -0 below +0) as LLVM's
// llvm.minimum and llvm.maximum: one fmin/fmax on AArch64, a short
// sequence on x86.
//
// LLVM 14's x86 backend cannot select llvm.maximum, so other targets get
// the expansion: NaN when the operands are unordered; when they are equal,
// their bits ANDed (max: +0 of ±0) or ORed (min: -0 of ±0), which is either
// one when they are equal numbers; otherwise the compare-select. With
// FastMath they are the compare-select alone (one vmaxps: 3.3x faster in
// ResNet-18's AVX2 max pooling), as TVM and C's fmax under -ffast-math:
// NaN and the sign of a zero result are then not kept.
func (g *gen) floatMinMax(op te.BinOp, t te.DType, a, b value.Value) value.Value {
	if g.target.IsAArch64() {
		name := "llvm.minimum."
		if op == te.Max {
			name = "llvm.maximum."
		}
		fn := g.declare(name+typeSuffix(t), regType(t), regType(t), regType(t))
		return g.b.NewCall(fn, a, b)
	}
	pred := enum.FPredOLT
	if op == te.Max {
		pred = enum.FPredOGT
	}
	picked := g.b.NewSelect(g.b.NewFCmp(pred, a, b), a, b)
	if g.opts.FastMath {
		return picked
	}
	bitsType := regType(te.DType{Kind: te.KindUInt, Bits: t.Bits, Lanes: t.Lanes})
	ab, bb := g.b.NewBitCast(a, bitsType), g.b.NewBitCast(b, bitsType)
	var same value.Value = g.b.NewAnd(ab, bb)
	if op == te.Min {
		same = g.b.NewOr(ab, bb)
	}
	equal := g.b.NewSelect(g.b.NewFCmp(enum.FPredOEQ, a, b), g.b.NewBitCast(same, regType(t)), picked)
	return g.b.NewSelect(g.b.NewFCmp(enum.FPredUNO, a, b), g.b.NewFAdd(a, b), equal)
}
