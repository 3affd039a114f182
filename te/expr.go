package te

import (
	"fmt"
	"math"
)

// Expr is a scalar expression. Expressions are immutable trees; every node
// knows its type. Constructors never panic: an ill-typed combination yields a
// *Bad node carrying the error, which Compute reports. The interface is open
// so that the loop IR can add its own nodes (vector ramps, buffer loads).
type Expr interface {
	Type() DType
}

// IntImm is an integer or boolean constant, stored canonically (see DType.Wrap).
type IntImm struct {
	Value int64
	T     DType
}

// FloatImm is a floating-point constant.
type FloatImm struct {
	Value float64
	T     DType
}

// Var is a named scalar variable: a loop axis (see IterVar) or a symbolic
// dimension (see SizeVar), always of type Index.
type Var struct {
	Name string
	size bool
}

// SizeVar makes a symbolic dimension: an Index value fixed when a kernel runs,
// passed as a kernel argument.
func SizeVar(name string) *Var { return &Var{Name: name, size: true} }

// IsSize reports whether v is a symbolic dimension rather than a loop axis.
func (v *Var) IsSize() bool { return v.size }

// BinOp is a binary operator.
type BinOp uint8

const (
	Add BinOp = iota
	Sub
	Mul
	Div      // integer: truncates toward zero (C); float: IEEE division
	Mod      // integer remainder with the sign of the dividend (C)
	FloorDiv // integer division rounding toward -inf (index math)
	FloorMod // remainder with the sign of the divisor (index math)
	Min
	Max
	BitAnd
	BitOr
	BitXor
	Shl
	Shr // arithmetic for signed types, logical for unsigned
	And // logical, short-circuit
	Or  // logical, short-circuit
	EQ
	NE
	LT
	LE
	GT
	GE
	Pow // float power, C's pow (pow(x, 0) is 1 even for NaN x)
)

var binOpNames = [...]string{"+", "-", "*", "/", "%", "floordiv", "floormod", "min", "max",
	"&", "|", "^", "<<", ">>", "&&", "||", "==", "!=", "<", "<=", ">", ">=", "pow"}

func (op BinOp) String() string { return binOpNames[op] }

// IsComparison reports whether op yields a bool from two operands of one type.
func (op BinOp) IsComparison() bool { return op >= EQ && op <= GE }

// isCall reports whether op is written as a function call rather than infix.
func (op BinOp) isCall() bool {
	return op == FloorDiv || op == FloorMod || op == Min || op == Max || op == Pow
}

// Binary applies a binary operator; T is the result type.
type Binary struct {
	Op   BinOp
	A, B Expr
	T    DType
}

// UnOp is a unary operator or intrinsic function.
type UnOp uint8

const (
	Neg    UnOp = iota
	Not         // logical not of a bool
	BitNot      // bitwise complement
	Abs
	Popcount // number of set bits, same type as the operand
	Exp
	Sqrt
	Round // to nearest, ties to even (numpy.round, llvm.roundeven)
	Floor
	Log2
	Log // natural logarithm
	Exp2
	Tanh
	Sigmoid // 1 / (1 + exp(-x))
	Erf
)

var unOpNames = [...]string{"-", "!", "~", "abs", "popcount", "exp", "sqrt", "round", "floor", "log2",
	"log", "exp2", "tanh", "sigmoid", "erf"}

// FloatFunctions are the unary functions defined on floats only: the
// language's names for them are their String()s.
var FloatFunctions = []UnOp{Exp, Exp2, Log, Log2, Sqrt, Round, Floor, Tanh, Sigmoid, Erf}

func (op UnOp) String() string { return unOpNames[op] }

// Unary applies a unary operator; its type is the operand's type.
type Unary struct {
	Op UnOp
	X  Expr
}

// Cast converts X to type T.
type Cast struct {
	T DType
	X Expr
}

// Select chooses between True and False by Cond. If Lazy is false (select),
// both branches are evaluated and must be valid; if Lazy is true
// (if_then_else), only the chosen branch is evaluated, so the other may read
// out of bounds (the idiom for padding).
type Select struct {
	Cond, True, False Expr
	Lazy              bool
}

// Read loads one element of a tensor.
type Read struct {
	Tensor  *Tensor
	Indices []Expr
}

// ReduceOp is a commutative, associative reduction.
type ReduceOp uint8

const (
	Sum ReduceOp = iota
	ReduceMin
	ReduceMax
)

var reduceOpNames = [...]string{"sum", "min", "max"}

func (op ReduceOp) String() string { return reduceOpNames[op] }

// Reduce combines Body over all points of Axes (first axis outermost) starting
// from the identity of Op. It may only be the whole body of a compute.
type Reduce struct {
	Op   ReduceOp
	Body Expr
	Axes []*IterVar
}

// Bad is an expression that could not be built; Err says why.
type Bad struct{ Err error }

func (e *IntImm) Type() DType   { return e.T }
func (e *FloatImm) Type() DType { return e.T }
func (e *Var) Type() DType      { return Index }
func (e *Binary) Type() DType   { return e.T }
func (e *Unary) Type() DType    { return e.X.Type() }
func (e *Cast) Type() DType     { return e.T }
func (e *Select) Type() DType   { return e.True.Type() }
func (e *Read) Type() DType     { return e.Tensor.DType }
func (e *Reduce) Type() DType   { return e.Body.Type() }
func (e *Bad) Type() DType      { return Invalid }

// Int is an untyped integer literal; it takes the type of the operand it meets.
func Int(v int64) Expr { return &IntImm{Value: v, T: UntypedInt} }

// Float is an untyped float literal; it may meet float operands only.
func Float(v float64) Expr { return &FloatImm{Value: v, T: UntypedFloat} }

// BoolConst is a bool constant.
func BoolConst(b bool) Expr {
	if b {
		return &IntImm{Value: 1, T: Bool}
	}
	return &IntImm{Value: 0, T: Bool}
}

// Const is a typed constant; it is an error if v does not fit t.
func Const(t DType, v float64) Expr {
	if t.IsFloat() {
		return convertConst(Float(v), t)
	}
	if v != math.Trunc(v) {
		return badf("constant %v is not an integer; a %v cannot hold it", v, t)
	}
	if t.IsInteger() {
		hi := math.Ldexp(1, t.Bits-1) // exclusive upper bound, exact in float64
		if t.Kind == KindUInt {
			hi *= 2
		}
		if v < float64(t.MinInt()) || v >= hi {
			return badf("constant %v overflows %v (range %d..%s)", v, t, t.MinInt(), maxString(t))
		}
		if v >= 1<<63 {
			return &IntImm{Value: int64(uint64(v)), T: t}
		}
	}
	return convertConst(Int(int64(v)), t)
}

func badf(format string, args ...any) *Bad { return &Bad{Err: fmt.Errorf(format, args...)} }

// firstBad returns the first Bad among es, or nil.
func firstBad(es ...Expr) *Bad {
	for _, e := range es {
		if b, ok := e.(*Bad); ok {
			return b
		}
	}
	return nil
}

// Error returns the error of the first Bad node anywhere in e, or nil.
func Error(e Expr) error {
	var err error
	Walk(e, func(x Expr) bool {
		if b, ok := x.(*Bad); ok && err == nil {
			err = b.Err
		}
		return err == nil
	})
	return err
}

// IntValue returns the value of an integer constant expression.
func IntValue(e Expr) (int64, bool) {
	c, ok := e.(*IntImm)
	if !ok {
		return 0, false
	}
	return c.Value, true
}
