package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/te"
)

// OpenBLAS is the library the float baselines are measured against.
var OpenBLAS = Tool{"/usr/include/x86_64-linux-gnu/cblas.h", "libopenblas-dev"}

// A Baseline is a library's implementation of a kernel's computation, in C,
// timed on the kernel's own inputs so that its outputs can be compared with
// the kernel's: a baseline that computes something else is caught, not
// reported as a speed ratio.
type Baseline struct {
	Name     string   // what is timed, e.g. "openblas cblas_sgemm 1024x1024x1024"
	Library  Tool     // a header of the library, and its Debian package
	Libs     []string // -l names to link
	Includes []string // headers, e.g. "cblas.h"
	// Setup runs once before the timed calls, Call at each; both are C
	// statements over in0, in1, ... (the inputs) and out0, ... (the
	// outputs), pointers to their element type. Setup may print
	// SkipMarker and a reason and return 0 (the baseline cannot run here:
	// BenchBaseline returns a *SkipError).
	Setup, Call string
	// Decls are C declarations before main (the prototypes of Sources'
	// functions).
	Decls string
	// Sources are C files compiled with their own flags and linked with
	// the harness (hand-written reference kernels), and the headers they
	// include (NAME.h, written first); Library is then usually the zero
	// Tool, no library.
	Sources []CSource
}

// A CSource is a C file (or header) of a baseline: its name in the build
// directory, its text and the compiler flags it needs (after -O2).
type CSource struct {
	Name, Text string
	Flags      []string
}

// isHeader reports whether the source is a header: written beside the
// others for their #include, not compiled on its own.
func (cs CSource) isHeader() bool { return strings.HasSuffix(cs.Name, ".h") }

// SkipMarker starts the line a baseline's harness prints, instead of
// timings, when the baseline cannot run on this machine (a CPU feature it
// needs is missing); the rest of the line says why.
const SkipMarker = "tide-skip: "

// SkipError is a baseline that cannot run on this machine: bench reports
// it as skipped, with the reason, rather than failing.
type SkipError struct {
	Baseline, Reason string
}

func (e *SkipError) Error() string { return e.Baseline + ": skipped: " + e.Reason }

// Sgemm is cblas_sgemm on row-major C = A·B, A M×K and B K×N: the inputs A, B
// and the output C of a matmul kernel. OpenBLAS takes its thread count from
// OPENBLAS_NUM_THREADS.
func Sgemm(m, n, k int) Baseline {
	return Baseline{
		Name:     fmt.Sprintf("openblas cblas_sgemm %dx%dx%d", m, n, k),
		Library:  OpenBLAS,
		Libs:     []string{"openblas"},
		Includes: []string{"cblas.h"},
		Call:     fmt.Sprintf("cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, %d, %d, %d, 1, in0, %d, in1, %d, 0, out0, %d);", m, n, k, k, n, n),
	}
}

// OneDNNSgemm is oneDNN's dnnl_sgemm on the same row-major C = A·B: its
// own GEMM kernels (AVX-512 where the CPU has it; ONEDNN_MAX_CPU_ISA
// limits them), threads from OMP_NUM_THREADS.
func OneDNNSgemm(m, n, k int) Baseline {
	return Baseline{
		Name:     fmt.Sprintf("onednn dnnl_sgemm %dx%dx%d", m, n, k),
		Library:  OneDNN,
		Libs:     []string{"dnnl"},
		Includes: []string{"dnnl.h"},
		Call:     fmt.Sprintf("if (dnnl_sgemm('N', 'N', %d, %d, %d, 1.0f, in0, %d, in1, %d, 0.0f, out0, %d) != dnnl_success) { fprintf(stderr, \"dnnl_sgemm failed\\n\"); exit(2); }", m, n, k, k, n, n),
	}
}

