package te

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// val is a scalar of a given dtype in the Buffer representation: integers
// and bools canonical in i (uint64 as its bit pattern), floats in f.
type val struct {
	dt DType
	i  int64
	f  float64
}

func vi(dt DType, v int64) val   { return val{dt: dt, i: v} }
func vu64(v uint64) val          { return val{dt: UInt64, i: int64(v)} }
func vf(dt DType, v float64) val { return val{dt: dt, f: v} }
func vb(b bool) val              { return val{dt: Bool, i: map[bool]int64{false: 0, true: 1}[b]} }
func (v val) String() string     { return fmt.Sprintf("%v(%d|%v)", v.dt, v.i, v.f) }
func f32(v float64) float64      { return float64(float32(v)) }
func mustT(t *testing.T) func(*Tensor, error) *Tensor {
	return func(x *Tensor, err error) *Tensor {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
}

// intBuf and floatBuf build input buffers from canonical values.
func intBuf(dt DType, shape []int, vals ...int64) *Buffer {
	b := NewBuffer(dt, shape)
	copy(b.Ints, vals)
	return b
}

func floatBuf(dt DType, shape []int, vals ...float64) *Buffer {
	b := NewBuffer(dt, shape)
	copy(b.Floats, vals)
	return b
}

// evalElem evaluates body over one-element placeholders holding ins and
// returns the one-element result.
func evalElem(t *testing.T, body func(x []Expr) Expr, ins ...val) (*Buffer, error) {
	t.Helper()
	inputs := map[*Tensor]*Buffer{}
	xs := make([]Expr, len(ins))
	for i, v := range ins {
		p := mustT(t)(Placeholder(fmt.Sprintf("p%d", i), []Expr{Int(1)}, v.dt))
		b := NewBuffer(v.dt, []int{1})
		if v.dt.IsFloat() {
			b.Floats[0] = v.f
		} else {
			b.Ints[0] = v.i
		}
		inputs[p] = b
		xs[i] = p.At(Int(0))
	}
	out, err := Compute("out", []Expr{Int(1)}, func([]Expr) Expr { return body(xs) })
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	res, err := Evaluate([]*Tensor{out}, inputs, nil)
	if err != nil {
		return nil, err
	}
	return res[out], nil
}

func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

type elemCase struct {
	name string
	ins  []val
	body func(x []Expr) Expr
	want val
}

func bin(op BinOp) func(x []Expr) Expr { return func(x []Expr) Expr { return Bin(op, x[0], x[1]) } }
func un(op UnOp) func(x []Expr) Expr   { return func(x []Expr) Expr { return Un(op, x[0]) } }
func cast(dt DType) func(x []Expr) Expr {
	return func(x []Expr) Expr { return CastTo(dt, x[0]) }
}

func runElemCases(t *testing.T, cases []elemCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := evalElem(t, c.body, c.ins...)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if diff := cmp.Diff(c.want.dt, got.DType); diff != "" {
				t.Fatalf("dtype (-want +got):\n%s", diff)
			}
			if c.want.dt.IsFloat() {
				if !sameFloat(got.Floats[0], c.want.f) {
					t.Errorf("got %v, want %v", got.Floats[0], c.want.f)
				}
			} else if got.Ints[0] != c.want.i {
				t.Errorf("got %d, want %d", got.Ints[0], c.want.i)
			}
		})
	}
}

