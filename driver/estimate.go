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

// A whole network on an emulated AArch64 target is estimated as the sum,
// over its innermost loops, of iterations times llvm-mca's cycles per
// iteration: the iterations are counted by running the network once under
// qemu with each loop's header incrementing a counter (one thread), the
// cycles are llvm-mca's for the loop's uninstrumented body. Code outside
// innermost loops is not counted: the estimate is a lower bound of the
// work, and of the time on one core.

// CountedLoop is one innermost loop of a network's code with its estimate.
type CountedLoop struct {
	LoopEstimate
	Function   string // the assembly function it is in
	Iterations int64  // in one inference
}

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
		fnOf := loopFunctions(asm)
		var labels []string
		for label, body := range InnermostLoops(asm) {
			e, err := estimateLoop(t, label, body, dir)
			if err != nil {
				return nil, err
			}
			loops = append(loops, CountedLoop{LoopEstimate: e, Function: fnOf[label]})
			labels = append(labels, label)
		}
		s := filepath.Join(dir, "counted.s")
		if err := os.WriteFile(s, []byte(countLoops(asm, labels)), 0o644); err != nil {
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

// maxCountedLoops bounds the loops a listing may have; a network's have a
// few hundred.
const maxCountedLoops = 8192

var functionRe = regexp.MustCompile(`^([A-Za-z_.$][A-Za-z0-9_.$]*):`)

// loopFunctions maps each block label of an assembly listing to the
// function it is in.
func loopFunctions(asm string) map[string]string {
	out := map[string]string{}
	fn := ""
	for _, l := range strings.Split(asm, "\n") {
		if m := labelRe.FindStringSubmatch(l); m != nil {
			out[m[1]] = fn
		} else if m := functionRe.FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[1], ".L") {
			fn = m[1]
		}
	}
	return out
}

// countLoops instruments an AArch64 listing: the header of loop i (its
// label) adds one to tide_loop_counts[i], saving and restoring the two
// scratch registers it uses on the stack (no flags change).
func countLoops(asm string, labels []string) string {
	index := map[string]int{}
	for i, l := range labels {
		index[l] = i
	}
	var b strings.Builder
	for _, l := range strings.Split(asm, "\n") {
		b.WriteString(l)
		b.WriteString("\n")
		if m := labelRe.FindStringSubmatch(l); m != nil {
			if i, ok := index[m[1]]; ok {
				sym := fmt.Sprintf("tide_loop_counts+%d", 8*i)
				fmt.Fprintf(&b, "\tstp x16, x17, [sp, #-16]!\n\tadrp x16, %s\n\tadd x16, x16, :lo12:%s\n\tldr x17, [x16]\n\tadd x17, x17, #1\n\tstr x17, [x16]\n\tldp x16, x17, [sp], #16\n", sym, sym)
			}
		}
	}
	fmt.Fprintf(&b, "\t.bss\n\t.globl tide_loop_counts\n\t.p2align 3\ntide_loop_counts:\n\t.zero %d\n", 8*maxCountedLoops)
	return b.String()
}
