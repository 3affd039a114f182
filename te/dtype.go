package te

import (
	"fmt"
	"math"
)

// Kind is the family of a data type.
type Kind uint8

const (
	KindInvalid Kind = iota
	KindBool
	KindInt
	KindUInt
	KindFloat
	// KindUntypedInt and KindUntypedFloat are the types of literals that have
	// not met a typed operand yet (as in Go): they take the type of the other
	// operand of an operator, and default to int32 / float32 when they do not.
	KindUntypedInt
	KindUntypedFloat
)

// DType is a scalar or vector data type. Lanes is 1 for scalars; the loop IR
// uses wider lanes for vector values.
type DType struct {
	Kind  Kind
	Bits  int
	Lanes int
}

// The scalar types of the language.
var (
	Invalid = DType{}
	Bool    = DType{KindBool, 1, 1}
	Int8    = DType{KindInt, 8, 1}
	Int16   = DType{KindInt, 16, 1}
	Int32   = DType{KindInt, 32, 1}
	Int64   = DType{KindInt, 64, 1}
	UInt8   = DType{KindUInt, 8, 1}
	UInt16  = DType{KindUInt, 16, 1}
	UInt32  = DType{KindUInt, 32, 1}
	UInt64  = DType{KindUInt, 64, 1}
	Float32 = DType{KindFloat, 32, 1}
	Float64 = DType{KindFloat, 64, 1}

	UntypedInt   = DType{KindUntypedInt, 64, 1}
	UntypedFloat = DType{KindUntypedFloat, 64, 1}

	// Index is the type of loop variables, shapes and symbolic dimensions.
	Index = Int64
)

// ScalarTypes lists the dtypes a program may name, in the order messages list them.
var ScalarTypes = []DType{Bool, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64}

// ParseDType returns the scalar dtype with the given name ("float32", "uint8", ...).
func ParseDType(name string) (DType, bool) {
	for _, t := range ScalarTypes {
		if t.String() == name {
			return t, true
		}
	}
	return Invalid, false
}

// DTypeNames returns the names of all scalar dtypes.
func DTypeNames() []string {
	names := make([]string, len(ScalarTypes))
	for i, t := range ScalarTypes {
		names[i] = t.String()
	}
	return names
}

func (t DType) String() string {
	var s string
	switch t.Kind {
	case KindBool:
		s = "bool"
	case KindInt:
		s = fmt.Sprintf("int%d", t.Bits)
	case KindUInt:
		s = fmt.Sprintf("uint%d", t.Bits)
	case KindFloat:
		s = fmt.Sprintf("float%d", t.Bits)
	case KindUntypedInt:
		s = "untyped int"
	case KindUntypedFloat:
		s = "untyped float"
	default:
		return "invalid"
	}
	if t.Lanes > 1 {
		s += fmt.Sprintf("x%d", t.Lanes)
	}
	return s
}

// WithLanes returns t with the given number of vector lanes.
func (t DType) WithLanes(n int) DType { t.Lanes = n; return t }

// Element returns the scalar type of a vector type.
func (t DType) Element() DType { t.Lanes = 1; return t }

func (t DType) IsBool() bool    { return t.Kind == KindBool }
func (t DType) IsInt() bool     { return t.Kind == KindInt }
func (t DType) IsUInt() bool    { return t.Kind == KindUInt }
func (t DType) IsFloat() bool   { return t.Kind == KindFloat }
func (t DType) IsUntyped() bool { return t.Kind == KindUntypedInt || t.Kind == KindUntypedFloat }

// IsInteger reports whether t is a signed or unsigned integer type (typed or not).
func (t DType) IsInteger() bool {
	return t.Kind == KindInt || t.Kind == KindUInt || t.Kind == KindUntypedInt
}

// IsNumeric reports whether arithmetic is defined on t.
func (t DType) IsNumeric() bool { return t.IsInteger() || t.IsFloat() || t.Kind == KindUntypedFloat }

// Bytes is the storage size of one element.
func (t DType) Bytes() int {
	if t.Kind == KindBool {
		return 1
	}
	return t.Bits / 8 * t.Lanes
}

// Default returns the type an untyped literal takes when nothing else decides
// (int32 and float32, as in TVM); typed dtypes are returned unchanged.
func (t DType) Default() DType {
	switch t.Kind {
	case KindUntypedInt:
		return Int32
	case KindUntypedFloat:
		return Float32
	}
	return t
}

// MinInt and MaxInt are the range of an integer type (as int64; uint64's
// maximum is returned as math.MaxInt64 and must be handled by the caller).
func (t DType) MinInt() int64 {
	if t.Kind == KindUInt || t.Kind == KindBool {
		return 0
	}
	return -1 << (t.Bits - 1)
}

func (t DType) MaxInt() int64 {
	switch {
	case t.Kind == KindBool:
		return 1
	case t.Kind == KindUInt && t.Bits == 64:
		return math.MaxInt64
	case t.Kind == KindUInt:
		return 1<<t.Bits - 1
	}
	return 1<<(t.Bits-1) - 1
}

// Wrap reduces v to the canonical representation of an integer of type t:
// two's complement wrap-around at t's width, sign-extended for signed types
// and zero-extended for unsigned ones (uint64 keeps all 64 bits).
func (t DType) Wrap(v int64) int64 {
	switch t.Kind {
	case KindBool:
		return v & 1
	case KindInt:
		if t.Bits == 64 {
			return v
		}
		shift := 64 - t.Bits
		return v << shift >> shift
	case KindUInt:
		if t.Bits == 64 {
			return v
		}
		return int64(uint64(v) & (1<<t.Bits - 1))
	}
	return v
}