func TestEvalIntegerArithmetic(t *testing.T) {
	runElemCases(t, []elemCase{
		// wrap-around at the type's width
		{"int8 127+1", []val{vi(Int8, 127), vi(Int8, 1)}, bin(Add), vi(Int8, -128)},
		{"int8 127+const 1", []val{vi(Int8, 127)}, func(x []Expr) Expr { return AddOf(x[0], Int(1)) }, vi(Int8, -128)},
		{"int8 -128-1", []val{vi(Int8, -128), vi(Int8, 1)}, bin(Sub), vi(Int8, 127)},
		{"uint8 0-1", []val{vi(UInt8, 0), vi(UInt8, 1)}, bin(Sub), vi(UInt8, 255)},
		{"uint8 200+100", []val{vi(UInt8, 200), vi(UInt8, 100)}, bin(Add), vi(UInt8, 44)},
		{"uint16 0-1", []val{vi(UInt16, 0), vi(UInt16, 1)}, bin(Sub), vi(UInt16, 65535)},
		{"int16 200*200", []val{vi(Int16, 200), vi(Int16, 200)}, bin(Mul), vi(Int16, 40000-65536)},
		{"uint32 max*max", []val{vi(UInt32, 1<<32-1), vi(UInt32, 1<<32-1)}, bin(Mul), vi(UInt32, 1)},
		{"int32 max+1", []val{vi(Int32, math.MaxInt32), vi(Int32, 1)}, bin(Add), vi(Int32, math.MinInt32)},
		{"uint64 0-1", []val{vu64(0), vu64(1)}, bin(Sub), vu64(math.MaxUint64)},
		{"uint64 max+1", []val{vu64(math.MaxUint64), vu64(1)}, bin(Add), vu64(0)},
		{"uint64 2^63*2", []val{vu64(1 << 63), vu64(2)}, bin(Mul), vu64(0)},
		{"int64 max+1", []val{vi(Int64, math.MaxInt64), vi(Int64, 1)}, bin(Add), vi(Int64, math.MinInt64)},
		{"-int32 min", []val{vi(Int32, math.MinInt32)}, un(Neg), vi(Int32, math.MinInt32)},
		{"-uint8 1", []val{vi(UInt8, 1)}, un(Neg), vi(UInt8, 255)},
		{"~uint8 0", []val{vi(UInt8, 0)}, un(BitNot), vi(UInt8, 255)},
		{"~int8 0", []val{vi(Int8, 0)}, un(BitNot), vi(Int8, -1)},
		{"~uint64 0", []val{vu64(0)}, un(BitNot), vu64(math.MaxUint64)},
		{"int8 -1 & 15", []val{vi(Int8, -1), vi(Int8, 15)}, bin(BitAnd), vi(Int8, 15)},
		{"uint8 0xF0 ^ 0xFF", []val{vi(UInt8, 0xF0), vi(UInt8, 0xFF)}, bin(BitXor), vi(UInt8, 0x0F)},
		{"int8 -128 ^ -1", []val{vi(Int8, -128), vi(Int8, -1)}, bin(BitXor), vi(Int8, 127)},

		// division and remainder: C truncation; floordiv/floormod round toward -inf
		{"int32 -7/2", []val{vi(Int32, -7), vi(Int32, 2)}, bin(Div), vi(Int32, -3)},
		{"int32 -7%2", []val{vi(Int32, -7), vi(Int32, 2)}, bin(Mod), vi(Int32, -1)},
		{"int32 7/-2", []val{vi(Int32, 7), vi(Int32, -2)}, bin(Div), vi(Int32, -3)},
		{"int32 7%-2", []val{vi(Int32, 7), vi(Int32, -2)}, bin(Mod), vi(Int32, 1)},
		{"int32 -7/-2", []val{vi(Int32, -7), vi(Int32, -2)}, bin(Div), vi(Int32, 3)},
		{"int32 floordiv(-7,2)", []val{vi(Int32, -7), vi(Int32, 2)}, bin(FloorDiv), vi(Int32, -4)},
		{"int32 floormod(-7,2)", []val{vi(Int32, -7), vi(Int32, 2)}, bin(FloorMod), vi(Int32, 1)},
		{"int32 floordiv(7,-2)", []val{vi(Int32, 7), vi(Int32, -2)}, bin(FloorDiv), vi(Int32, -4)},
		{"int32 floormod(7,-2)", []val{vi(Int32, 7), vi(Int32, -2)}, bin(FloorMod), vi(Int32, -1)},
		{"int32 floordiv(-8,2)", []val{vi(Int32, -8), vi(Int32, 2)}, bin(FloorDiv), vi(Int32, -4)},
		{"int32 floormod(-8,2)", []val{vi(Int32, -8), vi(Int32, 2)}, bin(FloorMod), vi(Int32, 0)},
		{"int64 floordiv(-1,3)", []val{vi(Int64, -1), vi(Int64, 3)}, bin(FloorDiv), vi(Int64, -1)},
		{"int8 -128/1", []val{vi(Int8, -128), vi(Int8, 1)}, bin(Div), vi(Int8, -128)},
		{"int8 -128/2", []val{vi(Int8, -128), vi(Int8, 2)}, bin(Div), vi(Int8, -64)},
		{"int32 min/1", []val{vi(Int32, math.MinInt32), vi(Int32, 1)}, bin(Div), vi(Int32, math.MinInt32)},
		{"uint8 250/7", []val{vi(UInt8, 250), vi(UInt8, 7)}, bin(Div), vi(UInt8, 35)},
		{"uint8 250%7", []val{vi(UInt8, 250), vi(UInt8, 7)}, bin(Mod), vi(UInt8, 5)},
		{"uint8 200/100 (not signed)", []val{vi(UInt8, 200), vi(UInt8, 100)}, bin(Div), vi(UInt8, 2)},
		{"uint32 max/16", []val{vi(UInt32, 0xFFFFFFFF), vi(UInt32, 16)}, bin(Div), vi(UInt32, 0x0FFFFFFF)},
		{"uint64 max/2", []val{vu64(math.MaxUint64), vu64(2)}, bin(Div), vi(UInt64, math.MaxInt64)},
		{"uint64 max%10", []val{vu64(math.MaxUint64), vu64(10)}, bin(Mod), vu64(5)},
		{"uint64 floordiv(max,3)", []val{vu64(math.MaxUint64), vu64(3)}, bin(FloorDiv), vu64(6148914691236517205)},
		{"uint64 floormod(2^63+1,2)", []val{vu64(1<<63 + 1), vu64(2)}, bin(FloorMod), vu64(1)},

		// shifts: arithmetic for signed types, logical for unsigned
		{"int8 -128>>1", []val{vi(Int8, -128), vi(Int8, 1)}, bin(Shr), vi(Int8, -64)},
		{"uint8 128>>1", []val{vi(UInt8, 128), vi(UInt8, 1)}, bin(Shr), vi(UInt8, 64)},
		{"int8 -1>>7", []val{vi(Int8, -1), vi(Int8, 7)}, bin(Shr), vi(Int8, -1)},
		{"uint8 255>>7", []val{vi(UInt8, 255), vi(Int64, 7)}, bin(Shr), vi(UInt8, 1)},
		{"int8 1<<7", []val{vi(Int8, 1), vi(Int8, 7)}, bin(Shl), vi(Int8, -128)},
		{"uint8 255<<1", []val{vi(UInt8, 255), vi(UInt8, 1)}, bin(Shl), vi(UInt8, 254)},
		{"int8 64<<1 wraps", []val{vi(Int8, 64), vi(UInt64, 1)}, bin(Shl), vi(Int8, -128)},
		{"uint16 0x8000>>15", []val{vi(UInt16, 0x8000), vi(Int32, 15)}, bin(Shr), vi(UInt16, 1)},
		{"int16 -0x8000>>15", []val{vi(Int16, -0x8000), vi(Int32, 15)}, bin(Shr), vi(Int16, -1)},
		{"int32 1<<31", []val{vi(Int32, 1), vi(Int8, 31)}, bin(Shl), vi(Int32, math.MinInt32)},
		{"uint32 max>>31", []val{vi(UInt32, 0xFFFFFFFF), vi(UInt32, 31)}, bin(Shr), vi(UInt32, 1)},
		{"uint64 1<<63", []val{vu64(1), vi(Int64, 63)}, bin(Shl), vu64(1 << 63)},
		{"uint64 max>>63", []val{vu64(math.MaxUint64), vi(Int64, 63)}, bin(Shr), vu64(1)},
		{"int64 min>>63", []val{vi(Int64, math.MinInt64), vi(Int64, 63)}, bin(Shr), vi(Int64, -1)},
		{"int32 -8>>const 2", []val{vi(Int32, -8)}, func(x []Expr) Expr { return Bin(Shr, x[0], Int(2)) }, vi(Int32, -2)},

		// popcount counts bits at the type's width
		{"popcount int8 -1", []val{vi(Int8, -1)}, un(Popcount), vi(Int8, 8)},
		{"popcount int8 -128", []val{vi(Int8, -128)}, un(Popcount), vi(Int8, 1)},
		{"popcount uint8 0xF0", []val{vi(UInt8, 0xF0)}, un(Popcount), vi(UInt8, 4)},
		{"popcount int16 -1", []val{vi(Int16, -1)}, un(Popcount), vi(Int16, 16)},
		{"popcount int32 min", []val{vi(Int32, math.MinInt32)}, un(Popcount), vi(Int32, 1)},
		{"popcount int32 max", []val{vi(Int32, math.MaxInt32)}, un(Popcount), vi(Int32, 31)},
		{"popcount uint32 max", []val{vi(UInt32, 0xFFFFFFFF)}, un(Popcount), vi(UInt32, 32)},
		{"popcount int64 -1", []val{vi(Int64, -1)}, un(Popcount), vi(Int64, 64)},
		{"popcount uint64 max", []val{vu64(math.MaxUint64)}, un(Popcount), vu64(64)},
		{"popcount uint64 0", []val{vu64(0)}, un(Popcount), vu64(0)},
		{"popcount uint16 0xA5A5", []val{vi(UInt16, 0xA5A5)}, un(Popcount), vi(UInt16, 8)},

		// min/max/compare: signed vs unsigned order
		{"int8 min(-1,1)", []val{vi(Int8, -1), vi(Int8, 1)}, bin(Min), vi(Int8, -1)},
		{"int8 max(-1,1)", []val{vi(Int8, -1), vi(Int8, 1)}, bin(Max), vi(Int8, 1)},
		{"uint8 min(255,1)", []val{vi(UInt8, 255), vi(UInt8, 1)}, bin(Min), vi(UInt8, 1)},
		{"uint8 max(255,1)", []val{vi(UInt8, 255), vi(UInt8, 1)}, bin(Max), vi(UInt8, 255)},
		{"uint64 min(2^63,1)", []val{vu64(1 << 63), vu64(1)}, bin(Min), vu64(1)},
		{"uint64 max(2^63,1)", []val{vu64(1 << 63), vu64(1)}, bin(Max), vu64(1 << 63)},
		{"int64 min(min,1)", []val{vi(Int64, math.MinInt64), vi(Int64, 1)}, bin(Min), vi(Int64, math.MinInt64)},
		{"uint8 255>1", []val{vi(UInt8, 255), vi(UInt8, 1)}, bin(GT), vb(true)},
		{"uint64 2^63>1", []val{vu64(1 << 63), vu64(1)}, bin(GT), vb(true)},
		{"uint32 max<=0", []val{vi(UInt32, 0xFFFFFFFF), vi(UInt32, 0)}, bin(LE), vb(false)},
		{"int8 -1<1", []val{vi(Int8, -1), vi(Int8, 1)}, bin(LT), vb(true)},
		{"int16 3>=3", []val{vi(Int16, 3), vi(Int16, 3)}, bin(GE), vb(true)},
		{"int32 3!=3", []val{vi(Int32, 3), vi(Int32, 3)}, bin(NE), vb(false)},
		{"bool true==true", []val{vb(true), vb(true)}, bin(EQ), vb(true)},

		// abs
		{"abs int8 -128", []val{vi(Int8, -128)}, un(Abs), vi(Int8, -128)},
		{"abs int8 -5", []val{vi(Int8, -5)}, un(Abs), vi(Int8, 5)},
		{"abs int64 min", []val{vi(Int64, math.MinInt64)}, un(Abs), vi(Int64, math.MinInt64)},
		{"abs uint8 200", []val{vi(UInt8, 200)}, un(Abs), vi(UInt8, 200)},

		// logic on bools
		{"true&&false", []val{vb(true), vb(false)}, bin(And), vb(false)},
		{"false||true", []val{vb(false), vb(true)}, bin(Or), vb(true)},
		{"!true", []val{vb(true)}, un(Not), vb(false)},
		{"true^true", []val{vb(true), vb(true)}, bin(BitXor), vb(false)},
		{"true&false", []val{vb(true), vb(false)}, bin(BitAnd), vb(false)},
	})
}

