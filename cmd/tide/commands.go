package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
	"github.com/tide-compiler/tide/topi"
)

// load reads and elaborates a .te file, with the integer constants given by
// the command's -D flags and, when target is not nil, the operator
// library's schedules for it.
func load(cmd *cobra.Command, path string, target *topi.Target) (*dsl.Program, error) {
	prog, _, err := loadProgram(cmd, path, target, nil)
	return prog, err
}

func lowerCmd(stdout, stderr io.Writer) *cobra.Command {
	var printAfter, target, htmlOut string
	var printAll, stats, verify bool
	var nf netFlags
	sizes := sizeFlag{}
	cmd := &cobra.Command{
		Use:   "lower FILE",
		Short: "Lower a kernel with its schedule and print the loop IR",
		Long: "Lower a kernel with its schedule blocks applied and print the loop IR.\n" +
			"The loop IR is verified after every pass (variables and buffers in scope, vector widths).\n\n" +
			"Passes, in order (names for --print-after):\n" + passDocs(),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if printAfter != "" && !slices.Contains(lower.PassNames(), printAfter) {
				return fmt.Errorf("--print-after %s: no such pass; the passes are %s", printAfter, strings.Join(lower.PassNames(), ", "))
			}
			if htmlOut != "" {
				if err := checkWritable("--html", htmlOut); err != nil {
					return err
				}
			}
			tgt, err := driver.ParseTarget(target)
			if err != nil {
				return err
			}
			prog, nb, err := loadProgram(cmd, args[0], opTarget(tgt), &nf)
			if err != nil {
				return err
			}
			if prog, nb, err = applyTuned(cmd, stderr, args[0], tgt, prog, nb, &nf); err != nil {
				return err
			}
			var passes []passIR
			observe := func(pass string, f *lower.Func) {
				if printAll || pass == printAfter {
					fmt.Fprintf(stdout, "// after %s\n%s\n", pass, f)
				}
				if htmlOut != "" {
					passes = append(passes, passIR{pass, f.Lines()})
				}
			}
			f, diags, err := lower.LowerWith(prog.Kernel, prog.Schedule, nb.lowerOptions(), observe)
			if err != nil {
				return userError{err}
			}
			printDiagnostics(stderr, prog, diags)
			if htmlOut != "" {
				src, err := os.ReadFile(args[0])
				if err != nil {
					return userError{err}
				}
				if err := writeLowerHTML(htmlOut, src, prog, passes, diags); err != nil {
					return err
				}
			}
			if nb != nil {
				if f, err = nb.finish(prog, f, &nf); err != nil {
					return err
				}
			}
			if !printAll && printAfter == "" && htmlOut == "" {
				fmt.Fprint(stdout, f)
			}
			if stats {
				if nb != nil {
					printNetworkStats(stdout, nb, f)
				}
				fmt.Fprint(stdout, lower.StatsString(f))
			}
			if verify {
				return verifyLowered(stdout, cmd.ErrOrStderr(), prog, nb, f, sizes, nf.seed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "target", "host", "whose operator schedules to use (x86-64, cortex-a53, host, or llvm -mtriple=...)")
	cmd.Flags().BoolVar(&verify, "verify", false, "run the loop IR in the interpreter on random inputs and compare with the reference evaluator")
	addNetFlags(cmd, &nf)
	tunedFlag(cmd)
	cmd.Flags().Var(sizes, "set", "value of a symbolic dimension for --verify, `NAME=VALUE` (repeatable)")
	cmd.Flags().StringVar(&printAfter, "print-after", "", "print the IR after this pass only")
	cmd.Flags().BoolVar(&printAll, "print-after-all", false, "print the IR after every pass")
	cmd.Flags().StringVar(&htmlOut, "html", "", "write a self-contained page to `OUT.html`: the source, the schedule and the IR after every pass, loops linked to their schedule lines (instead of printing the IR)")
	cmd.Flags().BoolVar(&stats, "stats", false, "print allocations with their bytes, and loop counts")
	return cmd
}

// writableDir makes --outputs DIR (when given) and checks that files can
// be written there, before any work whose results would be lost.
func writableDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return userError{fmt.Errorf("--outputs %s: %w", dir, err)}
	}
	f, err := os.CreateTemp(dir, ".tide-write-check-")
	if err != nil {
		return userError{fmt.Errorf("--outputs %s: cannot write there: %w", dir, err)}
	}
	f.Close()
	return os.Remove(f.Name())
}