// BenchBaseline builds the baseline with a harness like BenchKernel's, runs
// it natively on the inputs (a warm-up call, then repeat timed calls) and
// returns the times and the outputs, of the given dtypes and shapes.
func BenchBaseline(t llvmgen.Target, b Baseline, inputs []*te.Buffer, outTypes []te.DType, outShapes [][]int, dir string, repeat int) ([]time.Duration, []*te.Buffer, error) {
	if !Native(t) {
		return nil, nil, fmt.Errorf("%s: baselines are timed natively only", b.Name)
	}
	if b.Library.Command != "" {
		if _, err := os.Stat(b.Library.Command); err != nil {
			return nil, nil, &MissingError{b.Library}
		}
	}
	var src strings.Builder
	for _, h := range append([]string{"stdio.h", "stdlib.h", "time.h"}, b.Includes...) {
		fmt.Fprintf(&src, "#include <%s>\n", h)
	}
	src.WriteString("\n" + cBuffers + "\n")
	if b.Decls != "" {
		src.WriteString(b.Decls + "\n\n")
	}
	src.WriteString("int main(int argc, char **argv) {\n")
	// argv[1..] name one file per input, then per output
	var files []string
	declare := func(name string, typ te.DType, elems int, in bool) string {
		path := filepath.Join(dir, "baseline_"+name+".bin")
		files = append(files, path)
		fmt.Fprintf(&src, "    %s *%s = tide_io(argv[%d], %d, %d);\n", llvmgen.CType(typ), name, len(files), elems*max(1, typ.Bytes()), boolInt(in))
		return path
	}
	for i, in := range inputs {
		path := declare(fmt.Sprintf("in%d", i), in.DType, in.Len(), true)
		if err := os.WriteFile(path, in.Memory(), 0o644); err != nil {
			return nil, nil, err
		}
	}
	for i, typ := range outTypes {
		declare(fmt.Sprintf("out%d", i), typ, te.NumElements(outShapes[i]), false)
	}
	fmt.Fprintf(&src, "    %s\n    %s\n", b.Setup, b.Call)
	fmt.Fprintf(&src, "    for (int r = 0; r < %d; r++) {\n", max(1, repeat))
	src.WriteString("        struct timespec t0, t1;\n        clock_gettime(CLOCK_MONOTONIC, &t0);\n")
	fmt.Fprintf(&src, "        %s\n", b.Call)
	src.WriteString("        clock_gettime(CLOCK_MONOTONIC, &t1);\n        printf(\"%ld\\n\", (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));\n    }\n")
	for i, typ := range outTypes {
		fmt.Fprintf(&src, "    tide_save(argv[%d], out%d, %d);\n", len(inputs)+i+1, i, te.NumElements(outShapes[i])*max(1, typ.Bytes()))
	}
	src.WriteString("    return 0;\n}\n")
	c, obj, exe := filepath.Join(dir, "baseline.c"), filepath.Join(dir, "baseline.o"), filepath.Join(dir, "baseline")
	if err := os.WriteFile(c, []byte(src.String()), 0o644); err != nil {
		return nil, nil, err
	}
	if err := CompileC(t, c, obj); err != nil {
		return nil, nil, err
	}
	objs := []string{obj}
	for _, cs := range b.Sources {
		c := filepath.Join(dir, cs.Name)
		o := strings.TrimSuffix(c, ".c") + ".o"
		if err := os.WriteFile(c, []byte(cs.Text), 0o644); err != nil {
			return nil, nil, err
		}
		if cs.isHeader() {
			continue
		}
		if err := CompileC(t, c, o, cs.Flags...); err != nil {
			return nil, nil, err
		}
		objs = append(objs, o)
	}
	if err := Link(t, exe, objs, b.Libs...); err != nil {
		return nil, nil, err
	}
	out, err := Run(t, exe, files...)
	if err != nil {
		return nil, nil, err
	}
	if reason, ok := strings.CutPrefix(out, SkipMarker); ok {
		return nil, nil, &SkipError{b.Name, strings.TrimSpace(reason)}
	}
	var times []time.Duration
	for _, f := range strings.Fields(out) {
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%s harness printed %q", b.Name, f)
		}
		times = append(times, time.Duration(ns))
	}
	var outs []*te.Buffer
	for i, typ := range outTypes {
		data, err := os.ReadFile(files[len(inputs)+i])
		if err != nil {
			return nil, nil, err
		}
		buf, err := decode(typ, outShapes[i], data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s output %d: %w", b.Name, i, err)
		}
		outs = append(outs, buf)
	}
	return times, outs, nil
}