func TestEvalCasts(t *testing.T) {
	runElemCases(t, []elemCase{
		// float -> int truncates toward zero
		{"float32 2.9->int32", []val{vf(Float32, f32(2.9))}, cast(Int32), vi(Int32, 2)},
		{"float32 -2.9->int32", []val{vf(Float32, f32(-2.9))}, cast(Int32), vi(Int32, -2)},
		{"float64 127.9->int8", []val{vf(Float64, 127.9)}, cast(Int8), vi(Int8, 127)},
		{"float64 -128.9->int8", []val{vf(Float64, -128.9)}, cast(Int8), vi(Int8, -128)},
		{"float64 -0.5->uint8", []val{vf(Float64, -0.5)}, cast(UInt8), vi(UInt8, 0)},
		{"float64 255.5->uint8", []val{vf(Float64, 255.5)}, cast(UInt8), vi(UInt8, 255)},
		{"float64 2^64-2048->uint64", []val{vf(Float64, 18446744073709549568)}, cast(UInt64), vu64(18446744073709549568)},
		{"float64 -2^63->int64", []val{vf(Float64, -(1 << 63))}, cast(Int64), vi(Int64, math.MinInt64)},
		{"float32 3e9->uint32", []val{vf(Float32, 3e9)}, cast(UInt32), vi(UInt32, 3000000000)},
		// int -> float
		{"int32 2^24+1->float32", []val{vi(Int32, 1<<24+1)}, cast(Float32), vf(Float32, 1<<24)},
		{"int32 2^24+3->float32", []val{vi(Int32, 1<<24+3)}, cast(Float32), vf(Float32, 1<<24+4)},
		{"int8 -1->float32", []val{vi(Int8, -1)}, cast(Float32), vf(Float32, -1)},
		{"uint8 255->float64", []val{vi(UInt8, 255)}, cast(Float64), vf(Float64, 255)},
		{"uint64 max->float64", []val{vu64(math.MaxUint64)}, cast(Float64), vf(Float64, 18446744073709551616)},
		{"uint64 2^63->float32", []val{vu64(1 << 63)}, cast(Float32), vf(Float32, 9223372036854775808)},
		{"int64 2^60+2^36+1->float32", []val{vi(Int64, 1<<60+1<<36+1)}, cast(Float32), vf(Float32, 1<<60+1<<37)},
		// int -> int wraps (narrowing) or extends
		{"int32 300->int8", []val{vi(Int32, 300)}, cast(Int8), vi(Int8, 44)},
		{"int32 -129->int8", []val{vi(Int32, -129)}, cast(Int8), vi(Int8, 127)},
		{"int32 128->int8", []val{vi(Int32, 128)}, cast(Int8), vi(Int8, -128)},
		{"int32 -1->uint8", []val{vi(Int32, -1)}, cast(UInt8), vi(UInt8, 255)},
		{"uint8 255->int8", []val{vi(UInt8, 255)}, cast(Int8), vi(Int8, -1)},
		{"uint8 255->int32", []val{vi(UInt8, 255)}, cast(Int32), vi(Int32, 255)},
		{"int8 -1->uint16", []val{vi(Int8, -1)}, cast(UInt16), vi(UInt16, 65535)},
		{"int8 -1->uint64", []val{vi(Int8, -1)}, cast(UInt64), vu64(math.MaxUint64)},
		{"uint32 max->int64", []val{vi(UInt32, 0xFFFFFFFF)}, cast(Int64), vi(Int64, 0xFFFFFFFF)},
		{"uint64 max->int32", []val{vu64(math.MaxUint64)}, cast(Int32), vi(Int32, -1)},
		{"int64 2^40+5->int32", []val{vi(Int64, 1<<40+5)}, cast(Int32), vi(Int32, 5)},
		// bool
		{"int32 5->bool", []val{vi(Int32, 5)}, cast(Bool), vb(true)},
		{"int32 256->bool", []val{vi(Int32, 256)}, cast(Bool), vb(true)},
		{"int32 0->bool", []val{vi(Int32, 0)}, cast(Bool), vb(false)},
		{"float32 0.5->bool", []val{vf(Float32, 0.5)}, cast(Bool), vb(true)},
		{"float64 -0->bool", []val{vf(Float64, math.Copysign(0, -1))}, cast(Bool), vb(false)},
		{"bool->int32", []val{vb(true)}, cast(Int32), vi(Int32, 1)},
		{"bool->float32", []val{vb(true)}, cast(Float32), vf(Float32, 1)},
		// float -> float
		{"float64 0.1->float32", []val{vf(Float64, 0.1)}, cast(Float32), vf(Float32, f32(0.1))},
		{"float64 1e40->float32", []val{vf(Float64, 1e40)}, cast(Float32), vf(Float32, math.Inf(1))},
		{"float32 0.1->float64", []val{vf(Float32, f32(0.1))}, cast(Float64), vf(Float64, f32(0.1))},
	})
}

func TestEvalFloat(t *testing.T) {
	nan := math.NaN()
	// plain-Go float32 oracles; explicit conversions prevent any fusion
	var a32, b32 float32 = 0.1, 0.2
	sum32 := float64(float32(a32 + b32))
	var one32, three32 float32 = 1, 3
	third32 := float64(float32(one32 / three32))
	sqrt2f32 := float64(math.Float32frombits(0x3FB504F3)) // nearest float32 to sqrt(2)

	runElemCases(t, []elemCase{
		{"round 2.5", []val{vf(Float64, 2.5)}, un(Round), vf(Float64, 2)},
		{"round 3.5", []val{vf(Float64, 3.5)}, un(Round), vf(Float64, 4)},
		{"round -2.5", []val{vf(Float64, -2.5)}, un(Round), vf(Float64, -2)},
		{"round -3.5", []val{vf(Float64, -3.5)}, un(Round), vf(Float64, -4)},
		{"round 2.6", []val{vf(Float64, 2.6)}, un(Round), vf(Float64, 3)},
		{"round float32 0.5", []val{vf(Float32, 0.5)}, un(Round), vf(Float32, 0)},
		{"round float32 1.5", []val{vf(Float32, 1.5)}, un(Round), vf(Float32, 2)},
		{"floor -1.5", []val{vf(Float64, -1.5)}, un(Floor), vf(Float64, -2)},
		{"floor 1.99", []val{vf(Float32, f32(1.99))}, un(Floor), vf(Float32, 1)},
		{"floor -0.0", []val{vf(Float64, math.Copysign(0, -1))}, un(Floor), vf(Float64, math.Copysign(0, -1))},
		{"sqrt 16", []val{vf(Float64, 16)}, un(Sqrt), vf(Float64, 4)},
		{"sqrt float32 2", []val{vf(Float32, 2)}, un(Sqrt), vf(Float32, sqrt2f32)},
		{"sqrt -1", []val{vf(Float64, -1)}, un(Sqrt), vf(Float64, nan)},
		{"exp 0", []val{vf(Float32, 0)}, un(Exp), vf(Float32, 1)},
		{"abs float32 -1.5", []val{vf(Float32, -1.5)}, un(Abs), vf(Float32, 1.5)},
		{"neg float64 0", []val{vf(Float64, 0)}, un(Neg), vf(Float64, math.Copysign(0, -1))},

		// float32 arithmetic rounds after each operation
		{"float32 1e8+1", []val{vf(Float32, 1e8), vf(Float32, 1)}, bin(Add), vf(Float32, 1e8)},
		{"float64 1e8+1", []val{vf(Float64, 1e8), vf(Float64, 1)}, bin(Add), vf(Float64, 1e8+1)},
		{"float32 2^24+1", []val{vf(Float32, 1<<24), vf(Float32, 1)}, bin(Add), vf(Float32, 1<<24)},
		{"float32 (1e8+1)-1e8", []val{vf(Float32, 1e8), vf(Float32, 1)},
			func(x []Expr) Expr { return SubOf(AddOf(x[0], x[1]), x[0]) }, vf(Float32, 0)},
		{"float64 (1e8+1)-1e8", []val{vf(Float64, 1e8), vf(Float64, 1)},
			func(x []Expr) Expr { return SubOf(AddOf(x[0], x[1]), x[0]) }, vf(Float64, 1)},
		{"float32 0.1+0.2", []val{vf(Float32, f32(0.1)), vf(Float32, f32(0.2))}, bin(Add), vf(Float32, sum32)},
		{"float64 0.1+0.2", []val{vf(Float64, 0.1), vf(Float64, 0.2)}, bin(Add), vf(Float64, 0.30000000000000004)},
		{"float32 1/3", []val{vf(Float32, 1), vf(Float32, 3)}, bin(Div), vf(Float32, third32)},
		{"float32 1/0", []val{vf(Float32, 1), vf(Float32, 0)}, bin(Div), vf(Float32, math.Inf(1))},
		{"float32 3e38*10", []val{vf(Float32, f32(3e38)), vf(Float32, 10)}, bin(Mul), vf(Float32, math.Inf(1))},
		{"float32 x+const 0.1", []val{vf(Float32, f32(0.2))}, func(x []Expr) Expr { return AddOf(x[0], Float(0.1)) }, vf(Float32, sum32)},

		// min/max are IEEE 754-2019 minimum/maximum: a NaN operand gives
		// NaN in either position (issue 12: the selects' order-dependent
		// results made vectorized reductions disagree), and -0 < +0
		{"min(NaN,1)", []val{vf(Float64, nan), vf(Float64, 1)}, bin(Min), vf(Float64, nan)},
		{"min(1,NaN)", []val{vf(Float64, 1), vf(Float64, nan)}, bin(Min), vf(Float64, nan)},
		{"max(NaN,1)", []val{vf(Float32, nan), vf(Float32, 1)}, bin(Max), vf(Float32, nan)},
		{"max(-0,+0)", []val{vf(Float32, math.Copysign(0, -1)), vf(Float32, 0)}, bin(Max), vf(Float32, 0)},
		{"max(+0,-0)", []val{vf(Float32, 0), vf(Float32, math.Copysign(0, -1))}, bin(Max), vf(Float32, 0)},
		{"min(+0,-0)", []val{vf(Float32, 0), vf(Float32, math.Copysign(0, -1))}, bin(Min), vf(Float32, math.Copysign(0, -1))},
		{"max(1,NaN)", []val{vf(Float32, 1), vf(Float32, nan)}, bin(Max), vf(Float32, nan)},
		{"min(-1,2)", []val{vf(Float32, -1), vf(Float32, 2)}, bin(Min), vf(Float32, -1)},
		{"NaN<1", []val{vf(Float64, nan), vf(Float64, 1)}, bin(LT), vb(false)},
		{"NaN==NaN", []val{vf(Float64, nan), vf(Float64, nan)}, bin(EQ), vb(false)},
		{"NaN!=NaN", []val{vf(Float64, nan), vf(Float64, nan)}, bin(NE), vb(true)},
		{"float32 -0==0", []val{vf(Float32, math.Copysign(0, -1)), vf(Float32, 0)}, bin(EQ), vb(true)},
	})
}