// fitsMemory refuses to allocate buffers for tensors that would not fit in
// the memory this machine has available (MemAvailable in /proc/meminfo;
// no check where that cannot be read): a clear error saying how much is
// needed, instead of the Go runtime's fatal out-of-memory stack trace.
func fitsMemory(what string, tensors []*te.Tensor, sizes map[*te.Var]int64) error {
	need, err := te.Footprint(tensors, sizes)
	if err != nil {
		return userError{err}
	}
	avail := availableMemory()
	if avail > 0 && need > avail {
		return userError{fmt.Errorf("%s needs %.1f GiB at these sizes (%d tensors, 8 bytes per element in Tide's buffers) and this machine has %.1f GiB available: give smaller --set values", what, float64(need)/(1<<30), len(tensors), float64(avail)/(1<<30))}
	}
	return nil
}

// availableMemory is MemAvailable from /proc/meminfo in bytes, or 0 (a
// variable: the tests pretend to have less).
var availableMemory = func() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// checkTol is the relative tolerance for float outputs of lowered or
// generated code against the evaluator: a vectorized reduction adds in
// another order, and libm's exp may differ in the last bit.
const checkTol = 1e-4

// kernelInputs binds the symbolic dimensions and reads or draws the inputs,
// once the buffers they need fit in memory: the inputs', or with evaluated
// every tensor's, which the reference evaluator holds at once.
func kernelInputs(prog *dsl.Program, set sizeFlag, inputsDir string, seed uint64, evaluated bool) (sizes map[*te.Var]int64, in []*te.Buffer, err error) {
	if sizes, err = prog.SizeValues(set); err != nil {
		return nil, nil, userError{err}
	}
	what, tensors := "the kernel's inputs", prog.Kernel.Inputs
	if evaluated {
		what, tensors = "the reference evaluator", te.PostOrder(prog.Kernel.Outputs)
	}
	if err := fitsMemory(what, tensors, sizes); err != nil {
		return nil, nil, err
	}
	if in, _, err = tensorio.Inputs(prog.Kernel, sizes, inputsDir, seed); err != nil {
		return nil, nil, userError{err}
	}
	return sizes, in, nil
}

// reference binds the symbolic dimensions, reads or draws the inputs and
// evaluates the kernel with the reference evaluator.
// For a network (nb not nil), in are the network's inputs alone: the
// evaluator also reads the weights baked into its module.
func reference(stderr io.Writer, prog *dsl.Program, nb *netBuild, set sizeFlag, inputsDir string, seed uint64) (sizes map[*te.Var]int64, in, want []*te.Buffer, err error) {
	if sizes, in, err = kernelInputs(prog, set, inputsDir, seed, true); err != nil {
		return nil, nil, nil, err
	}
	if nb != nil {
		in = nb.inputs(in)
	}
	if want, err = evalKernel(stderr, prog.Kernel, in, sizes); err != nil {
		return nil, nil, nil, userError{fmt.Errorf("the reference evaluator fails on these inputs: %w", err)}
	}
	if nb != nil {
		in = in[:len(in)-len(nb.weights)]
	}
	return sizes, in, want, nil
}

// tolerance is how far a float output may be from the reference
// evaluator's: |got - want| <= atol + rtol*|want|, as numpy's allclose;
// integer and bool outputs must be equal.
type tolerance struct{ rtol, atol float64 }

// defaultTol is checkTol both ways, what the comparison has always allowed.
var defaultTol = tolerance{rtol: checkTol, atol: checkTol}

