package llvmgen

import (
	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/enum"
)

// Options change how code is generated.
type Options struct {
	// FastMath lets LLVM reassociate float arithmetic and contract
	// multiply-adds into FMAs, and makes float min and max a plain
	// compare-select (a NaN operand or zeros of both signs may give
	// either operand). Results then differ from the reference evaluator
	// in the last bits (strict semantics are the default).
	FastMath bool
	// Sanitize marks every function sanitize_address, so that clang
	// -fsanitize=address instruments its memory accesses (tests).
	Sanitize bool
	// Profile makes a network's entry function call the C function
	// tide_profile(i) after its group i (and tide_profile(-1) first): a
	// caller's profiler reads the clock there (tide bench --profile).
	Profile bool
	// NoAutoVectorize turns clang's own loop and SLP vectorizers off (an
	// ablation without vectorization must not get it back from LLVM).
	NoAutoVectorize bool
}

var fastFlags = []enum.FastMathFlag{enum.FastMathFlagContract, enum.FastMathFlagReassoc}

// markFastMath puts the reassoc and contract flags on every float
// operation of the module (and on the ordered float reductions, which then
// may reduce in a tree).
func markFastMath(m *ir.Module) {
	for _, f := range m.Funcs {
		for _, b := range f.Blocks {
			for _, inst := range b.Insts {
				switch i := inst.(type) {
				case *ir.InstFAdd:
					i.FastMathFlags = fastFlags
				case *ir.InstFSub:
					i.FastMathFlags = fastFlags
				case *ir.InstFMul:
					i.FastMathFlags = fastFlags
				case *ir.InstFDiv:
					i.FastMathFlags = fastFlags
				case *ir.InstCall:
					if c, ok := i.Callee.(*ir.Func); ok && len(c.Name()) > 24 && c.Name()[:24] == "llvm.vector.reduce.fadd." {
						i.FastMathFlags = fastFlags
					}
				}
			}
		}
	}
}