func TestEvalUndefined(t *testing.T) {
	cases := []struct {
		name string
		ins  []val
		body func(x []Expr) Expr
	}{
		{"int32 1/0", []val{vi(Int32, 1), vi(Int32, 0)}, bin(Div)},
		{"int32 1%0", []val{vi(Int32, 1), vi(Int32, 0)}, bin(Mod)},
		{"int32 floordiv(1,0)", []val{vi(Int32, 1), vi(Int32, 0)}, bin(FloorDiv)},
		{"int32 floormod(1,0)", []val{vi(Int32, 1), vi(Int32, 0)}, bin(FloorMod)},
		{"uint8 5/0", []val{vi(UInt8, 5), vi(UInt8, 0)}, bin(Div)},
		{"uint64 5%0", []val{vu64(5), vu64(0)}, bin(Mod)},
		{"int32 x/const 0", []val{vi(Int32, 1)}, func(x []Expr) Expr { return DivOf(x[0], Int(0)) }},
		{"int32 min/-1", []val{vi(Int32, math.MinInt32), vi(Int32, -1)}, bin(Div)},
		{"int32 min%-1", []val{vi(Int32, math.MinInt32), vi(Int32, -1)}, bin(Mod)},
		{"int32 floordiv(min,-1)", []val{vi(Int32, math.MinInt32), vi(Int32, -1)}, bin(FloorDiv)},
		{"int64 min/-1", []val{vi(Int64, math.MinInt64), vi(Int64, -1)}, bin(Div)},
		{"int8 -128/-1", []val{vi(Int8, -128), vi(Int8, -1)}, bin(Div)},
		{"int32<<32", []val{vi(Int32, 1), vi(Int32, 32)}, bin(Shl)},
		{"int8<<8", []val{vi(Int8, 1), vi(Int64, 8)}, bin(Shl)},
		{"uint8>>8", []val{vi(UInt8, 1), vi(UInt8, 8)}, bin(Shr)},
		{"int64>>64", []val{vi(Int64, 1), vi(Int64, 64)}, bin(Shr)},
		{"int32<<-1", []val{vi(Int32, 1), vi(Int32, -1)}, bin(Shl)},
		{"int32>>-1 (int8)", []val{vi(Int32, 1), vi(Int8, -1)}, bin(Shr)},
		{"int32<<uint64 max", []val{vi(Int32, 1), vu64(math.MaxUint64)}, bin(Shl)},
		{"uint16>>uint32 2^31", []val{vi(UInt16, 1), vi(UInt32, 1<<31)}, bin(Shr)},
		{"cast NaN->int32", []val{vf(Float64, math.NaN())}, cast(Int32)},
		{"cast NaN->uint8", []val{vf(Float32, math.NaN())}, cast(UInt8)},
		{"cast +Inf->int64", []val{vf(Float64, math.Inf(1))}, cast(Int64)},
		{"cast -Inf->int32", []val{vf(Float32, math.Inf(-1))}, cast(Int32)},
		{"cast 128.0->int8", []val{vf(Float32, 128)}, cast(Int8)},
		{"cast -129.0->int8", []val{vf(Float64, -129)}, cast(Int8)},
		{"cast -1.0->uint8", []val{vf(Float64, -1)}, cast(UInt8)},
		{"cast 256.0->uint8", []val{vf(Float64, 256)}, cast(UInt8)},
		{"cast 2^31->int32", []val{vf(Float64, 1<<31)}, cast(Int32)},
		{"cast 2^63->int64", []val{vf(Float64, 1<<63)}, cast(Int64)},
		{"cast 2^64->uint64", []val{vf(Float64, 18446744073709551616)}, cast(UInt64)},
		{"cast -1.0->uint64", []val{vf(Float64, -1)}, cast(UInt64)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := evalElem(t, c.body, c.ins...)
			if err == nil {
				t.Fatalf("no error; got %v", got)
			}
			if !IsUndefined(err) {
				t.Errorf("error %q does not satisfy IsUndefined", err)
			}
		})
	}
}

func TestEvalOutOfBounds(t *testing.T) {
	a := mustT(t)(Placeholder("A", []Expr{Int(4)}, Int32))
	in := map[*Tensor]*Buffer{a: intBuf(Int32, []int{4}, 1, 2, 3, 4)}
	for _, tc := range []struct {
		name string
		idx  func(i Expr) Expr
	}{
		{"i+1", func(i Expr) Expr { return AddOf(i, Int(1)) }},
		{"i-1", func(i Expr) Expr { return SubOf(i, Int(1)) }},
		{"const 4", func(Expr) Expr { return Int(4) }},
		{"const -1", func(Expr) Expr { return Int(-1) }},
	} {
		out := mustT(t)(Compute("out", []Expr{Int(4)}, func(ax []Expr) Expr { return a.At(tc.idx(ax[0])) }))
		_, err := Evaluate([]*Tensor{out}, in, nil)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !IsUndefined(err) {
			t.Errorf("%s: error %q does not satisfy IsUndefined", tc.name, err)
		}
		checkErr(t, tc.name, err, []string{"out of bounds", "A"})
	}

	// 2-D: a flat offset in range does not excuse an index out of range
	b := mustT(t)(Placeholder("B", []Expr{Int(2), Int(3)}, Int32))
	out := mustT(t)(Compute("out", []Expr{Int(1)}, func([]Expr) Expr { return b.At(Int(0), Int(3)) }))
	_, err := Evaluate([]*Tensor{out}, map[*Tensor]*Buffer{b: NewBuffer(Int32, []int{2, 3})}, nil)
	if !IsUndefined(err) {
		t.Errorf("B[0, 3] of a (2, 3) tensor: got error %v, want undefined", err)
	}
}

// Errors that are not undefined behaviour must not satisfy IsUndefined.
func TestEvalOtherErrors(t *testing.T) {
	n := SizeVar("N")
	a := mustT(t)(Placeholder("A", []Expr{n}, Int32))
	out := mustT(t)(Compute("out", []Expr{n}, func(ax []Expr) Expr { return a.At(ax[0]) }))

	_, err := Evaluate([]*Tensor{out}, map[*Tensor]*Buffer{a: NewBuffer(Int32, []int{3})}, nil)
	checkErr(t, "missing size", err, []string{"N"})
	if IsUndefined(err) {
		t.Errorf("missing size: %v satisfies IsUndefined", err)
	}
	sizes := map[*Var]int64{n: 3}
	_, err = Evaluate([]*Tensor{out}, map[*Tensor]*Buffer{}, sizes)
	checkErr(t, "missing input", err, []string{"A"})
	if IsUndefined(err) {
		t.Errorf("missing input: %v satisfies IsUndefined", err)
	}
	_, err = Evaluate([]*Tensor{out}, map[*Tensor]*Buffer{a: NewBuffer(Int32, []int{4})}, sizes)
	checkErr(t, "wrong shape", err, []string{"A"})
	_, err = Evaluate([]*Tensor{out}, map[*Tensor]*Buffer{a: NewBuffer(Int64, []int{3})}, sizes)
	checkErr(t, "wrong dtype", err, []string{"A", "int32"})
	_, err = Evaluate([]*Tensor{out}, map[*Tensor]*Buffer{a: NewBuffer(Int32, []int{1})}, map[*Var]int64{n: 0})
	checkErr(t, "zero size", err, []string{"positive"})
}