func (t tolerance) String() string {
	return fmt.Sprintf("|got - want| <= %g + %g*|want|", t.atol, t.rtol)
}

// toleranceFlags adds --rtol and --atol, what a float output is held to
// against the reference evaluator, to cmd (tide run, tide tune).
func toleranceFlags(cmd *cobra.Command, tol *tolerance) {
	cmd.Flags().Float64Var(&tol.rtol, "rtol", tol.rtol, "relative tolerance for float outputs: pass when |got - want| <= atol + rtol*|want| (integers must be equal)")
	cmd.Flags().Float64Var(&tol.atol, "atol", tol.atol, "absolute tolerance for float outputs (see --rtol)")
}

// check refuses a tolerance that is negative, NaN or infinite.
func (t tolerance) check() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"--rtol", t.rtol}, {"--atol", t.atol}} {
		if !(f.v >= 0) || math.IsInf(f.v, 1) {
			return fmt.Errorf("%s %v: a tolerance must be a finite number >= 0", f.name, f.v)
		}
	}
	return nil
}

// describe says what an output was held to, for its PASS or FAIL line.
func (t tolerance) describe(dt te.DType) string {
	if !dt.IsFloat() {
		return "exact: " + dt.String() + " output"
	}
	return "tolerance " + t.String()
}

// compareOutputs prints PASS with the max error, or FAIL with the first
// differing element, per output (where says what ran them), each with its
// tolerance, and reports whether all passed.
func compareOutputs(w io.Writer, prog *dsl.Program, got, want []*te.Buffer, where string, tol tolerance) bool {
	ok := true
	for i, t := range prog.Kernel.Outputs {
		m := te.CompareWithin(got[i], want[i], tol.rtol, tol.atol)
		if m.First >= 0 {
			fmt.Fprintf(w, "FAIL %s%s: %s (%s)\n", t.Name, where, m.Detail, tol.describe(want[i].DType))
			ok = false
		} else {
			fmt.Fprintf(w, "PASS %s%s (max abs error %g; %s)\n", t.Name, where, m.MaxErr, tol.describe(want[i].DType))
		}
	}
	return ok
}

// verifyLowered runs the lowered function in the interpreter and compares
// each output with the reference evaluator.
func verifyLowered(w, stderr io.Writer, prog *dsl.Program, nb *netBuild, f *lower.Func, set sizeFlag, seed uint64) error {
	sizes, in, want, err := reference(stderr, prog, nb, set, "", seed)
	if err != nil {
		return err
	}
	if nb != nil {
		in = nb.callInputs(in)
	}
	got, err := lower.Run(f, in, sizes)
	if err != nil {
		return userError{fmt.Errorf("FAIL: the loop IR fails where the reference evaluator does not: %w", err)}
	}
	if !compareOutputs(w, prog, got, want, "", defaultTol) {
		return userError{fmt.Errorf("the lowered kernel differs from the reference evaluator")}
	}
	return nil
}

// diagPos is the source position of the primitive a diagnostic is about,
// as a "file:line:col: " prefix, or "" when there is none.
func diagPos(p *dsl.Program, d lower.Diagnostic) string {
	pos, ok := p.AnnPos[d.Axis]
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d: ", pos.Filename, pos.Line, pos.Column)
}

func checkCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Parse and type-check a .te file; print its tensors and kernel signature",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prog, err := load(cmd, args[0], nil)
			if err != nil {
				return err
			}
			printProgram(stdout, prog)
			return nil
		},
	}
}

