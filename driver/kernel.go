package driver

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llir/llvm/ir"

	"github.com/tide-compiler/tide/internal/cnames"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

// RunKernel generates code for a lowered kernel, builds it with a C harness
// for the target, runs it (natively or under qemu) on the inputs, and
// returns the outputs. dir receives the files (kernel.ll, the harness, the
// program, the raw data).
func RunKernel(t llvmgen.Target, opts llvmgen.Options, f *lower.Func, inputs []*te.Buffer, sizes map[*te.Var]int64, dir string) ([]*te.Buffer, []string, error) {
	r, err := runWith(t, opts, f, inputs, sizes, dir, runConfig{})
	if err != nil {
		return nil, nil, err
	}
	return r.outs, r.warnings, nil
}

// BenchKernel builds and runs a kernel like RunKernel, calling it once to
// warm up and then repeat times, and returns the time of each timed call.
func BenchKernel(t llvmgen.Target, opts llvmgen.Options, f *lower.Func, inputs []*te.Buffer, sizes map[*te.Var]int64, dir string, repeat int) ([]time.Duration, []*te.Buffer, error) {
	r, err := runWith(t, opts, f, inputs, sizes, dir, runConfig{repeat: max(1, repeat)})
	if err != nil {
		return nil, nil, err
	}
	return r.times, r.outs, nil
}

// ProfileKernel benchmarks a network function like BenchKernel and also
// returns the time of each of its groups per call (the mean over the timed
// calls; the groups' times add up to a call's, less the entry's own work),
// and its outputs.
func ProfileKernel(t llvmgen.Target, opts llvmgen.Options, f *lower.Func, inputs []*te.Buffer, dir string, repeat int) (times, groups []time.Duration, outs []*te.Buffer, err error) {
	opts.Profile = true
	r, err := runWith(t, opts, f, inputs, nil, dir, runConfig{repeat: max(1, repeat)})
	if err != nil {
		return nil, nil, nil, err
	}
	n := 0
	for _, s := range f.Body.(lower.Seq) {
		if _, ok := s.(*lower.Group); ok {
			n++
		}
	}
	if len(r.groups) != n {
		return nil, nil, nil, fmt.Errorf("the profiling harness printed %d times for %d groups", len(r.groups), n)
	}
	return r.times, r.groups, r.outs, nil
}

// runConfig are the ways a harness run can differ.
type runConfig struct {
	repeat int
	// objects, when set, makes the kernel's objects from its module
	// instead of compiling its parts (an instrumented assembly listing)
	objects func(m *ir.Module) ([]string, error)
	// counters is how many tide_loop_counts the harness prints ("L n")
	counters int
}

// runResult is what a harness run gives back.
type runResult struct {
	outs     []*te.Buffer
	times    []time.Duration // of each timed call
	groups   []time.Duration // per group, with opts.Profile ("P ns")
	counts   []int64         // the loop counters ("L n")
	warnings []string
}

// runWith generates code for a lowered kernel, builds it with a C harness
// for the target, runs it (natively or under qemu) on the inputs and reads
// back its outputs, times, profile and counters. dir receives the files.
func runWith(t llvmgen.Target, opts llvmgen.Options, f *lower.Func, inputs []*te.Buffer, sizes map[*te.Var]int64, dir string, cfg runConfig) (*runResult, error) {
	repeat := cfg.repeat
	m, warnings, err := llvmgen.Generate(f, t, opts)
	if err != nil {
		return nil, err
	}
	// the whole module for the reader, then its parts for clang
	if err := os.WriteFile(filepath.Join(dir, "kernel.ll"), []byte(m.String()), 0o644); err != nil {
		return nil, err
	}
	shapes := make([][]int, len(f.Args))
	for i, a := range f.Args {
		for _, d := range a.Shape {
			v, err := evalSize(d, sizes)
			if err != nil {
				return nil, err
			}
			shapes[i] = append(shapes[i], int(v))
		}
	}
	nIn := len(f.Args) - f.Outputs
	if len(inputs) != nIn {
		return nil, fmt.Errorf("%s takes %d inputs, got %d", f.Name, nIn, len(inputs))
	}
	var files []string
	for i, a := range f.Args {
		path := filepath.Join(dir, a.Name+".bin")
		files = append(files, path)
		if i < nIn {
			if inputs[i].DType != a.DType || inputs[i].Len() != te.NumElements(shapes[i]) {
				return nil, fmt.Errorf("input %s: got %v%v, want %v%v", a.Name, inputs[i].DType, inputs[i].Shape, a.DType, shapes[i])
			}
			if err := os.WriteFile(path, inputs[i].Memory(), 0o644); err != nil {
				return nil, err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, f.Name+".h"), []byte(llvmgen.Header(f, t)), 0o644); err != nil {
		return nil, err
	}
	csrc := filepath.Join(dir, "harness.c")
	if err := os.WriteFile(csrc, []byte(harness(f, shapes, sizes, repeat, opts.Profile, cfg.counters)), 0o644); err != nil {
		return nil, err
	}
	ho, exe := filepath.Join(dir, "harness.o"), filepath.Join(dir, f.Name)
	var sanitize []string
	if opts.Sanitize {
		// AddressSanitizer: clang instruments the functions marked
		// sanitize_address; an out-of-bounds access ends the run with a report
		sanitize = []string{"-fsanitize=address"}
	}
	compileFlags := sanitize
	if opts.NoAutoVectorize {
		compileFlags = append(append([]string{}, sanitize...), "-fno-vectorize", "-fno-slp-vectorize")
	}
	var objs []string
	if cfg.objects != nil {
		objs, err = cfg.objects(m)
	} else {
		objs, err = CompileParts(t, m, dir, true, compileFlags...)
	}
	if err != nil {
		return nil, err
	}
	if err := CompileC(t, csrc, ho); err != nil {
		return nil, err
	}
	if err := LinkWith(t, exe, append(objs, ho), sanitize); err != nil {
		return nil, err
	}
	stdout, err := Run(t, exe, files...)
	if err != nil {
		return nil, err
	}
	r := &runResult{warnings: warnings}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if line == "" {
			continue
		}
		field, isProfile := strings.CutPrefix(line, "P ")
		field, isCount := strings.CutPrefix(field, "L ")
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("harness printed %q", line)
		}
		switch {
		case isProfile:
			r.groups = append(r.groups, time.Duration(n))
		case isCount:
			r.counts = append(r.counts, n)
		default:
			r.times = append(r.times, time.Duration(n))
		}
	}
	for i := nIn; i < len(f.Args); i++ {
		data, err := os.ReadFile(files[i])
		if err != nil {
			return nil, err
		}
		b, err := decode(f.Args[i].DType, shapes[i], data)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", f.Args[i].Name, err)
		}
		r.outs = append(r.outs, b)
	}
	return r, nil
}