func TestEvalLaziness(t *testing.T) {
	a := mustT(t)(Placeholder("A", []Expr{Int(4)}, Int32))
	in := map[*Tensor]*Buffer{a: intBuf(Int32, []int{4}, 5, -6, 7, -8)}
	run := func(body func(i Expr) Expr) (*Buffer, error) {
		t.Helper()
		out := mustT(t)(Compute("out", []Expr{Int(6)}, func(ax []Expr) Expr { return body(ax[0]) }))
		res, err := Evaluate([]*Tensor{out}, in, nil)
		if err != nil {
			return nil, err
		}
		return res[out], nil
	}
	inside := func(i Expr) Expr { return Bin(And, Bin(GE, i, Int(1)), Bin(LE, i, Int(4))) }
	pad := func(i Expr) Expr { return a.At(SubOf(i, Int(1))) }

	// padding: the untaken branch would read A[-1] and A[4]
	got, err := run(func(i Expr) Expr { return IfThenElse(inside(i), pad(i), Int(0)) })
	if err != nil {
		t.Fatalf("if_then_else: %v", err)
	}
	if diff := cmp.Diff([]int64{0, 5, -6, 7, -8, 0}, got.Ints); diff != "" {
		t.Errorf("if_then_else padding (-want +got):\n%s", diff)
	}
	// select evaluates both branches
	_, err = run(func(i Expr) Expr { return SelectOf(inside(i), pad(i), Int(0)) })
	if !IsUndefined(err) {
		t.Errorf("select padding: got error %v, want undefined (out-of-bounds read)", err)
	}
	// but select is fine when both branches are
	got, err = run(func(i Expr) Expr {
		return SelectOf(Bin(LT, i, Int(4)), a.At(MinOf(i, Int(3))), Int(-1))
	})
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	if diff := cmp.Diff([]int64{5, -6, 7, -8, -1, -1}, got.Ints); diff != "" {
		t.Errorf("select (-want +got):\n%s", diff)
	}

	// && and || short-circuit
	got, err = run(func(i Expr) Expr { return Bin(And, Bin(LT, i, Int(4)), Bin(GT, a.At(i), Int(0))) })
	if err != nil {
		t.Fatalf("&&: %v", err)
	}
	if diff := cmp.Diff([]int64{1, 0, 1, 0, 0, 0}, got.Ints); diff != "" {
		t.Errorf("&& (-want +got):\n%s", diff)
	}
	got, err = run(func(i Expr) Expr { return Bin(Or, Bin(GE, i, Int(4)), Bin(LT, a.At(i), Int(0))) })
	if err != nil {
		t.Fatalf("||: %v", err)
	}
	if diff := cmp.Diff([]int64{0, 1, 0, 1, 1, 1}, got.Ints); diff != "" {
		t.Errorf("|| (-want +got):\n%s", diff)
	}
	// & on bools is not a short-circuit operator
	_, err = run(func(i Expr) Expr { return Bin(BitAnd, Bin(LT, i, Int(4)), Bin(GT, a.At(i), Int(0))) })
	if !IsUndefined(err) {
		t.Errorf("& on bools: got error %v, want undefined (out-of-bounds read)", err)
	}

	// if_then_else also guards a division by zero; select does not
	b := mustT(t)(Placeholder("B", []Expr{Int(3)}, Int32))
	inB := map[*Tensor]*Buffer{b: intBuf(Int32, []int{3}, 2, 0, -3)}
	for _, lazy := range []bool{true, false} {
		out := mustT(t)(Compute("q", []Expr{Int(3)}, func(ax []Expr) Expr {
			c, x, y := Bin(NE, b.At(ax[0]), Int(0)), DivOf(Int(12), b.At(ax[0])), Int(-1)
			if lazy {
				return IfThenElse(c, x, y)
			}
			return SelectOf(c, x, y)
		}))
		res, err := Evaluate([]*Tensor{out}, inB, nil)
		if lazy {
			if err != nil {
				t.Fatalf("if_then_else division: %v", err)
			}
			if diff := cmp.Diff([]int64{6, -1, -4}, res[out].Ints); diff != "" {
				t.Errorf("if_then_else division (-want +got):\n%s", diff)
			}
		} else if !IsUndefined(err) {
			t.Errorf("select division: got error %v, want undefined", err)
		}
	}

	// float branches
	fl := mustT(t)(Placeholder("F", []Expr{Int(2)}, Float32))
	out := mustT(t)(Compute("g", []Expr{Int(3)}, func(ax []Expr) Expr {
		return IfThenElse(Bin(LT, ax[0], Int(2)), fl.At(ax[0]), Float(0.5))
	}))
	res, err := Evaluate([]*Tensor{out}, map[*Tensor]*Buffer{fl: floatBuf(Float32, []int{2}, 1.5, -2)}, nil)
	if err != nil {
		t.Fatalf("float if_then_else: %v", err)
	}
	if diff := cmp.Diff([]float64{1.5, -2, 0.5}, res[out].Floats); diff != "" {
		t.Errorf("float if_then_else (-want +got):\n%s", diff)
	}
}

// reduce1 evaluates out[0] = op(A[k]) over all k for a 1-D input.
func reduce1(t *testing.T, op ReduceOp, in *Buffer) *Buffer {
	t.Helper()
	n := len(in.Ints) + len(in.Floats)
	a := mustT(t)(Placeholder("A", []Expr{Int(int64(n))}, in.DType))
	k := ReduceAxis("k", Int(0), Int(int64(n)))
	out := mustT(t)(Compute("r", []Expr{Int(1)}, func([]Expr) Expr { return ReduceOf(op, a.At(k.Var), k) }))
	res, err := Evaluate([]*Tensor{out}, map[*Tensor]*Buffer{a: in}, nil)
	if err != nil {
		t.Fatalf("%v over %v: %v", op, in.DType, err)
	}
	return res[out]
}

