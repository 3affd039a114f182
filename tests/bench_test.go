package tests

import (
	"os"
	"testing"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/topi"
)

// Benchmarks of the compiler itself (not of generated code):
//
//	go test ./tests -run '^$' -bench . -benchtime 3x

// parseForBench parses an example with its schedule for a target.
func parseForBench(b *testing.B, file string, defines map[string]int64, tgt llvmgen.Target) *dsl.Program {
	src, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	p, err := dsl.ParseWith(file, src, dsl.Options{Defines: defines, Target: &topi.Target{Name: tgt.Name, VectorBits: tgt.VectorBits}})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchTarget(b *testing.B) llvmgen.Target {
	tgt, err := llvmgen.ParseTarget("x86-64")
	if err != nil {
		b.Fatal(err)
	}
	return tgt
}

// BenchmarkLowerMatmul lowers the scheduled 1024^3 matmul example.
func BenchmarkLowerMatmul(b *testing.B) {
	p := parseForBench(b, "../examples/matmul.te", nil, benchTarget(b))
	for b.Loop() {
		if _, _, err := lower.Lower(p.Kernel, p.Schedule, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateMatmul generates LLVM IR for the lowered matmul.
func BenchmarkGenerateMatmul(b *testing.B) {
	tgt := benchTarget(b)
	p := parseForBench(b, "../examples/matmul.te", nil, tgt)
	f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := llvmgen.Generate(f, tgt, llvmgen.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLowerResNet18 is the whole front half for the network: parse,
// fuse, schedule, lower, group.
func BenchmarkLowerResNet18(b *testing.B) {
	tgt := benchTarget(b)
	for b.Loop() {
		buildNetwork(b, "../examples/networks/resnet18.te", tgt, 1)
	}
}

// BenchmarkGenerateResNet18 generates the network's LLVM module.
func BenchmarkGenerateResNet18(b *testing.B) {
	tgt := benchTarget(b)
	_, _, fn := buildNetwork(b, "../examples/networks/resnet18.te", tgt, 1)
	for b.Loop() {
		if _, _, err := llvmgen.Generate(fn.Func, tgt, llvmgen.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