func printProgram(w io.Writer, p *dsl.Program) {
	k := p.Kernel
	var params []string
	inputs, kind := k.Inputs, "kernel"
	if p.Network {
		// a network's weights are not arguments: they are built in
		inputs, kind = k.Inputs[:len(k.Inputs)-len(p.Weights)], "network"
	}
	for _, t := range inputs {
		params = append(params, fmt.Sprintf("%s: %v%s", t.Name, t.DType, te.ShapeString(t.Shape)))
	}
	for _, v := range k.Params {
		params = append(params, v.Name+": int64")
	}
	var outs []string
	for _, t := range k.Outputs {
		outs = append(outs, fmt.Sprintf("%s: %v%s", t.Name, t.DType, te.ShapeString(t.Shape)))
	}
	fmt.Fprintf(w, "%s %s(%s) -> %s\n", kind, k.Name, strings.Join(params, ", "), strings.Join(outs, ", "))
	for _, kn := range p.Knobs {
		var vals []string
		for _, v := range kn.Values {
			vals = append(vals, fmt.Sprint(v))
		}
		fmt.Fprintf(w, "  knob        %-8s %d (candidates %s)\n", kn.Name, p.KnobValues[kn.Name], strings.Join(vals, ", "))
	}
	if p.Network {
		var bytes int64
		for _, t := range p.Weights {
			n := int64(max(1, t.DType.Bytes()))
			for _, d := range t.Shape {
				v, _ := te.IntValue(d)
				n *= v
			}
			bytes += n
		}
		fmt.Fprintf(w, "  weights: %d placeholders, %d bytes (tide weights writes them as an .npz)\n", len(p.Weights), bytes)
	}
	for _, s := range p.Sizes {
		def := "no default"
		if s.HasDefault {
			def = fmt.Sprintf("default %d", s.Default)
		}
		fmt.Fprintf(w, "  var         %-8s %s\n", s.Var.Name, def)
	}
	for _, t := range p.Tensors {
		if t.IsPlaceholder() {
			rng := ""
			if t.Range != nil {
				rng = fmt.Sprintf("  range %v..%v", t.Range.Lo, t.Range.Hi)
			}
			fmt.Fprintf(w, "  placeholder %-8s %-8v %s%s\n", t.Name, t.DType, te.ShapeString(t.Shape), rng)
			continue
		}
		axes := make([]string, len(t.Axis))
		for i, iv := range t.Axis {
			axes[i] = iv.Var.Name
		}
		fmt.Fprintf(w, "  compute     %-8s %-8v %s = (%s) => %s\n", t.Name, t.DType, te.ShapeString(t.Shape),
			strings.Join(axes, ", "), te.ExprString(t.Body))
	}
	for _, s := range p.Schedules {
		var prims []string
		for _, pr := range s.Primitives {
			prims = append(prims, pr.Name)
		}
		fmt.Fprintf(w, "  schedule    %-8s %s\n", s.StageName, strings.Join(prims, ", "))
	}
}

// sizeFlag collects --set NAME=VALUE.
type sizeFlag map[string]int64

// defineFlag is -D NAME=VALUE: an integer constant's value, or a word for
// a choice (POLARITY = choice(bipolar, unipolar)).
type defineFlag struct {
	ints  sizeFlag
	words map[string]string
}