func TestReduceIdentities(t *testing.T) {
	ints := []struct {
		name string
		op   ReduceOp
		in   *Buffer
		want int64
	}{
		{"max int8 all -128", ReduceMax, intBuf(Int8, []int{3}, -128, -128, -128), -128},
		{"min int8 all 127", ReduceMin, intBuf(Int8, []int{2}, 127, 127), 127},
		{"min uint8 all 255", ReduceMin, intBuf(UInt8, []int{3}, 255, 255, 255), 255},
		{"max uint8 all 0", ReduceMax, intBuf(UInt8, []int{2}, 0, 0), 0},
		{"min uint8", ReduceMin, intBuf(UInt8, []int{3}, 200, 7, 255), 7},
		{"max uint8", ReduceMax, intBuf(UInt8, []int{3}, 200, 7, 128), 200},
		{"max int8", ReduceMax, intBuf(Int8, []int{3}, -5, -128, -7), -5},
		{"min int64 all max", ReduceMin, intBuf(Int64, []int{2}, math.MaxInt64, math.MaxInt64), math.MaxInt64},
		{"max int64 all min", ReduceMax, intBuf(Int64, []int{2}, math.MinInt64, math.MinInt64), math.MinInt64},
		{"min uint64 all max", ReduceMin, intBuf(UInt64, []int{2}, -1, -1), -1},
		{"max uint64", ReduceMax, intBuf(UInt64, []int{3}, 1, int64(-1<<63), 5), -1 << 63},
		{"min uint64", ReduceMin, intBuf(UInt64, []int{3}, int64(-1<<63), 9, -1), 9},
		{"sum int8 wraps", Sum, intBuf(Int8, []int{3}, 100, 100, 1), -55},
		{"sum uint8 wraps", Sum, intBuf(UInt8, []int{2}, 255, 2), 1},
		{"sum int32", Sum, intBuf(Int32, []int{4}, 1, -2, 3, 10), 12},
		{"sum uint64", Sum, intBuf(UInt64, []int{2}, -1, 1), 0},
	}
	for _, c := range ints {
		got := reduce1(t, c.op, c.in)
		if diff := cmp.Diff(c.in.DType, got.DType); diff != "" {
			t.Errorf("%s: dtype (-want +got):\n%s", c.name, diff)
		}
		if got.Ints[0] != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got.Ints[0], c.want)
		}
	}

	// float32 sums round after each addition (sequential order)
	in := floatBuf(Float32, []int{5}, 1e8, 1, 1, 1, 1)
	var acc float32
	for _, v := range in.Floats {
		acc = float32(acc + float32(v))
	}
	if got := reduce1(t, Sum, in).Floats[0]; got != float64(acc) || got != 1e8 {
		t.Errorf("float32 sum of 1e8 and four 1s: got %v, want %v (= 1e8)", got, acc)
	}
	in64 := floatBuf(Float64, []int{5}, 1e8, 1, 1, 1, 1)
	if got := reduce1(t, Sum, in64).Floats[0]; got != 1e8+4 {
		t.Errorf("float64 sum of 1e8 and four 1s: got %v, want %v", got, 1e8+4)
	}
	floats := []struct {
		name string
		op   ReduceOp
		in   *Buffer
		want float64
	}{
		{"max float32 negatives", ReduceMax, floatBuf(Float32, []int{3}, -3, -1, -2), -1},
		{"min float32", ReduceMin, floatBuf(Float32, []int{3}, 3, 1.5, 2), 1.5},
		{"max float32 all -inf", ReduceMax, floatBuf(Float32, []int{2}, math.Inf(-1), math.Inf(-1)), math.Inf(-1)},
		{"min float64 all +inf", ReduceMin, floatBuf(Float64, []int{2}, math.Inf(1), math.Inf(1)), math.Inf(1)},
		{"sum float64", Sum, floatBuf(Float64, []int{3}, 0.5, 0.25, -1), -0.25},
	}
	for _, c := range floats {
		if got := reduce1(t, c.op, c.in).Floats[0]; !sameFloat(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestReduceSeveralAxes(t *testing.T) {
	const I, J, K = 2, 3, 4
	a := mustT(t)(Placeholder("A", []Expr{Int(I), Int(J), Int(K)}, Int32))
	vals := make([]int64, I*J*K)
	for n := range vals {
		vals[n] = int64(n*7%11 - 5)
	}
	in := map[*Tensor]*Buffer{a: intBuf(Int32, []int{I, J, K}, vals...)}

	// out[i] = sum over j, k of A[i, j, k]
	j := ReduceAxis("j", Int(0), Int(J))
	k := ReduceAxis("k", Int(0), Int(K))
	s := mustT(t)(Compute("s", []Expr{Int(I)}, func(ax []Expr) Expr {
		return ReduceOf(Sum, a.At(ax[0], j.Var, k.Var), j, k)
	}))
	// m[i] = max over k in [1, 3) and j in [1, 3) of A[i, j, k] * (j + 1)
	j2 := ReduceAxis("j2", Int(1), Int(2))
	k2 := ReduceAxis("k2", Int(1), Int(2))
	m := mustT(t)(Compute("m", []Expr{Int(I)}, func(ax []Expr) Expr {
		return ReduceOf(ReduceMax, MulOf(a.At(ax[0], j2.Var, k2.Var), CastTo(Int32, AddOf(j2.Var, Int(1)))), k2, j2)
	}))
	res, err := Evaluate([]*Tensor{s, m}, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantS, wantM := make([]int64, I), make([]int64, I)
	for i := 0; i < I; i++ {
		wantM[i] = math.MinInt64
		for jj := 0; jj < J; jj++ {
			for kk := 0; kk < K; kk++ {
				v := vals[(i*J+jj)*K+kk]
				wantS[i] += v
				if jj >= 1 && jj < 3 && kk >= 1 && kk < 3 {
					wantM[i] = max(wantM[i], v*int64(jj+1))
				}
			}
		}
	}
	if diff := cmp.Diff(wantS, res[s].Ints); diff != "" {
		t.Errorf("sum over j, k (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantM, res[m].Ints); diff != "" {
		t.Errorf("max over k2, j2 (-want +got):\n%s", diff)
	}
}

func TestReduceSymbolic(t *testing.T) {
	n := SizeVar("N")
	a := mustT(t)(Placeholder("A", []Expr{n, Int(2)}, Int64))
	k := ReduceAxis("k", Int(0), n)
	// out[c] = sum over k < N of A[k, c]; last[c] = A[N-1, c]
	out := mustT(t)(Compute("out", []Expr{Int(2)}, func(ax []Expr) Expr { return ReduceOf(Sum, a.At(k.Var, ax[0]), k) }))
	last := mustT(t)(Compute("last", []Expr{Int(2)}, func(ax []Expr) Expr { return a.At(SubOf(n, Int(1)), ax[0]) }))
	// pre[i] = sum over the first N-1 rows (a reduce axis with a symbolic extent expression)
	k2 := ReduceAxis("k2", Int(0), SubOf(n, Int(1)))
	pre := mustT(t)(Compute("pre", []Expr{Int(1)}, func([]Expr) Expr { return ReduceOf(Sum, a.At(k2.Var, Int(0)), k2) }))
	for _, size := range []int{2, 5, 9} {
		vals := make([]int64, 2*size)
		for i := range vals {
			vals[i] = int64(i*i - 3)
		}
		res, err := Evaluate([]*Tensor{out, last, pre}, map[*Tensor]*Buffer{a: intBuf(Int64, []int{size, 2}, vals...)},
			map[*Var]int64{n: int64(size)})
		if err != nil {
			t.Fatalf("N=%d: %v", size, err)
		}
		want := []int64{0, 0}
		wantPre := int64(0)
		for r := 0; r < size; r++ {
			want[0] += vals[2*r]
			want[1] += vals[2*r+1]
			if r < size-1 {
				wantPre += vals[2*r]
			}
		}
		if diff := cmp.Diff(want, res[out].Ints); diff != "" {
			t.Errorf("N=%d: sum (-want +got):\n%s", size, diff)
		}
		if diff := cmp.Diff(vals[2*size-2:], res[last].Ints); diff != "" {
			t.Errorf("N=%d: last row (-want +got):\n%s", size, diff)
		}
		if diff := cmp.Diff([]int64{wantPre}, res[pre].Ints); diff != "" {
			t.Errorf("N=%d: sum of the first N-1 rows (-want +got):\n%s", size, diff)
		}
	}
	if shape, err := ShapeOf(a, map[*Var]int64{n: 7}); err != nil || !cmp.Equal(shape, []int{7, 2}) {
		t.Errorf("ShapeOf(A, N=7) = %v, %v; want [7 2]", shape, err)
	}
}

// matmul declares C[i, j] = sum_k A[i, k] * B[k, j] over symbolic M, N, K.
func matmul(t *testing.T, dt DType) (k *Kernel, m, n, kk *Var) {
	t.Helper()
	m, n, kk = SizeVar("M"), SizeVar("N"), SizeVar("K")
	a := mustT(t)(Placeholder("A", []Expr{m, kk}, dt))
	b := mustT(t)(Placeholder("B", []Expr{kk, n}, dt))
	r := ReduceAxis("k", Int(0), kk)
	c := mustT(t)(Compute("C", []Expr{m, n}, func(ax []Expr) Expr {
		return ReduceOf(Sum, MulOf(a.At(ax[0], r.Var), b.At(r.Var, ax[1])), r)
	}, "i", "j"))
	k, err := NewKernel("matmul", []*Tensor{a, b}, []*Tensor{c}, []*Var{m, n})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"M", "N", "K"}, varNames(k.Params)); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	return k, m, n, kk
}

func varNames(vs []*Var) []string {
	var s []string
	for _, v := range vs {
		s = append(s, v.Name)
	}
	return s
}

func TestMatmulInt32(t *testing.T) {
	k, m, n, kk := matmul(t, Int32)
	const M, N, K = 3, 4, 5
	rng := rand.New(rand.NewPCG(1, 2))
	// full int32 range, so products and sums wrap
	a := RandomBuffer(Int32, []int{M, K}, nil, rng)
	b := RandomBuffer(Int32, []int{K, N}, nil, rng)
	out, err := EvalKernel(k, []*Buffer{a, b}, map[*Var]int64{m: M, n: N, kk: K})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int64, M*N)
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var acc int32
			for p := 0; p < K; p++ {
				acc += int32(a.Ints[i*K+p]) * int32(b.Ints[p*N+j])
			}
			want[i*N+j] = int64(acc)
		}
	}
	if diff := cmp.Diff([]int{M, N}, out[0].Shape); diff != "" {
		t.Errorf("shape (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, out[0].Ints); diff != "" {
		t.Errorf("int32 matmul (-want +got):\n%s", diff)
	}
	// small values: no wrap, checkable by hand
	a2 := intBuf(Int32, []int{1, 2}, 1, 2)
	b2 := intBuf(Int32, []int{2, 2}, 3, 4, 5, 6)
	out, err = EvalKernel(k, []*Buffer{a2, b2}, map[*Var]int64{m: 1, n: 2, kk: 2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{13, 16}, out[0].Ints); diff != "" {
		t.Errorf("[1 2] x [[3 4] [5 6]] (-want +got):\n%s", diff)
	}
	if _, err := EvalKernel(k, []*Buffer{a2}, nil); err == nil {
		t.Errorf("EvalKernel with one input of two: no error")
	}
}

func TestMatmulFloat32(t *testing.T) {
	k, m, n, kk := matmul(t, Float32)
	const M, N, K = 4, 3, 37
	rng := rand.New(rand.NewPCG(3, 4))
	a := RandomBuffer(Float32, []int{M, K}, &ValueRange{-10, 10}, rng)
	b := RandomBuffer(Float32, []int{K, N}, &ValueRange{-10, 10}, rng)
	out, err := EvalKernel(k, []*Buffer{a, b}, map[*Var]int64{m: M, n: N, kk: K})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, M*N)
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var acc float32
			for p := 0; p < K; p++ {
				prod := float32(float32(a.Floats[i*K+p]) * float32(b.Floats[p*N+j]))
				acc = float32(acc + prod)
			}
			want[i*N+j] = float64(acc)
		}
	}
	if diff := cmp.Diff(want, out[0].Floats); diff != "" {
		t.Errorf("float32 matmul (-want +got):\n%s", diff)
	}
}

