package tests

import (
	"flag"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/llvmgen"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

var randomCodegenN = flag.Int("random.codegen", 12, "random schedule cases also built and run through llvmgen on both targets (scripts/soak.sh runs thousands)")

// TestRandomSchedulesCodegen runs the first cases of the random schedule
// generator through llvmgen on x86-64 and cortex-a53 (qemu): the generated
// code must agree with the reference evaluator like the interpreter does.
// Fewer cases than the interpreter test: each one compiles and links twice.
func TestRandomSchedulesCodegen(t *testing.T) {
	targets := map[string]llvmgen.Target{}
	for _, name := range []string{"x86-64", "cortex-a53", "x86-64+asan"} {
		tgt, _ := llvmgen.ParseTarget(strings.TrimSuffix(name, "+asan"))
		requireTools(t, tgt)
		targets[name] = tgt
	}
	runs := 0
	defer func() {
		t.Logf("%d cases of seed %d, %d runs on %d targets", *randomCodegenN, *randomSeed, runs, len(targets))
	}()
	for i := 0; i < *randomCodegenN; i++ {
		c := generate(*randomSeed, i)
		src := c.sources[0]
		p, err := dsl.Parse("random.te", []byte(src))
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, src)
		}
		f, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, src)
		}
		sizes, _ := p.SizeValues(nil)
		in, _, err := tensorio.Inputs(p.Kernel, sizes, "", 3)
		if err != nil {
			t.Fatal(err)
		}
		want, err := te.EvalKernel(p.Kernel, in, sizes)
		if err != nil {
			continue // the generator makes inputs the evaluator refuses only by mistake; the interpreter test reports it
		}
		for name, tgt := range targets {
			// x86-64 also under AddressSanitizer: the random schedules'
			// tails (vectorized, guarded, splits that do not divide) must
			// stay inside buffers allocated to the exact byte
			opts := llvmgen.Options{Sanitize: strings.HasSuffix(name, "+asan")}
			runs++
			got, _, err := driver.RunKernel(tgt, opts, f, in, sizes, t.TempDir())
			if err != nil {
				t.Errorf("case %d on %s: %v\n%s", i, name, err, src)
				continue
			}
			for o := range want {
				if m := te.Compare(got[o], want[o], floatTol); m.First >= 0 {
					t.Errorf("case %d on %s, output %s: %s\n%s", i, name, p.Kernel.Outputs[o].Name, m.Detail, src)
				}
			}
		}
	}
}