func (d defineFlag) String() string {
	var parts []string
	for n, v := range d.ints {
		parts = append(parts, fmt.Sprintf("%s=%d", n, v))
	}
	for n, w := range d.words {
		parts = append(parts, n+"="+w)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
func (d defineFlag) Type() string { return "name=value" }
func (d defineFlag) Set(v string) error {
	name, val, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	if n, err := strconv.ParseInt(val, 0, 64); err == nil {
		d.ints[name] = n
		return nil
	}
	if !te.IsIdentifier(val) {
		return fmt.Errorf("%s: %q is neither an integer nor a word (a choice's value, such as unipolar)", name, val)
	}
	d.words[name] = val
	return nil
}

// String is the flag's value as it is written, "" when none is set (so that
// --help shows no default).
func (s sizeFlag) String() string {
	var parts []string
	for n, v := range s {
		parts = append(parts, fmt.Sprintf("%s=%d", n, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
func (s sizeFlag) Type() string { return "name=value" }
func (s sizeFlag) Set(v string) error {
	name, val, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	n, err := strconv.ParseInt(val, 0, 64)
	if err != nil {
		return fmt.Errorf("%s: %q is not an integer", name, val)
	}
	s[name] = n
	return nil
}

func evalCmd(stdout io.Writer) *cobra.Command {
	var seed uint64
	var inputs, outputs string
	sizes := sizeFlag{}
	cmd := &cobra.Command{
		Use:   "eval FILE",
		Short: "Evaluate a kernel with the reference evaluator; write NAME.npy per output",
		Long: `Evaluate a kernel with the reference evaluator.

Inputs come from DIR/NAME.npy for each input NAME (--inputs DIR) or are drawn
at random from --seed, within each placeholder's declared range. With
--outputs DIR, every output is written to DIR/NAME.npy, and random inputs are
written there too, so that the result can be checked with numpy.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prog, err := load(cmd, args[0], nil)
			if err != nil {
				return err
			}
			return evaluate(stdout, cmd.ErrOrStderr(), prog, sizes, seed, inputs, outputs)
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for random inputs")
	cmd.Flags().StringVar(&inputs, "inputs", "", "read inputs from `DIR`/NAME.npy")
	cmd.Flags().StringVar(&outputs, "outputs", "", "write outputs (and random inputs) to `DIR`/NAME.npy")
	cmd.Flags().Var(sizes, "set", "value of a symbolic dimension, `NAME=VALUE` (repeatable)")
	return cmd
}

func evaluate(w, stderr io.Writer, prog *dsl.Program, set sizeFlag, seed uint64, inDir, outDir string) error {
	k := prog.Kernel
	sizes, err := prog.SizeValues(set)
	if err != nil {
		return userError{err}
	}
	if err := fitsMemory("the reference evaluator", te.PostOrder(k.Outputs), sizes); err != nil {
		return err
	}
	in, random, err := tensorio.Inputs(k, sizes, inDir, seed)
	if err != nil {
		return userError{err}
	}
	if err := writableDir(outDir); err != nil {
		return err
	}
	out, err := evalKernel(stderr, k, in, sizes)
	if err != nil {
		return userError{err}
	}
	write := func(role string, t *te.Tensor, b *te.Buffer) error {
		line := fmt.Sprintf("%-6s %-8s %v%v  %s", role, t.Name, b.DType, b.Shape, summary(b))
		if outDir != "" {
			path := filepath.Join(outDir, t.Name+".npy")
			if err := tensorio.WriteNpy(path, b); err != nil {
				return userError{err}
			}
			line += "  -> " + path
		}
		fmt.Fprintln(w, line)
		return nil
	}
	for i, t := range k.Inputs {
		if random[i] {
			if err := write("input", t, in[i]); err != nil {
				return err
			}
		}
	}
	for i, t := range k.Outputs {
		if err := write("output", t, out[i]); err != nil {
			return err
		}
	}
	if len(k.Params) > 0 {
		var parts []string
		for _, v := range k.Params {
			parts = append(parts, fmt.Sprintf("%s=%d", v.Name, sizes[v]))
		}
		sort.Strings(parts)
		fmt.Fprintln(w, "sizes  "+strings.Join(parts, " "))
	}
	return nil
}

// summary shows the first values and the sum of a buffer.
func summary(b *te.Buffer) string {
	n := b.Len()
	var first []string
	sum := 0.0
	for i := 0; i < n; i++ {
		if i < 4 {
			first = append(first, b.ElementString(i))
		}
		sum += b.Float(i)
	}
	more := ""
	if n > 4 {
		more = " ..."
	}
	return fmt.Sprintf("[%s%s] sum=%.6g", strings.Join(first, " "), more, sum)
}

// passDocs lists the lowering steps with what each does, one per line.
func passDocs() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-15s %s\n", lower.NestPass, lower.NestDoc)
	for _, p := range lower.Passes {
		fmt.Fprintf(&b, "  %-15s %s\n", p.Name, p.Doc)
	}
	return b.String()
}