func TestMultiStage(t *testing.T) {
	a := mustT(t)(Placeholder("A", []Expr{Int(2), Int(3)}, Int32))
	// B = 2*A; T = transpose(B); C[j, i] = T[j, i] + A[i, j]; D[j] = sum_i C[j, i] * T[j, i]
	b := mustT(t)(Compute("B", []Expr{Int(2), Int(3)}, func(x []Expr) Expr { return MulOf(a.At(x[0], x[1]), Int(2)) }))
	tr := mustT(t)(Compute("T", []Expr{Int(3), Int(2)}, func(x []Expr) Expr { return b.At(x[1], x[0]) }))
	c := mustT(t)(Compute("C", []Expr{Int(3), Int(2)}, func(x []Expr) Expr { return AddOf(tr.At(x[0], x[1]), a.At(x[1], x[0])) }))
	r := ReduceAxis("r", Int(0), Int(2))
	d := mustT(t)(Compute("D", []Expr{Int(3)}, func(x []Expr) Expr {
		return ReduceOf(Sum, MulOf(c.At(x[0], r.Var), tr.At(x[0], r.Var)), r)
	}))
	// float stage reading an int stage
	f := mustT(t)(Compute("F", []Expr{Int(3)}, func(x []Expr) Expr {
		return MulOf(CastTo(Float32, d.At(x[0])), Float(0.5))
	}))
	if diff := cmp.Diff([]string{"A", "B", "T", "C", "D", "F"}, tensorNames(PostOrder([]*Tensor{f}))); diff != "" {
		t.Errorf("PostOrder (-want +got):\n%s", diff)
	}

	// A = [[1 2 3] [4 5 6]]: T = [[2 8] [4 10] [6 12]], C = 3*A^T = [[3 12] [6 15] [9 18]]
	// D = [3*2+12*8, 6*4+15*10, 9*6+18*12] = [102, 174, 270]
	in := map[*Tensor]*Buffer{a: intBuf(Int32, []int{2, 3}, 1, 2, 3, 4, 5, 6)}
	res, err := Evaluate([]*Tensor{f, c}, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{3, 12, 6, 15, 9, 18}, res[c].Ints); diff != "" {
		t.Errorf("C (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{51, 87, 135}, res[f].Floats); diff != "" {
		t.Errorf("F (-want +got):\n%s", diff)
	}
	if len(res) != 2 {
		t.Errorf("Evaluate returned %d buffers, want only the 2 outputs", len(res))
	}

	k, err := NewKernel("k", []*Tensor{a}, []*Tensor{d, f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := EvalKernel(k, []*Buffer{in[a]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{102, 174, 270}, outs[0].Ints); diff != "" {
		t.Errorf("D (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"A"}, tensorNames(c.Inputs())[1:]); diff != "" {
		t.Errorf("C.Inputs() (-want +got):\n%s", diff)
	}
}

func tensorNames(ts []*Tensor) []string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Name)
	}
	return s
}

func TestNewKernelErrors(t *testing.T) {
	a := mustT(t)(Placeholder("A", []Expr{Int(4)}, Int32))
	b := mustT(t)(Placeholder("B", []Expr{Int(4)}, Int32))
	c := mustT(t)(Compute("C", []Expr{Int(4)}, func(x []Expr) Expr { return AddOf(a.At(x[0]), b.At(x[0])) }))
	d := mustT(t)(Compute("D", []Expr{Int(4)}, func(x []Expr) Expr { return MulOf(c.At(x[0]), Int(3)) }))
	r := ReduceAxis("r", Int(0), Int(4))
	s := SizeVar("S")

	cases := []struct {
		name    string
		in, out []*Tensor
		params  []*Var
		err     []string
	}{
		{"missing placeholder", []*Tensor{a}, []*Tensor{c}, nil, []string{"not arguments", "B"}},
		{"missing placeholder via stage", []*Tensor{b}, []*Tensor{d}, nil, []string{"not arguments", "A"}},
		{"output is a placeholder", []*Tensor{a, b}, []*Tensor{a}, nil, []string{"output A", "placeholder"}},
		{"input listed twice", []*Tensor{a, b, a}, []*Tensor{c}, nil, []string{"A", "listed twice"}},
		{"output listed twice", []*Tensor{a, b}, []*Tensor{c, c}, nil, []string{"C", "listed twice"}},
		{"input is computed", []*Tensor{a, b, c}, []*Tensor{d}, nil, []string{"C", "computed"}},
		{"no outputs", []*Tensor{a}, nil, nil, []string{"no outputs"}},
		{"param not a size", []*Tensor{a, b}, []*Tensor{c}, []*Var{r.Var}, []string{"not a symbolic dimension"}},
		{"param listed twice", []*Tensor{a, b}, []*Tensor{c}, []*Var{s, s}, []string{"S", "listed twice"}},
	}

	for _, tc := range cases {
		k, err := NewKernel("k", tc.in, tc.out, tc.params)
		if k != nil {
			t.Errorf("%s: got a kernel, want an error", tc.name)
		}
		checkErr(t, tc.name, err, tc.err)
	}

	// names become C function names
	for _, name := range []string{"", "2d", "my-kernel", "conv[1]", "x y"} {
		if _, err := NewKernel(name, []*Tensor{a, b}, []*Tensor{c}, nil); err == nil || !strings.Contains(err.Error(), "named like a C function") {
			t.Errorf("kernel name %q: %v", name, err)
		}
	}
	for _, name := range []string{"_k", "conv2d_3x3", "K9"} {
		if _, err := NewKernel(name, []*Tensor{a, b}, []*Tensor{c}, nil); err != nil {
			t.Errorf("kernel name %q: %v", name, err)
		}
	}

	// intermediates need not be listed; an unused size param is kept
	k, err := NewKernel("k", []*Tensor{a, b}, []*Tensor{d}, []*Var{s})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"S"}, varNames(k.Params)); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
}

func TestComputeErrors(t *testing.T) {
	a := mustT(t)(Placeholder("A", []Expr{Int(4), Int(5)}, Int32))
	shape := []Expr{Int(4)}

	check := func(name string, tt *Tensor, err error, keys ...string) {
		t.Helper()
		if tt != nil {
			t.Errorf("%s: got a tensor, want an error", name)
		}
		checkErr(t, name, err, keys)
	}

	k := ReduceAxis("k", Int(0), Int(5))
	tt, err := Compute("S", shape, func(x []Expr) Expr { return AddOf(ReduceOf(Sum, a.At(x[0], k.Var), k), Int(1)) })
	check("reduce inside +", tt, err, "sum", "whole body")
	k = ReduceAxis("k", Int(0), Int(5))
	tt, err = Compute("S", shape, func(x []Expr) Expr { return CastTo(Float32, ReduceOf(Sum, a.At(x[0], k.Var), k)) })
	check("reduce inside cast", tt, err, "whole body")

	shared := ReduceAxis("k", Int(0), Int(5))
	mustT(t)(Compute("S1", shape, func(x []Expr) Expr { return ReduceOf(Sum, a.At(x[0], shared.Var), shared) }))
	tt, err = Compute("S2", shape, func(x []Expr) Expr { return ReduceOf(ReduceMax, a.At(x[0], shared.Var), shared) })
	check("shared reduce axis", tt, err, "reduce axis k", "already belongs", "S1")

	tt, err = Compute("W", shape, func(x []Expr) Expr { return a.At(x[0]) })
	check("one index for 2-D", tt, err, "A", "2 dimensions", "1 ind")
	tt, err = Compute("W", shape, func(x []Expr) Expr { return a.At(x[0], x[0], x[0]) })
	check("three indices for 2-D", tt, err, "2 dimensions", "3 ind")
	tt, err = Compute("W", shape, func(x []Expr) Expr { return a.At(x[0], Float(1)) })
	check("float index", tt, err, "integers")

	var foreign []Expr
	mustT(t)(Compute("P", shape, func(x []Expr) Expr { foreign = x; return Int(0) }))
	tt, err = Compute("Q", shape, func(x []Expr) Expr { return a.At(foreign[0], Int(0)) })
	check("axis of another compute", tt, err, "does not belong")

	unlisted := ReduceAxis("u", Int(0), Int(5))
	tt, err = Compute("U", shape, func(x []Expr) Expr { return a.At(x[0], unlisted.Var) })
	check("reduce axis outside a reduction", tt, err, "does not belong")

	tt, err = Compute("R", shape, func(x []Expr) Expr { return ReduceOf(Sum, a.At(x[0], Int(0))) })
	check("reduce without axes", tt, err, "at least one")
	kb := ReduceAxis("kb", Int(0), Int(5))
	tt, err = Compute("R", shape, func(x []Expr) Expr { return ReduceOf(Sum, Bin(LT, a.At(x[0], kb.Var), Int(0)), kb) })
	check("sum of bools", tt, err, "not defined on bool")
	kd := ReduceAxis("kd", Int(0), Int(5))
	tt, err = Compute("R", shape, func(x []Expr) Expr { return ReduceOf(Sum, a.At(x[0], kd.Var), kd, kd) })
	check("axis listed twice", tt, err, "listed twice")

	tt, err = Compute("Z", []Expr{Int(0)}, func(x []Expr) Expr { return Int(1) })
	check("zero extent", tt, err, "positive")
	tt, err = Compute("N", shape, func(x []Expr) Expr { return nil })
	check("nil body", tt, err, "missing")
	tt, err = Compute("N", shape, func(x []Expr) Expr { return Int(1) }, "i", "j")
	check("axis names", tt, err, "axis names")
	tt, err = Compute("M", shape, func(x []Expr) Expr { return AddOf(a.At(x[0], Int(0)), CastTo(Int8, Int(1))) })
	check("ill-typed body", tt, err, "mismatched")

	// a literal body takes the default type
	c := mustT(t)(Compute("L", shape, func([]Expr) Expr { return AddOf(Int(1), Int(2)) }))
	if diff := cmp.Diff(Int32, c.DType); diff != "" {
		t.Errorf("literal body dtype (-want +got):\n%s", diff)
	}
	cf := mustT(t)(Compute("LF", shape, func([]Expr) Expr { return AddOf(Int(1), Float(0.5)) }))
	if diff := cmp.Diff(Float32, cf.DType); diff != "" {
		t.Errorf("float literal body dtype (-want +got):\n%s", diff)
	}
	res, err := Evaluate([]*Tensor{cf}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{1.5, 1.5, 1.5, 1.5}, res[cf].Floats); diff != "" {
		t.Errorf("literal body (-want +got):\n%s", diff)
	}
}

