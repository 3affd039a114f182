package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/llir/llvm/ir"

	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
)

// A whole network on an emulated AArch64 target is estimated as the sum
// over its code of executions times llvm-mca's cycles: each innermost loop
// by its iterations times its cycles per iteration, each basic block
// outside innermost loops (a block's epilogue, its glue, the outer loops'
// control) by its executions times its cycles. The executions are counted
// by running the network once under qemu with a counter at each loop's
// header and each block's start (one thread); the cycles are llvm-mca's
// for the uninstrumented code. What llvm-mca leaves out (cache misses,
// branch mispredictions, calls into the C library) is not counted.

// CountedLoop is one innermost loop of a network's code with its estimate,
// or, Straight, one basic block outside innermost loops (its Iterations are
// its executions).
type CountedLoop struct {
	LoopEstimate
	Function   string // the assembly function it is in
	Iterations int64  // in one inference
	Straight   bool
}

// TotalCycles is the loop's (or block's) cycles in one inference.
func (l CountedLoop) TotalCycles() float64 { return float64(l.Iterations) * l.Cycles }

// EstimateNetwork estimates one inference of a network function on an
// AArch64 target: every innermost loop with its iterations and cycles. It
// also returns the outputs of the instrumented run (which a caller can
// check: the counters must not change what the code computes).
func EstimateNetwork(t llvmgen.Target, opts llvmgen.Options, f *lower.Func, inputs []*te.Buffer, dir string) ([]CountedLoop, []*te.Buffer, error) {
	return EstimateKernel(t, opts, f, inputs, nil, dir)
}

// EstimateKernel is EstimateNetwork for a kernel call with the given
// symbolic dimensions.
func EstimateKernel(t llvmgen.Target, opts llvmgen.Options, f *lower.Func, inputs []*te.Buffer, sizes map[*te.Var]int64, dir string) ([]CountedLoop, []*te.Buffer, error) {
	if !t.IsAArch64() {
		return nil, nil, fmt.Errorf("the loop-count estimate instruments AArch64 assembly; %s is %s", t.Name, t.Arch())
	}
	var loops []CountedLoop
	objects := func(m *ir.Module) ([]string, error) {
		ll := filepath.Join(dir, "network.ll")
		if err := os.WriteFile(ll, []byte(m.String()), 0o644); err != nil {
			return nil, err
		}
		asm, err := Assemble(t, ll)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(asm, "\n")
		fnOf := lineFunctions(lines)
		all := listingBlocks(lines)
		spans := innermostSpans(lines, all)
		blocks := straightBlocks(lines, all, spans)
		var regions []codeRegion
		var at []int // the line each counter follows
		for _, a := range spans {
			regions = append(regions, a.region(lines))
			at = append(at, a.header)
		}
		for _, b := range blocks {
			regions = append(regions, codeRegion{b.name, b.body})
			at = append(at, b.at)
		}
		estimates, err := estimateRegions(t, regions, dir)
		if err != nil {
			return nil, err
		}
		for i, e := range estimates {
			loops = append(loops, CountedLoop{LoopEstimate: e, Function: fnOf[at[i]], Straight: i >= len(spans)})
		}
		if len(at) > maxCountedLoops {
			return nil, fmt.Errorf("the listing has %d loops and blocks to count; the counting harness holds %d", len(at), maxCountedLoops)
		}
		s := filepath.Join(dir, "counted.s")
		if err := os.WriteFile(s, []byte(countAt(lines, at)), 0o644); err != nil {
			return nil, err
		}
		obj := filepath.Join(dir, "counted.o")
		return []string{obj}, Compile(t, s, obj)
	}
	// one thread: the counters are not atomic
	old, had := os.LookupEnv("OMP_NUM_THREADS")
	os.Setenv("OMP_NUM_THREADS", "1")
	defer func() {
		if had {
			os.Setenv("OMP_NUM_THREADS", old)
		} else {
			os.Unsetenv("OMP_NUM_THREADS")
		}
	}()
	// the number of loops is known once objects has run: the harness asks
	// for a generous bound and prints only as many as the listing has
	r, err := runWith(t, opts, f, inputs, sizes, dir, runConfig{objects: objects, counters: maxCountedLoops})
	if err != nil {
		return nil, nil, err
	}
	if len(r.counts) < len(loops) {
		return nil, nil, fmt.Errorf("the counting harness printed %d counts for %d loops", len(r.counts), len(loops))
	}
	for i := range loops {
		loops[i].Iterations = r.counts[i]
	}
	return loops, r.outs, nil
}

// maxCountedLoops bounds the loops and blocks a listing may have; a
// network's have a few thousand.
const maxCountedLoops = 16384

var functionRe = regexp.MustCompile(`^([A-Za-z_.$][A-Za-z0-9_.$]*):`)

// lineFunctions maps each line of an assembly listing to the function it
// is in.
func lineFunctions(lines []string) []string {
	out := make([]string, len(lines))
	fn := ""
	for i, l := range lines {
		if m := functionRe.FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[1], ".L") {
			fn = m[1]
		}
		out[i] = fn
	}
	return out
}

// countAt instruments an AArch64 listing: after line at[i] (a loop's
// header label, a block's label or "%bb.N:" comment), the code adds one to
// tide_loop_counts[i], saving and restoring the two scratch registers it
// uses on the stack (no flags change).
func countAt(lines []string, at []int) string {
	counters := map[int][]int{}
	for i, line := range at {
		counters[line] = append(counters[line], i)
	}
	var b strings.Builder
	for n, l := range lines {
		b.WriteString(l)
		b.WriteString("\n")
		for _, i := range counters[n] {
			sym := fmt.Sprintf("tide_loop_counts+%d", 8*i)
			fmt.Fprintf(&b, "\tstp x16, x17, [sp, #-16]!\n\tadrp x16, %s\n\tadd x16, x16, :lo12:%s\n\tldr x17, [x16]\n\tadd x17, x17, #1\n\tstr x17, [x16]\n\tldp x16, x17, [sp], #16\n", sym, sym)
		}
	}
	fmt.Fprintf(&b, "\t.bss\n\t.globl tide_loop_counts\n\t.p2align 3\ntide_loop_counts:\n\t.zero %d\n", 8*maxCountedLoops)
	return b.String()
}