func evalSize(e te.Expr, sizes map[*te.Var]int64) (int64, error) {
	m := map[*te.Var]te.Expr{}
	for v, x := range sizes {
		m[v] = &te.IntImm{Value: x, T: te.Index}
	}
	s := lower.SimplifyExpr(te.Substitute(e, m))
	c, ok := s.(*te.IntImm)
	if !ok {
		return 0, fmt.Errorf("shape %s: a symbolic dimension has no value", te.ExprString(e))
	}
	return c.Value, nil
}

// cBuffers are the harnesses' C functions for buffers: tide_io allocates
// bytes, zeroed, and fills them from the file at path when in is not 0;
// tide_save writes them to a file. The harnesses' own names start with
// tide_, which no kernel may take (internal/cnames).
const cBuffers = `static void *tide_io(const char *path, unsigned long bytes, int in) {
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p) { fprintf(stderr, "cannot allocate %lu bytes for %s\n", bytes, path); exit(2); }
    if (!in) return p;
    FILE *f = fopen(path, "rb");
    if (!f || fread(p, 1, bytes, f) != bytes) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    fclose(f);
    return p;
}

static void tide_save(const char *path, void *p, unsigned long bytes) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, bytes, f) != bytes) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
    fclose(f);
}
`

// harness is a C main that reads each input from the file named by its
// argument, calls the kernel, and writes each output to its file.
func harness(f *lower.Func, shapes [][]int, sizes map[*te.Var]int64, repeat int, profile bool, counters int) string {
	var b strings.Builder
	// the kernel's own header: the C compiler checks it against the call
	// libc is declared by hand rather than through stdio.h and stdlib.h, so
	// that a kernel may be called random or abs like a libc function
	fmt.Fprintf(&b, "#include \"%s.h\"\n\n", f.Name)
	b.WriteString(`typedef struct _IO_FILE FILE;
extern FILE *stderr;
FILE *fopen(const char *, const char *);
unsigned long fread(void *, unsigned long, unsigned long, FILE *);
unsigned long fwrite(const void *, unsigned long, unsigned long, FILE *);
int fclose(FILE *);
int fprintf(FILE *, const char *, ...);
int printf(const char *, ...);
struct timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int, struct timespec *);
void *calloc(unsigned long, unsigned long);
void *aligned_alloc(unsigned long, unsigned long);
void exit(int);

`)
	b.WriteString(cBuffers)
	// under AddressSanitizer: the harness's buffers live until exit, no leak
	b.WriteString("\nconst char *__asan_default_options(void) { return \"detect_leaks=0\"; }\n")
	groups := 0
	lower.WalkStmt(f.Body, func(s lower.Stmt) bool {
		if _, ok := s.(*lower.Group); ok {
			groups++
			return false
		}
		return true
	})
	if profile {
		// the time since the previous group ended, summed per group over the
		// timed calls (the warm-up call is not counted: profiling starts
		// when main sets tide_profiling)
		fmt.Fprintf(&b, "\nstatic long tide_group_ns[%d], tide_last; static int tide_profiling;\n", max(1, groups))
		b.WriteString(`static long tide_now(void) { struct timespec t; clock_gettime(1, &t); return t.tv_sec * 1000000000L + t.tv_nsec; }
void tide_profile(int group) {
    long now = tide_now();
    if (group >= 0 && tide_profiling) tide_group_ns[group] += now - tide_last;
    tide_last = now;
}
`)
	}
	b.WriteString("\nint main(int tide_argc, char **tide_argv) {\n")
	fmt.Fprintf(&b, "    if (tide_argc != %d) { fprintf(stderr, \"usage: %%s FILE x %d\\n\", tide_argv[0]); return 2; }\n", len(f.Args)+1, len(f.Args))
	nIn := len(f.Args) - f.Outputs
	bufArg := map[*lower.Buffer]string{}
	for i, a := range f.Args {
		bytes := te.NumElements(shapes[i]) * max(1, a.DType.Bytes())
		fmt.Fprintf(&b, "    void *tide_a%d = tide_io(tide_argv[%d], %d, %d);\n", i, i+1, bytes, boolInt(i < nIn))
		bufArg[a] = fmt.Sprintf("tide_a%d", i)
	}
	// the kernel's arguments in its C signature's order (as declared)
	var args []string
	for _, arg := range f.Signature() {
		if v := arg.Param; v != nil {
			args = append(args, fmt.Sprintf("%dLL", sizes[v]))
		} else {
			args = append(args, bufArg[arg.Buffer])
		}
	}
	if f.Workspace != nil {
		// one workspace, allocated once for every call (a network's
		// intermediates: no allocation on the hot path)
		fmt.Fprintf(&b, "    long tide_wsize = (long)%s%s();\n", f.Name, cnames.WorkspaceSizeSuffix)
		// exactly the plan's bytes (a multiple of the alignment), so that
		// AddressSanitizer sees an access past the workspace's end
		fmt.Fprintf(&b, "    void *tide_workspace = aligned_alloc(%d, tide_wsize > 0 ? (tide_wsize + %d) / %d * %d : %d);\n", lower.WorkspaceAlign, lower.WorkspaceAlign-1, lower.WorkspaceAlign, lower.WorkspaceAlign, lower.WorkspaceAlign)
		b.WriteString("    if (!tide_workspace) { fprintf(stderr, \"cannot allocate the workspace (%ld bytes)\\n\", tide_wsize); return 2; }\n")
		args = append(args, "tide_workspace")
	}
	call := fmt.Sprintf("%s(%s);", f.Name, strings.Join(args, ", "))
	fmt.Fprintf(&b, "    %s\n", call)
	if repeat > 0 {
		// the call above warmed up caches; time each further call
		// (CLOCK_MONOTONIC is 1 on Linux) and print nanoseconds
		if profile {
			b.WriteString("    tide_profiling = 1;\n")
		}
		fmt.Fprintf(&b, "    for (int tide_r = 0; tide_r < %d; tide_r++) {\n", repeat)
		b.WriteString("        struct timespec tide_t0, tide_t1;\n        clock_gettime(1, &tide_t0);\n")
		fmt.Fprintf(&b, "        %s\n", call)
		b.WriteString("        clock_gettime(1, &tide_t1);\n        printf(\"%ld\\n\", (tide_t1.tv_sec - tide_t0.tv_sec) * 1000000000L + (tide_t1.tv_nsec - tide_t0.tv_nsec));\n    }\n")
		if profile {
			// per group: "P nanoseconds-per-call"
			fmt.Fprintf(&b, "    for (int tide_g = 0; tide_g < %d; tide_g++) printf(\"P %%ld\\n\", tide_group_ns[tide_g] / %d);\n", groups, repeat)
		}
	}
	if counters > 0 {
		// an instrumented listing counted each innermost loop's iterations
		fmt.Fprintf(&b, "    { extern unsigned long tide_loop_counts[%d]; for (int tide_i = 0; tide_i < %d; tide_i++) printf(\"L %%lu\\n\", tide_loop_counts[tide_i]); }\n", counters, counters)
	}
	for i := nIn; i < len(f.Args); i++ {
		bytes := te.NumElements(shapes[i]) * max(1, f.Args[i].DType.Bytes())
		fmt.Fprintf(&b, "    tide_save(tide_argv[%d], tide_a%d, %d);\n", i+1, i, bytes)
	}
	b.WriteString("    return 0;\n}\n")
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// decode reads a buffer written by te.Buffer.Memory (or by the kernel).
func decode(t te.DType, shape []int, data []byte) (*te.Buffer, error) {
	buf := te.NewBuffer(t, shape)
	size := max(1, t.Bytes())
	if len(data) != buf.Len()*size {
		return nil, fmt.Errorf("%d bytes, want %d", len(data), buf.Len()*size)
	}
	for i := 0; i < buf.Len(); i++ {
		var word [8]byte
		copy(word[:], data[i*size:(i+1)*size])
		bits := binary.LittleEndian.Uint64(word[:])
		switch {
		case t.IsFloat() && t.Bits == 32:
			buf.Floats[i] = float64(math.Float32frombits(uint32(bits)))
		case t.IsFloat():
			buf.Floats[i] = math.Float64frombits(bits)
		default:
			// sign- or zero-extend to the canonical int64 form
			buf.Ints[i] = t.Wrap(int64(bits))
		}
	}
	return buf, nil
}