func TestRandomBuffer(t *testing.T) {
	p := mustT(t)(Placeholder("P", []Expr{Int(1000)}, UInt8))
	if err := p.SetRange(0, 3); err != nil {
		t.Fatal(err)
	}
	b := RandomBuffer(UInt8, []int{1000}, p.Range, rand.New(rand.NewPCG(7, 7)))
	seen := map[int64]int{}
	for _, v := range b.Ints {
		if v < 0 || v > 3 {
			t.Fatalf("uint8 in 0..3: got %d", v)
		}
		seen[v]++
	}
	if len(seen) != 4 {
		t.Errorf("uint8 in 0..3: 1000 draws hit only %v", seen)
	}

	// determinism: same seed, same values; another seed, other values
	for _, dt := range []DType{UInt8, Int32, Float32, Float64, UInt64, Bool} {
		mk := func(seed uint64) *Buffer {
			return RandomBuffer(dt, []int{64}, nil, rand.New(rand.NewPCG(seed, seed)))
		}
		if diff := cmp.Diff(mk(42), mk(42)); diff != "" {
			t.Errorf("%v: seed 42 twice differs:\n%s", dt, diff)
		}
		if cmp.Equal(mk(42), mk(43)) {
			t.Errorf("%v: seeds 42 and 43 give the same buffer", dt)
		}
	}

	// declared ranges, and the defaults
	ranges := []struct {
		dt     DType
		vr     *ValueRange
		lo, hi float64
	}{
		{Int8, &ValueRange{-5, 5}, -5, 5},
		{Int64, &ValueRange{-(1 << 40), 1 << 40}, -(1 << 40), 1 << 40},
		{UInt16, &ValueRange{1000, 1003}, 1000, 1003},
		{UInt64, &ValueRange{1 << 62, 1<<62 + 10}, 1 << 62, 1<<62 + 10},
		{Bool, &ValueRange{1, 1}, 1, 1},
		{Float32, &ValueRange{-2, 3}, -2, 3},
		{Float64, &ValueRange{10, 10.5}, 10, 10.5},
		{Int8, nil, -128, 127},
		{UInt8, nil, 0, 255},
		{Int16, nil, -32768, 32767},
		{Bool, nil, 0, 1},
		{Float32, nil, -1, 1},
	}
	for _, r := range ranges {
		b := RandomBuffer(r.dt, []int{500}, r.vr, rand.New(rand.NewPCG(1, 1)))
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := 0; i < b.Len(); i++ {
			v := b.Float(i)
			lo, hi = min(lo, v), max(hi, v)
			if v < r.lo || v > r.hi {
				t.Errorf("%v in %v..%v: got %v", r.dt, r.lo, r.hi, v)
				break
			}
			if r.dt == Float32 && float64(float32(v)) != v {
				t.Errorf("float32 element %v is not a float32 value", v)
				break
			}
		}
		if r.dt.IsInteger() || r.dt.IsBool() {
			if (r.hi-r.lo) < 20 && (lo != r.lo || hi != r.hi) {
				t.Errorf("%v in %v..%v: 500 draws span only %v..%v", r.dt, r.lo, r.hi, lo, hi)
			}
		}
	}

	// SetRange checks the bounds against the dtype
	for _, c := range []struct {
		dt     DType
		lo, hi float64
		err    []string
	}{
		{UInt8, 0, 256, []string{"does not fit"}},
		{Int8, -129, 0, []string{"does not fit"}},
		{Int32, 0, 1.5, []string{"integer bounds"}},
		{Float32, 2, 1, []string{"empty"}},
		{Float32, math.NaN(), 1, []string{"empty"}},
	} {
		p := mustT(t)(Placeholder("P", []Expr{Int(1)}, c.dt))
		checkErr(t, fmt.Sprintf("SetRange(%v, %v, %v)", c.dt, c.lo, c.hi), p.SetRange(c.lo, c.hi), c.err)
	}
	comp := mustT(t)(Compute("C", []Expr{Int(1)}, func([]Expr) Expr { return Int(1) }))
	checkErr(t, "SetRange on a compute", comp.SetRange(0, 1), []string{"only placeholders"})
}

func TestRandomBufferFullIntRanges(t *testing.T) {
	t.Run("int64", func(t *testing.T) {
		checkSpread(t, Int64, math.MinInt64, math.MaxInt64)
	})
	t.Run("uint64", func(t *testing.T) {
		checkSpread(t, UInt64, 0, math.MaxUint64)
	})
}

// checkSpread draws 1000 values from the declared full range of dt and
// expects them to cover both halves of the range.
func checkSpread(t *testing.T, dt DType, lo, hi float64) {
	p := mustT(t)(Placeholder("P", []Expr{Int(1000)}, dt))
	if err := p.SetRange(lo, hi); err != nil {
		t.Fatal(err)
	}
	b := RandomBuffer(dt, []int{1000}, p.Range, rand.New(rand.NewPCG(5, 5)))
	mid := (lo + hi) / 2
	below, above := 0, 0
	for i := 0; i < b.Len(); i++ {
		if b.Float(i) < mid {
			below++
		} else {
			above++
		}
	}
	if below < 400 || above < 400 {
		t.Errorf("%v over its full range: %d values below the midpoint, %d above", dt, below, above)
	}
}

func TestRandomBufferFloatHalfOpen(t *testing.T) {
	vr := &ValueRange{1 << 24, 1<<24 + 2}
	b := RandomBuffer(Float32, []int{100}, vr, rand.New(rand.NewPCG(9, 9)))
	for _, v := range b.Floats {
		if v < vr.Lo || v >= vr.Hi {
			t.Fatalf("float32 in [%v, %v): got %v", vr.Lo, vr.Hi, v)
		}
	}
}

func TestCompare(t *testing.T) {
	f := func(v ...float64) *Buffer { return &Buffer{DType: Float32, Shape: []int{len(v)}, Floats: v} }
	nan := math.NaN()
	cases := []struct {
		got, want *Buffer
		first     int
		maxErr    float64
	}{
		{f(1, 2, 3), f(1, 2, 3), -1, 0},
		{f(1, 2.00001, 3), f(1, 2, 3), -1, 0.00001},
		{f(1, 2.1, 3), f(1, 2, 3), 1, 0.1},
		{f(nan, 1), f(nan, 1), -1, 0},
		{f(nan, 1), f(0, 1), 0, math.Inf(1)},
		{f(math.Inf(1)), f(math.Inf(1)), -1, 0},
		{f(math.Inf(1)), f(math.Inf(-1)), 0, math.Inf(1)},
		{&Buffer{DType: Int8, Shape: []int{2}, Ints: []int64{1, 2}}, &Buffer{DType: Int8, Shape: []int{2}, Ints: []int64{1, 3}}, 1, 0},
		{f(1), f(1, 2), 0, 0},
	}
	for i, c := range cases {
		m := Compare(c.got, c.want, 1e-4)
		if m.First != c.first || math.Abs(m.MaxErr-c.maxErr) > 1e-9 && !(math.IsInf(m.MaxErr, 1) && math.IsInf(c.maxErr, 1)) {
			t.Errorf("case %d: got first %d maxErr %g (%s), want first %d maxErr %g", i, m.First, m.MaxErr, m.Detail, c.first, c.maxErr)
		}
	}
}

func TestOpCount(t *testing.T) {
	n := SizeVar("n")
	a, _ := Placeholder("A", []Expr{Int(4), Int(6)}, Float32)
	b, _ := Placeholder("B", []Expr{Int(6), n}, Float32)
	k := ReduceAxis("k", Int(0), Int(6))
	c, _ := Compute("C", []Expr{Int(4), n}, func(i []Expr) Expr {
		return ReduceOf(Sum, Bin(Mul, a.At(i[0], k.Var), b.At(k.Var, i[1])), k)
	})
	kern, _ := NewKernel("mm", []*Tensor{a, b}, []*Tensor{c}, nil)
	ops, float, err := OpCount(kern, map[*Var]int64{n: 5})
	if err != nil || ops != 2*4*5*6 || !float {
		t.Errorf("matmul: %v ops, float %v, %v; want %d", ops, float, err, 2*4*5*6)
	}
	// B packed into (n/2, 6, 2) panels: the index arithmetic of the reads
	// is addressing, not work, so the count stays 2*M*N*K
	bp, err := Compute("Bp", []Expr{Int(3), Int(6), Int(2)}, func(i []Expr) Expr {
		return b.At(i[1], Bin(Add, Bin(Mul, i[0], Int(2)), i[2]))
	})
	if err != nil {
		t.Fatal(err)
	}
	k2 := ReduceAxis("k", Int(0), Int(6))
	cp, err := Compute("C", []Expr{Int(4), Int(6)}, func(i []Expr) Expr {
		return ReduceOf(Sum, Bin(Mul, a.At(i[0], k2.Var), bp.At(Bin(FloorDiv, i[1], Int(2)), k2.Var, Bin(FloorMod, i[1], Int(2)))), k2)
	})
	if err != nil {
		t.Fatal(err)
	}
	kern, err = NewKernel("mm", []*Tensor{a, b}, []*Tensor{cp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ops, _, err = OpCount(kern, map[*Var]int64{n: 6})
	if err != nil || ops != 2*4*6*6 {
		t.Errorf("packed matmul: %v ops, %v; want %d", ops, err, 2*4*6*6)
	}
}
