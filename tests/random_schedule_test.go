package tests

// A randomized schedule tester: random .te programs (elementwise chains,
// reductions, padded stencils, matmuls, multi-stage pipelines) with random
// legal schedules, each lowered, run in the interpreter and compared with the
// reference evaluator. The generator keeps its own model of every stage's
// loops, so each primitive it writes is legal where it stands; a program the
// compiler rejects is therefore a failure too (of the compiler or of the
// generator's model). Every failure is shrunk to a small reproducer.
// Reduction stages are sometimes factored with rfactor (over a reduction
// axis or a part of its split), and the stage of partial results
// is scheduled in a block of its own like any other.
//
//	go test ./tests -run TestRandomSchedules                               # 300 cases, seed 1
//	go test ./tests -run TestRandomSchedules -random.n=20000 -random.seed=7
//	go test ./tests -run TestRandomSchedules -random.seed=7 -random.case=123 -v   # one case, source printed
//	go test ./tests -run TestRandomSchedules -random.file=repro.te         # check a saved reproducer

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

var (
	randomN    = flag.Int("random.n", 300, "number of random schedule cases")
	randomSeed = flag.Uint64("random.seed", 1, "seed of the random schedule cases")
	randomCase = flag.Int("random.case", -1, "run only this case of -random.seed (-v prints its source)")
	randomFile = flag.String("random.file", "", "check this .te file (a reproducer) instead of generated cases")
)

// workBudget bounds the element operations of a case (the sum over computes
// of their elements times their reduction extents): the interpreter costs
// about a microsecond per operation, and compute_at recomputes overlaps.
const workBudget = 4000

func TestRandomSchedules(t *testing.T) {
	if *randomFile != "" {
		src, err := os.ReadFile(*randomFile)
		if err != nil {
			t.Fatal(err)
		}
		_, diags := lowerAndCompare(t, string(src), nil)
		for _, d := range diags {
			if breaksStrict(d) && isStrict(string(src)) {
				t.Errorf("%s (the source says lowering must not warn)", d)
			} else {
				t.Log(d)
			}
		}
		return
	}
	first, last := 0, *randomN
	if *randomCase >= 0 {
		first, last = *randomCase, *randomCase+1
	}
	start := time.Now()
	results := runCases(*randomSeed, first, last)
	elapsed := time.Since(start)

	runs, kinds, prims := 0, map[string]int{}, map[string]int{}
	groups := map[string][]*caseResult{}
	var sigs []string
	for _, res := range results {
		runs += res.runs
		kinds[res.c.kind]++
		for _, p := range primitiveNames {
			if strings.Contains(res.c.sources[0], p+"(") {
				prims[p]++
			}
		}
		if *randomCase >= 0 {
			t.Logf("case %d (%s), strict=%v:\n%s", res.c.index, res.c.kind, res.c.strict, strings.Join(res.c.sources, "\n# --- next size ---\n"))
		}
		if res.fail == nil {
			continue
		}
		sig := res.fail.signature()
		if groups[sig] == nil {
			sigs = append(sigs, sig)
		}
		groups[sig] = append(groups[sig], res)
	}
	t.Logf("%d cases (%d runs) of seed %d in %v; kinds %v", len(results), runs, *randomSeed, elapsed.Round(time.Millisecond), kinds)
	t.Logf("cases using each primitive: %v", prims)
	for _, sig := range sigs {
		t.Error(report(groups[sig]))
	}
}

// primitiveNames are the primitives whose use the summary counts.
var primitiveNames = dsl.PrimitiveNames()

// genCase is one generated program, once per value of its symbolic
// dimension (the value is the default in each source, so each source is a
// self-contained reproducer).
type genCase struct {
	seed    uint64
	index   int
	kind    string
	sources []string
	strict  bool // the sources carry strictMarker
}

// strictMarker is a comment line of a generated source whose lowering must
// not warn (see gen.strict); reproducers keep it.
const strictMarker = "# strict: lowering must not warn"

func isStrict(src string) bool { return strings.Contains(src, "\n"+strictMarker+"\n") }

// breaksStrict reports whether a diagnostic is one a strict source must not
// get. A gather is not: it is what the generated schedule asked for when it
// vectorizes an axis that is not the innermost of an access. Nor is a
// vector loop that runs scalar on every iteration because its split's
// outer loop was fused into a parallel one: the generator's model does not
// track which fused splits the partition pass can still take apart. Nor is
// a prefetch dropped because its region has no constant size.
func breaksStrict(d lower.Diagnostic) bool {
	return d.Warning && !strings.Contains(d.Msg, "is not contiguous: it becomes a gather or scatter") &&
		!strings.Contains(d.Msg, "runs as a scalar loop: on every iteration") &&
		!strings.Contains(d.Msg, "): dropped: ")
}

type caseResult struct {
	c    *genCase
	runs int
	fail *failure
	src  string // the source that failed
}

// runCases generates and checks cases first..last-1 of seed on every CPU.
// Each case has its own random stream, so one case reruns alone.
func runCases(seed uint64, first, last int) []*caseResult {
	out := make([]*caseResult, last-first)
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				c, err := generateSafely(seed, i)
				res := &caseResult{c: c}
				if err != nil {
					res.fail, res.src = &failure{"generator", err.Error()}, "(none)\n"
					out[i-first] = res
					continue
				}
				for _, src := range c.sources {
					res.runs++
					if f := checkSource(src); f != nil {
						res.fail, res.src = f, src
						break
					}
				}
				out[i-first] = res
			}
		})
	}
	for i := first; i < last; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// generateSafely turns a panic of the generator (a bug in this file) into
// an error, so that the other cases still run.
func generateSafely(seed uint64, i int) (c *genCase, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = &genCase{seed: seed, index: i, kind: "?", sources: []string{""}}, fmt.Errorf("%v\n%s", r, debug.Stack())
		}
	}()
	return generate(seed, i), nil
}

// failure is what went wrong with a source.
type failure struct {
	class string // rejected, reference, lower, run, mismatch, warning, panic, generator
	msg   string
}

var (
	digits       = regexp.MustCompile(`[0-9]+`)
	numberedName = regexp.MustCompile(`\b[A-Za-z_][A-Za-z_.]*[0-9][A-Za-z0-9_.]*\b`)
	brackets     = regexp.MustCompile(`\[[^\]]*\]`)
)

// signature groups failures across cases: the class and the message's
// first line with indices, names and numbers blurred (mismatches only by
// class: their messages are all alike).
func (f *failure) signature() string {
	if f.class == "mismatch" {
		return f.class
	}
	line, _, _ := strings.Cut(f.msg, "\n")
	line = brackets.ReplaceAllString(line, "[.]")
	line = numberedName.ReplaceAllString(line, "#")
	line = digits.ReplaceAllString(line, "#")
	if f.class == "panic" {
		// the panic value and the compiler function that raised it
		return f.class + ": " + line + " at " + panicSite(f.msg)
	}
	if len(line) > 90 {
		line = line[:90]
	}
	return f.class + ": " + line
}

// same reports whether g is the same failure as f, for shrinking: the same
// class, and for messages that name the problem the same message.
func (f *failure) same(g *failure) bool {
	if g == nil || g.class != f.class {
		return false
	}
	switch f.class {
	case "mismatch", "run":
		return true
	case "panic":
		return panicSite(f.msg) == panicSite(g.msg)
	}
	return digits.ReplaceAllString(f.msg, "#") == digits.ReplaceAllString(g.msg, "#")
}

// panicSite is the first frame of a panic's stack inside the compiler.
func panicSite(stack string) string {
	for _, l := range strings.Split(stack, "\n") {
		l = strings.TrimSpace(l)
		for _, pkg := range []string{"github.com/tide-compiler/tide/lower.", "github.com/tide-compiler/tide/schedule.", "github.com/tide-compiler/tide/dsl.", "github.com/tide-compiler/tide/te."} {
			if strings.HasPrefix(l, pkg) {
				fn, _, _ := strings.Cut(l, "(")
				return fn
			}
		}
	}
	return "?"
}

// checkSource is lowerAndCompare as a function that reports instead of
// stopping the test, so that many cases run and the shrinker can try
// variants quietly. It uses the same input seed (3), so a reproducer fails
// the same way under -random.file. Warnings fail a strict source.
func checkSource(src string) (fail *failure) {
	defer func() {
		if r := recover(); r != nil {
			fail = &failure{"panic", fmt.Sprintf("%v\n%s", r, panicStack())}
		}
	}()
	p, err := dsl.Parse("random.te", []byte(src))
	if err != nil {
		return &failure{"rejected", err.Error()}
	}
	sizes, err := p.SizeValues(nil)
	if err != nil {
		return &failure{"reference", err.Error()}
	}
	in, _, err := tensorio.Inputs(p.Kernel, sizes, "", 3)
	if err != nil {
		return &failure{"reference", err.Error()}
	}
	want, err := te.EvalKernel(p.Kernel, in, sizes)
	if err != nil {
		return &failure{"reference", err.Error()}
	}
	f, diags, err := lower.Lower(p.Kernel, p.Schedule, nil)
	if err != nil {
		return &failure{"lower", err.Error()}
	}
	got, err := lower.Run(f, in, sizes)
	if err != nil {
		return &failure{"run", err.Error()}
	}
	for o := range want {
		if msg := compareBuffers(got[o], want[o]); msg != "" {
			return &failure{"mismatch", fmt.Sprintf("output %s: %s", p.Kernel.Outputs[o].Name, msg)}
		}
	}
	if isStrict(src) {
		for _, d := range diags {
			if breaksStrict(d) {
				return &failure{"warning", d.String()}
			}
		}
	}
	return nil
}

// panicStack is the stack of a recovered panic from the function that
// panicked on, without the recovery's own frames.
func panicStack() string {
	lines := strings.Split(string(debug.Stack()), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") {
			lines = lines[i+2:]
			break
		}
	}
	return strings.Join(lines[:min(len(lines), 16)], "\n")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// report describes a group of cases failing the same way, with the first
// one's reproducer shrunk.
func report(group []*caseResult) string {
	res := group[0]
	var idx []string
	for _, r := range group[:min(len(group), 12)] {
		idx = append(idx, strconv.Itoa(r.c.index))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s failure in %d case(s) of seed %d (cases %s)\n", res.fail.class, len(group), res.c.seed, strings.Join(idx, ", "))
	fmt.Fprintf(&b, "first: case %d (%s): %s\n", res.c.index, res.c.kind, res.fail.msg)
	if res.fail.class == "generator" {
		return b.String()
	}
	small := shrink(res.src, res.fail)
	if f := checkSource(small); f != nil && firstLine(f.msg) != firstLine(res.fail.msg) {
		fmt.Fprintf(&b, "shrunk, it fails with: %s\n", firstLine(f.msg))
	}
	fmt.Fprintf(&b, "rerun: go test ./tests -run TestRandomSchedules -random.seed=%d -random.case=%d -v\n", res.c.seed, res.c.index)
	fmt.Fprintf(&b, "reproducer (sizes are the defaults in the source); save as repro.te, then\n")
	fmt.Fprintf(&b, "go run ./cmd/tide lower --verify --seed 3 repro.te   or   go test ./tests -run TestRandomSchedules -random.file=repro.te\n")
	fmt.Fprintf(&b, "----\n%s----", small)
	return b.String()
}

// Shrinking: drop schedule blocks and primitive lines, and lower the
// program's size constants, as long as the source fails the same way.

var (
	sizeLine = regexp.MustCompile(`^([A-Z][A-Za-z0-9]*) = ([0-9]+)$`)
	varLine  = regexp.MustCompile(`^(n = var\(default=)([0-9]+)\)$`)
)

func shrink(src string, f *failure) string {
	lines := strings.Split(strings.TrimSuffix(src, "\n"), "\n")
	still := func(cand []string) bool {
		return f.same(checkSource(strings.Join(dropEmptyBlocks(cand), "\n") + "\n"))
	}
	for pass := 0; pass < 4; pass++ {
		changed := false
		// whole blocks, then single primitives, from the last line up
		for i := len(lines) - 1; i >= 0; i-- {
			if i >= len(lines) || !strings.HasPrefix(lines[i], "schedule ") {
				continue
			}
			end := i + slices.Index(lines[i:], "}")
			if cand := slices.Delete(slices.Clone(lines), i, end+1); still(cand) {
				lines, changed = cand, true
			}
		}
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.HasPrefix(lines[i], "    ") {
				if cand := slices.Delete(slices.Clone(lines), i, i+1); still(cand) {
					lines, changed = cand, true
				}
			}
		}
		for i, l := range lines {
			m, prefix := sizeLine.FindStringSubmatch(l), ""
			if m != nil {
				prefix = m[1] + " = "
			} else if m = varLine.FindStringSubmatch(l); m != nil {
				prefix = m[1]
			} else {
				continue
			}
			v, _ := strconv.Atoi(m[2])
			for w := 1; w < v; w++ {
				cand := slices.Clone(lines)
				cand[i] = prefix + strconv.Itoa(w) + strings.TrimPrefix(l, prefix+m[2])
				if still(cand) {
					lines, changed = cand, true
					break
				}
			}
		}
		if !changed {
			break
		}
	}
	return strings.Join(dropEmptyBlocks(lines), "\n") + "\n"
}

func dropEmptyBlocks(lines []string) []string {
	var out []string
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "schedule ") && i+1 < len(lines) && lines[i+1] == "}" {
			i++
			continue
		}
		out = append(out, lines[i])
	}
	return out
}

// The program generator.

// dim is a tensor dimension or reduction extent as the source writes it.
type dim struct {
	src string
	val func(n int) int // its value when the symbolic dimension is n
	sym bool            // depends on the symbolic dimension
}

func constDim(v int) dim { return dim{strconv.Itoa(v), func(int) int { return v }, false} }

// plus is d + c, parenthesized for use in larger expressions.
func (d dim) plus(c int) dim {
	if c == 0 {
		return d
	}
	op := "+"
	if c < 0 {
		op = "-"
	}
	return dim{fmt.Sprintf("(%s %s %d)", d.src, op, abs(c)), func(n int) int { return d.val(n) + c }, d.sym}
}

func abs(x int) int { return max(x, -x) }

// tensor is a placeholder or compute of the program.
type tensor struct {
	name   string
	dtype  string
	dims   []dim
	axes   []string // data axis names (computes)
	red    []raxis  // reduce axes (computes with a reduction)
	reads  []*tensor
	output bool
	// inexact: a float computed by a reduction, which a vectorized or
	// reordered schedule may round differently
	inexact bool
}

func (t *tensor) work(n int) int {
	w := 1
	for _, d := range t.dims {
		w *= d.val(n)
	}
	for _, r := range t.red {
		w *= r.ext.val(n)
	}
	return w
}

// gen builds one case. The program part declares tensors as source lines;
// the schedule part (below) models each stage's loops.
type gen struct {
	r        *rand.Rand
	decls    []string
	used     map[string]bool // every name the program declares or a schedule makes
	inputs   []*tensor
	computes []*tensor
	symOK    bool // this program may use the symbolic dimension n
	// quantized: the program casts a float to an integer, which the
	// vectorizer refuses (with a warning) under a lane-dependent condition
	quantized bool
	sym       *dim // n, once declared
	symDef    int  // its default
	symMin    int  // the smallest n the program is valid for

	stages map[string]*stage
	queue  []*stage // stages still to schedule
	done   []*stage // scheduled, in scheduling order
	// keepOrder: the blocks must stay in scheduling order (a cache_read
	// with several readers counts on what they read then)
	keepOrder bool
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// weighted picks an index with probability proportional to its weight.
func (g *gen) weighted(w ...int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	k := g.r.IntN(total)
	for i, x := range w {
		if k < x {
			return i
		}
		k -= x
	}
	panic("unreachable")
}

// reserved are words a generated name must not be.
var reserved = map[string]bool{"n": true, "sum": true, "min": true, "max": true, "abs": true, "cast": true,
	"select": true, "var": true, "compute": true, "placeholder": true, "reduce_axis": true, "exp": true,
	"floor": true, "round": true, "sqrt": true, "popcount": true, "floordiv": true, "floormod": true,
	"if_then_else": true, "kernel": true, "schedule": true, "local": true, "global": true,
	"guard": true, "partition": true, "factor": true, "nparts": true, "tail": true}

// fresh returns an unused name built from base.
func (g *gen) fresh(base string) string {
	for k := 0; ; k++ {
		name := base
		if k > 0 {
			name += strconv.Itoa(k)
		}
		if !g.used[name] && !reserved[name] {
			g.used[name] = true
			return name
		}
	}
}

// sizeValue favours primes and extents the split factors do not divide.
func (g *gen) sizeValue(lo, hi int) int {
	for {
		v := pick(g, []int{1, 2, 3, 3, 4, 5, 5, 6, 7, 7, 8, 9, 10, 11, 11, 12, 13, 13})
		if lo <= v && v <= hi {
			return v
		}
	}
}

// size declares a constant dimension NAME = v.
func (g *gen) size(base string, lo, hi int) dim {
	v := g.sizeValue(lo, hi)
	name := g.fresh(base)
	g.decls = append(g.decls, fmt.Sprintf("%s = %d", name, v))
	return dim{name, func(int) int { return v }, false}
}

// dimension is a constant, or (in a program allowed one) sometimes the
// symbolic dimension n, declared the first time.
func (g *gen) dimension(base string, lo, hi int) dim {
	if g.symOK && g.chance(0.35) {
		if g.sym == nil {
			g.symDef = g.sizeValue(max(lo, 1), hi)
			g.decls = append(g.decls, fmt.Sprintf("n = var(default=%d)", g.symDef))
			g.sym = &dim{"n", func(n int) int { return n }, true}
			g.symMin = max(lo, 1)
		}
		if lo <= g.symDef && g.symDef <= hi {
			g.needSym(*g.sym, lo)
			return *g.sym
		}
	}
	return g.size(base, lo, hi)
}

// needSym records that the program needs d >= lo: a bound on n when d
// depends on it.
func (g *gen) needSym(d dim, lo int) {
	for n := g.symMin; d.sym && d.val(n) < lo; n++ {
		g.symMin = n + 1
	}
}

func shapeSrc(dims []dim) string {
	var s []string
	for _, d := range dims {
		s = append(s, d.src)
	}
	if len(s) == 1 {
		return "(" + s[0] + ",)"
	}
	return "(" + strings.Join(s, ", ") + ")"
}

var intTypes = []string{"int8", "int16", "int32", "uint8"}

func isFloat(dt string) bool { return dt == "float32" }

func (g *gen) dtype() string {
	if g.chance(0.4) {
		return "float32"
	}
	return pick(g, intTypes)
}

// convertible picks a type a value of type dt can be cast to without a
// float-to-int conversion (undefined for out-of-range values).
func (g *gen) convertible(dt string) string {
	if isFloat(dt) || g.chance(0.6) {
		return dt
	}
	return g.dtype()
}

// floatsOnly reports whether t is a float computed from float inputs only.
func floatsOnly(t *tensor) bool {
	if !isFloat(t.dtype) {
		return false
	}
	for _, x := range t.reads {
		if !floatsOnly(x) {
			return false
		}
	}
	return true
}

func castTo(e, from, to string) string {
	if from == to {
		return e
	}
	if isFloat(from) && !isFloat(to) {
		panic("generator: float-to-int cast")
	}
	return fmt.Sprintf("cast(%s, %s)", to, e)
}

func (g *gen) input(base, dt string, dims []dim) *tensor {
	t := &tensor{name: g.fresh(base), dtype: dt, dims: dims}
	g.decls = append(g.decls, fmt.Sprintf("%s = placeholder(%s, %s)", t.name, shapeSrc(dims), dt))
	g.inputs = append(g.inputs, t)
	return t
}

// raxis is a reduce axis: a name of the program.
type raxis struct {
	name string
	ext  dim
}

func (g *gen) reduceAxis(base string, ext dim) raxis {
	r := raxis{g.fresh(base), ext}
	g.decls = append(g.decls, fmt.Sprintf("%s = reduce_axis(0, %s)", r.name, ext.src))
	return r
}

// axisNames names a compute's data axes; names repeat across computes, as
// in TVM, and schedule names avoid them.
func (g *gen) axisNames(rank int) []string {
	names := []string{"i", "j", "m"}[:rank]
	for _, a := range names {
		g.used[a] = true
	}
	return names
}

func (g *gen) compute(dt string, dims []dim, axes []string, body string, red []raxis, reads ...*tensor) *tensor {
	t := &tensor{name: g.fresh("T"), dtype: dt, dims: dims, axes: axes, red: red, reads: reads}
	t.inexact = isFloat(dt) && len(red) > 0
	for _, x := range reads {
		t.inexact = t.inexact || (isFloat(dt) && x.inexact)
	}
	g.decls = append(g.decls, fmt.Sprintf("%s = compute(%s, (%s) => %s)", t.name, shapeSrc(dims), strings.Join(axes, ", "), body))
	g.computes = append(g.computes, t)
	return t
}

func read(t *tensor, idx []string) string { return t.name + "[" + strings.Join(idx, ", ") + "]" }

// Expressions. Every leaf (a read the stage model counts on) appears in the
// result; the operators avoid undefined behaviour (no division by a value,
// shift amounts and divisors are small constants, float-to-int casts only
// of small values computed exactly) and discontinuities (floor, round) that
// would turn a float rounding difference into a mismatch.

func (g *gen) ew(dt string, leaves, axes []string) string {
	e := g.wrap(dt, leaves[0], axes)
	for _, l := range leaves[1:] {
		e = g.combine(dt, e, g.wrap(dt, l, axes))
	}
	return g.wrap(dt, e, axes)
}

func (g *gen) combine(dt, a, b string) string {
	ops := []string{"+", "-", "*", "min", "max", "select"}
	if !isFloat(dt) {
		ops = append(ops, "&", "|", "^")
	}
	switch op := pick(g, ops); op {
	case "min", "max":
		return fmt.Sprintf("%s(%s, %s)", op, a, b)
	case "select":
		return fmt.Sprintf("select(%s < %s, %s, %s)", a, b, b, a)
	default:
		return fmt.Sprintf("(%s %s %s)", a, op, b)
	}
}

// wrap sometimes applies a unary form to e: a constant operand, a shift, a
// division by a constant, or a dependence on an axis.
func (g *gen) wrap(dt, e string, axes []string) string {
	if g.chance(0.5) {
		return e
	}
	ax, c := pick(g, axes), 1+g.r.IntN(6)
	if isFloat(dt) {
		return pick(g, []string{
			"(" + e + " * 0.5)", "(" + e + " + 1.5)", "abs(" + e + ")", "(-" + e + ")", "(" + e + " / 4.0)",
			"max(" + e + ", 0.0)", fmt.Sprintf("if_then_else(%s < %d, %s, 0.25)", ax, c, e),
			fmt.Sprintf("(%s + cast(float32, %s) * 0.25)", e, ax),
		})
	}
	forms := []string{
		fmt.Sprintf("(%s + %d)", e, c), fmt.Sprintf("(%s * %d)", e, c), fmt.Sprintf("(%s - %d)", e, c),
		fmt.Sprintf("(%s >> %d)", e, c%4), fmt.Sprintf("(%s << %d)", e, c%4),
		fmt.Sprintf("(%s / %d)", e, c+1), fmt.Sprintf("(%s %% %d)", e, c+1),
		fmt.Sprintf("floordiv(%s, %d)", e, c+1), fmt.Sprintf("floormod(%s, %d)", e, c+1), "(~" + e + ")",
		fmt.Sprintf("if_then_else(%s < %d, %s, %d)", ax, c, e, c+1),
		fmt.Sprintf("(%s + cast(%s, %s))", e, dt, ax),
	}
	if dt != "uint8" {
		forms = append(forms, "abs("+e+")")
	}
	return pick(g, forms)
}

// Stage makers: each declares a compute reading x.

// elementwiseOf maps x (sometimes transposed) and extra tensors of the
// result's shape to a new tensor of type dt.
func (g *gen) elementwiseOf(dt string, x *tensor, extra ...*tensor) *tensor {
	quantize := false
	for _, e := range append([]*tensor{x}, extra...) {
		if isFloat(e.dtype) {
			dt = "float32" // floats are not cast to integers but below
		}
	}
	if len(extra) == 0 && floatsOnly(x) && !x.inexact && g.chance(0.15) {
		// a float-to-int conversion, in range (floats made from float
		// inputs alone are small) and of exactly computed values (a
		// rounding difference would change the integer)
		dt, quantize, g.quantized = "int32", true, true
	}
	axes := g.axisNames(len(x.dims))
	dims, idx := x.dims, axes
	if len(extra) == 0 && len(axes) >= 2 && g.chance(0.3) {
		perm := g.r.Perm(len(axes))
		dims, idx = make([]dim, len(axes)), make([]string, len(axes))
		for q, d := range perm { // result dimension q is x's dimension perm[q]
			dims[q], idx[d] = x.dims[d], axes[q]
		}
	}
	leaf := fmt.Sprintf("cast(int32, %s * 16.0)", read(x, idx))
	if !quantize {
		leaf = castTo(read(x, idx), x.dtype, dt)
	}
	leaves := []string{leaf}
	for _, e := range extra {
		leaves = append(leaves, castTo(read(e, axes), e.dtype, dt))
	}
	return g.compute(dt, dims, axes, g.ew(dt, leaves, axes), nil, append([]*tensor{x}, extra...)...)
}

// shiftedOf reads x at i and i+o along one dimension (a 1-D stencil), so
// the result is o shorter there.
func (g *gen) shiftedOf(dt string, x *tensor) *tensor {
	var cands []int
	for d, dm := range x.dims {
		if dm.val(g.symDef) >= 2 {
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		return g.elementwiseOf(dt, x)
	}
	d := pick(g, cands)
	o := 1 + g.r.IntN(min(2, x.dims[d].val(g.symDef)-1))
	g.needSym(x.dims[d], o+1)
	axes := g.axisNames(len(x.dims))
	dims := slices.Clone(x.dims)
	dims[d] = x.dims[d].plus(-o)
	var leaves []string
	for _, off := range []int{0, o} {
		idx := slices.Clone(axes)
		if off > 0 {
			idx[d] = fmt.Sprintf("%s + %d", axes[d], off)
		}
		leaves = append(leaves, castTo(read(x, idx), x.dtype, dt))
	}
	return g.compute(dt, dims, axes, g.ew(dt, leaves, axes), nil, x)
}

// reindexOf reads x along one dimension flipped, with stride 2,
// upsampled by 2 or clamped at its edges: index forms whose windows bound
// inference must get right under compute_at.
func (g *gen) reindexOf(dt string, x *tensor) *tensor {
	d := g.r.IntN(len(x.dims))
	axes := g.axisNames(len(x.dims))
	dims, idx := slices.Clone(x.dims), slices.Clone(axes)
	xd, a := x.dims[d], axes[d]
	switch g.r.IntN(4) {
	case 0:
		idx[d] = fmt.Sprintf("%s - 1 - %s", xd.src, a)
	case 1:
		dims[d] = dim{fmt.Sprintf("((%s + 1) / 2)", xd.src), func(n int) int { return (xd.val(n) + 1) / 2 }, xd.sym}
		idx[d] = a + " * 2"
	case 2:
		dims[d] = dim{fmt.Sprintf("(%s * 2)", xd.src), func(n int) int { return xd.val(n) * 2 }, xd.sym}
		idx[d] = a + " / 2"
	case 3:
		dims[d] = xd.plus(2)
		idx[d] = fmt.Sprintf("min(max(%s - 1, 0), %s - 1)", a, xd.src)
	}
	return g.compute(dt, dims, axes, g.ew(dt, []string{castTo(read(x, idx), x.dtype, dt)}, axes), nil, x)
}

// broadcastOf adds a dimension to x (each element repeated along it), so
// that a loop of the consumer leaves the producer's window unchanged.
func (g *gen) broadcastOf(dt string, x *tensor) *tensor {
	if len(x.dims) == 3 {
		return g.elementwiseOf(dt, x)
	}
	axes := g.axisNames(len(x.dims) + 1)
	d := g.r.IntN(len(axes))
	dims := slices.Insert(slices.Clone(x.dims), d, g.size("B", 1, 5))
	idx := slices.Delete(slices.Clone(axes), d, d+1)
	return g.compute(dt, dims, axes, g.ew(dt, []string{castTo(read(x, idx), x.dtype, dt)}, axes), nil, x)
}

// gatherOf reads x along one dimension at an index taken from an integer
// input: bound inference cannot bound it, so a window of x spans that
// whole dimension.
func (g *gen) gatherOf(dt string, x *tensor) *tensor {
	d := g.r.IntN(len(x.dims))
	ix := g.input("I", pick(g, []string{"int8", "uint8", "int16"}), []dim{x.dims[d]})
	axes := g.axisNames(len(x.dims))
	idx := slices.Clone(axes)
	idx[d] = fmt.Sprintf("floormod(cast(int64, %s[%s]), %s)", ix.name, axes[d], x.dims[d].src)
	return g.compute(dt, x.dims, axes, g.ew(dt, []string{castTo(read(x, idx), x.dtype, dt)}, axes), nil, x, ix)
}

// reduceOf reduces one or two dimensions of x with sum, min or max; a
// tensor of rank one reduces to shape (1,).
func (g *gen) reduceOf(x *tensor) *tensor {
	rank := len(x.dims)
	nred := 1
	if rank >= 2 && g.chance(0.4) {
		nred = 2
	}
	reduced := g.r.Perm(rank)[:nred]
	op := pick(g, []string{"sum", "sum", "min", "max"})
	dt := x.dtype
	if !isFloat(dt) && op == "sum" && g.chance(0.7) {
		dt = "int32" // accumulate narrow integers in int32, as a user would
	}
	var dims []dim
	var red []raxis
	var idx, raxes []string
	outAxes := g.axisNames(max(1, rank-nred))
	for d := range rank {
		if slices.Contains(reduced, d) {
			k := g.reduceAxis("k", x.dims[d])
			idx, raxes, red = append(idx, k.name), append(raxes, k.name), append(red, k)
		} else {
			idx, dims = append(idx, outAxes[len(dims)]), append(dims, x.dims[d])
		}
	}
	if len(dims) == 0 {
		dims = []dim{constDim(1)}
	}
	body := g.wrap(dt, castTo(read(x, idx), x.dtype, dt), append(slices.Clone(outAxes), raxes...))
	axis := raxes[0]
	if len(raxes) > 1 {
		axis = "[" + strings.Join(raxes, ", ") + "]"
	}
	return g.compute(dt, dims, outAxes, fmt.Sprintf("%s(%s, axis=%s)", op, body, axis), red, x)
}

// padOf pads the last one or two dimensions of x with zeros through
// if_then_else, which reads x only inside.
func (g *gen) padOf(x *tensor) *tensor {
	rank := len(x.dims)
	axes := g.axisNames(rank)
	dims, idx := slices.Clone(x.dims), slices.Clone(axes)
	var conds []string
	for d := max(0, rank-1-g.r.IntN(2)); d < rank; d++ {
		p := 1 + g.r.IntN(2)
		dims[d] = x.dims[d].plus(2 * p)
		idx[d] = fmt.Sprintf("%s - %d", axes[d], p)
		conds = append(conds, fmt.Sprintf("%s >= %d && %s < %s + %d", axes[d], p, axes[d], x.dims[d].src, p))
	}
	zero := "0"
	if isFloat(x.dtype) {
		zero = "0.0"
	}
	body := fmt.Sprintf("if_then_else(%s, %s, %s)", strings.Join(conds, " && "), read(x, idx), zero)
	return g.compute(x.dtype, dims, axes, body, nil, x)
}

// Program templates.

var kinds = []string{"elementwise", "reduction", "stencil", "matmul", "pipeline"}

func (g *gen) elementwise() {
	dt := g.dtype()
	dims := g.dims(1 + g.r.IntN(3))
	a := g.input("A", dt, dims)
	var extra []*tensor
	if g.chance(0.6) {
		extra = append(extra, g.input("B", g.convertible(dt), dims))
	}
	t1 := g.elementwiseOf(g.convertible(dt), a, extra...)
	var t2 *tensor
	if g.chance(0.3) {
		t2 = g.reindexOf(g.convertible(t1.dtype), t1)
	} else {
		t2 = g.elementwiseOf(g.convertible(t1.dtype), t1)
	}
	if g.chance(0.5) {
		var more []*tensor
		if g.chance(0.4) && slices.Equal(shapeSrcs(t2.dims), shapeSrcs(t1.dims)) {
			more = append(more, t1) // t1 gets a second consumer
		}
		g.elementwiseOf(g.convertible(t2.dtype), t2, more...)
	}
}

func (g *gen) reduction() {
	dt := g.dtype()
	x := g.input("A", dt, g.dims(2+g.r.IntN(2)))
	if g.chance(0.5) {
		x = g.elementwiseOf(dt, x)
	}
	r := g.reduceOf(x)
	if g.chance(0.4) {
		g.elementwiseOf(g.convertible(r.dtype), r)
	}
}

func (g *gen) dims(rank int) []dim {
	var ds []dim
	for range rank {
		ds = append(ds, g.dimension("D", 1, 13))
	}
	return ds
}

func shapeSrcs(ds []dim) []string {
	var s []string
	for _, d := range ds {
		s = append(s, d.src)
	}
	return s
}

// stencil is a conv2d in CHW layout with stride and a zero-padding stage, as
// in examples/conv2d_nchw.te.
func (g *gen) stencil() {
	dt := g.dtype()
	r := pick(g, []int{1, 2, 3, 3})
	p := 1 + g.r.IntN(2)
	s := pick(g, []int{1, 1, 2})
	c, k := g.size("C", 1, 3), g.size("K", 1, 3)
	h, w := g.dimension("H", max(1, r-2*p), 9), g.dimension("W", max(1, r-2*p), 9)
	g.needSym(h, r-2*p)
	g.needSym(w, r-2*p)
	x := g.input("X", dt, []dim{c, h, w})
	wt := g.input("Wt", dt, []dim{k, c, constDim(r), constDim(r)})
	zero := "0"
	if isFloat(dt) {
		zero = "0.0"
	}
	pad := g.compute(dt, []dim{c, h.plus(2 * p), w.plus(2 * p)}, []string{"c", "y", "x"},
		fmt.Sprintf("if_then_else(y >= %d && y < %s + %d && x >= %d && x < %s + %d, %s[c, y - %d, x - %d], %s)",
			p, h.src, p, p, w.src, p, x.name, p, p, zero), nil, x)
	g.used["c"], g.used["y"], g.used["x"], g.used["co"] = true, true, true, true
	out := func(d dim) dim { // (d + 2p - r) / s + 1
		if s == 1 {
			return d.plus(2*p - r + 1)
		}
		e := d.plus(2*p - r)
		return dim{fmt.Sprintf("(%s / %d + 1)", e.src, s), func(n int) int { return e.val(n)/s + 1 }, d.sym}
	}
	at := func(a, ra string) string { // a * s + ra
		if s == 1 {
			return a + " + " + ra
		}
		return fmt.Sprintf("%s * %d + %s", a, s, ra)
	}
	rc, ry, rx := g.reduceAxis("rc", c), g.reduceAxis("ry", constDim(r)), g.reduceAxis("rx", constDim(r))
	acc := dt
	if !isFloat(dt) && g.chance(0.7) {
		acc = "int32"
	}
	in := castTo(fmt.Sprintf("%s[%s, %s, %s]", pad.name, rc.name, at("y", ry.name), at("x", rx.name)), dt, acc)
	wv := castTo(fmt.Sprintf("%s[co, %s, %s, %s]", wt.name, rc.name, ry.name, rx.name), dt, acc)
	y := g.compute(acc, []dim{k, out(h), out(w)}, []string{"co", "y", "x"},
		fmt.Sprintf("sum(%s * %s, axis=[%s, %s, %s])", in, wv, rc.name, ry.name, rx.name), []raxis{rc, ry, rx}, pad, wt)
	if g.chance(0.5) {
		g.elementwiseOf(acc, y)
	}
}

func (g *gen) matmul() {
	dt := g.dtype()
	m, n, kd := g.dimension("M", 1, 13), g.dimension("N", 1, 13), g.dimension("K", 1, 13)
	a := g.input("A", dt, []dim{m, kd})
	b := g.input("B", dt, []dim{kd, n})
	if g.chance(0.4) {
		a = g.elementwiseOf(dt, a) // may transpose (then read it as such) or change its type
	}
	acc := dt
	switch {
	case isFloat(a.dtype) || isFloat(b.dtype):
		acc = "float32"
	case a.dtype != b.dtype || g.chance(0.7):
		acc = "int32"
	}
	k := g.reduceAxis("k", kd)
	g.used["i"], g.used["j"] = true, true
	ai := []string{"i", k.name}
	if a.dims[0].src != m.src || a.dims[1].src != kd.src {
		ai = []string{k.name, "i"} // a transposed (when M and K are both n, either reading is in bounds)
	}
	c := g.compute(acc, []dim{m, n}, []string{"i", "j"},
		fmt.Sprintf("sum(%s * %s, axis=%s)", castTo(read(a, ai), a.dtype, acc), castTo(read(b, []string{k.name, "j"}), b.dtype, acc), k.name),
		[]raxis{k}, a, b)
	if g.chance(0.5) {
		g.elementwiseOf(g.convertible(acc), c)
	}
}

// pipeline is a producer and two consumers, each a map, a shifted stencil,
// a pad, a reduction, a re-indexing, a broadcast or a gather.
func (g *gen) pipeline() {
	dt := g.dtype()
	x := g.elementwiseOf(g.convertible(dt), g.input("A", dt, g.dims(2+g.r.IntN(2))))
	for range 2 {
		switch g.weighted(3, 3, 2, 2, 3, 1, 1) {
		case 0:
			x = g.elementwiseOf(g.convertible(x.dtype), x)
		case 1:
			x = g.shiftedOf(g.convertible(x.dtype), x)
		case 2:
			x = g.padOf(x)
		case 3:
			x = g.reduceOf(x)
		case 4:
			x = g.reindexOf(g.convertible(x.dtype), x)
		case 5:
			x = g.broadcastOf(g.convertible(x.dtype), x)
		case 6:
			x = g.gatherOf(g.convertible(x.dtype), x)
		}
	}
}

// generate builds case index of seed: a program within the work budget and
// its schedule.
func generate(seed uint64, index int) *genCase {
	r := rand.New(rand.NewPCG(seed, uint64(index)))
	kind := kinds[r.IntN(len(kinds))]
	for {
		g := &gen{r: r, used: map[string]bool{}, stages: map[string]*stage{}}
		g.symOK = g.chance(0.25)
		switch kind {
		case "elementwise":
			g.elementwise()
		case "reduction":
			g.reduction()
		case "stencil":
			g.stencil()
		case "matmul":
			g.matmul()
		case "pipeline":
			g.pipeline()
		}
		values := []int{g.symDef}
		if g.sym != nil {
			if values[0] < g.symMin || g.symMin > 13 {
				continue
			}
			if v := g.symMin + g.r.IntN(14-g.symMin); v != values[0] {
				values = append(values, v) // a second size: the schedule must not depend on n
			}
		}
		if g.work(values) > workBudget {
			continue
		}
		g.markOutputs()
		g.schedule()
		c := &genCase{seed: seed, index: index, kind: kind, strict: g.strict()}
		src := g.source(seed, index, kind, c.strict)
		def := fmt.Sprintf("n = var(default=%d)", values[0])
		for _, v := range values {
			c.sources = append(c.sources, strings.Replace(src, def, fmt.Sprintf("n = var(default=%d)", v), 1))
		}
		return c
	}
}

// work is the largest total work over the values of n the case runs with.
func (g *gen) work(values []int) int {
	most := 0
	for _, v := range values {
		w := 0
		for _, t := range g.computes {
			w += t.work(v)
		}
		most = max(most, w)
	}
	return most
}

// markOutputs makes the last compute the output, and sometimes another
// one too (a multi-output kernel whose intermediate must be stored).
func (g *gen) markOutputs() {
	g.computes[len(g.computes)-1].output = true
	if len(g.computes) > 1 && g.chance(0.15) {
		pick(g, g.computes[:len(g.computes)-1]).output = true
	}
}

func (g *gen) source(seed uint64, index int, kind string, strict bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# random schedule case %d of seed %d (%s)\n", index, seed, kind)
	if strict {
		b.WriteString(strictMarker + "\n")
	}
	for _, d := range g.decls {
		b.WriteString(d + "\n")
	}
	var args, outs []string
	for _, t := range g.inputs {
		args = append(args, t.name)
	}
	if g.sym != nil {
		args = append(args, "n")
	}
	for _, t := range g.computes {
		if t.output {
			outs = append(outs, t.name)
		}
	}
	out := outs[0]
	if len(outs) > 1 {
		out = "(" + strings.Join(outs, ", ") + ")"
	}
	fmt.Fprintf(&b, "kernel rsched(%s) -> %s\n", strings.Join(args, ", "), out)
	for _, st := range g.blockOrder() {
		if len(st.prims) == 0 {
			continue
		}
		fmt.Fprintf(&b, "schedule %s {\n", st.name)
		for _, p := range st.prims {
			b.WriteString("    " + p + "\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// The schedule generator. A stage mirrors schedule.Stage: its leaf loops in
// order with their annotations, what it reads, and where it is computed.

type loop struct {
	name   string
	reduce bool
	ext    int    // constant extent, 0 when it depends on n
	ann    string // "", "vectorize", "unroll", "parallel"
	// guarded: made from a split with tail=guard, whose guard then stays
	// inside this loop (so vectorizing it may warn)
	guarded bool
}

type stage struct {
	name   string
	tensor *tensor // nil for a stage a cache primitive or rfactor made
	reduce bool    // its body is a reduction
	output bool
	loops  []*loop
	reads  []string // the tensors its body reads

	// rf: the axis of partial results of a stage rfactor made (its first
	// loop, a data loop of constant extent)
	rf *loop

	attach string // "root", "inline" or "at"
	at     *stage
	atLoop *loop
	prims  []string
}

func (g *gen) emit(st *stage, format string, args ...any) {
	st.prims = append(st.prims, fmt.Sprintf(format, args...))
}

func extent(d dim) int {
	if d.sym {
		return 0
	}
	return d.val(0)
}

// schedule builds the stages and schedules them consumers first, so that
// a producer's compute_at sees the final loops of its consumer, and a stage
// a cache primitive makes right after the stage whose block makes it.
func (g *gen) schedule() {
	for _, t := range slices.Backward(g.computes) {
		st := &stage{name: t.name, tensor: t, reduce: len(t.red) > 0, output: t.output}
		for i, a := range t.axes {
			st.loops = append(st.loops, &loop{name: a, ext: extent(t.dims[i])})
		}
		for _, k := range t.red {
			st.loops = append(st.loops, &loop{name: k.name, reduce: true, ext: extent(k.ext)})
		}
		for _, x := range t.reads {
			if !slices.Contains(st.reads, x.name) {
				st.reads = append(st.reads, x.name)
			}
		}
		g.stages[st.name] = st
		g.queue = append(g.queue, st)
	}
	for len(g.queue) > 0 {
		st := g.queue[0]
		g.queue = g.queue[1:]
		g.scheduleStage(st)
		g.done = append(g.done, st)
	}
}

// consumers are the stages that read the tensor or stage called name.
func (g *gen) consumers(name string) []*stage {
	var out []*stage
	for _, s := range g.stages {
		if slices.Contains(s.reads, name) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (g *gen) scheduleStage(st *stage) {
	g.decideAttach(st)
	if st.attach != "inline" {
		if st.tensor != nil && st.reduce && g.chance(0.3) {
			if g.chance(0.15) {
				g.cacheRead(st) // before rfactor: the partial results read the copy
			}
			g.rfactor(st)
		}
		g.cacheOps(st)
		if st.rf != nil && g.chance(0.6) {
			g.rfInnermost(st)
		} else {
			g.restructure(st)
		}
	} else if g.chance(0.1) {
		g.split(st, pick(g, st.loops)) // an inlined stage's loops are ignored
	}
	if st.attach == "at" {
		var free []*loop
		for _, l := range st.at.loops {
			if l.ann != "vectorize" {
				free = append(free, l)
			}
		}
		st.atLoop = pick(g, free)
	}
	if st.attach != "inline" {
		g.annotate(st)
	}
	switch {
	case st.attach == "at":
		g.emit(st, "compute_at(%s, %s)", st.at.name, st.atLoop.name)
	case st.attach == "inline":
		g.emit(st, "compute_inline()")
	case g.chance(0.05):
		g.emit(st, "compute_root()")
	}
}

// decideAttach chooses where st is computed among the legal places: an
// output at the root; inline when it is not a reduction (no stage is ever
// attached to an inlined one: its producers are decided after it); at a
// loop of its only consumer, not a vectorized one, when that consumer is
// not inlined.
func (g *gen) decideAttach(st *stage) {
	st.attach = "root"
	if st.output {
		return
	}
	cons := g.consumers(st.name)
	canAt := len(cons) == 1 && cons[0].attach != "inline" &&
		slices.ContainsFunc(cons[0].loops, func(l *loop) bool { return l.ann != "vectorize" })
	w := []int{3, 0, 0}
	if !st.reduce {
		w[1] = 2
	}
	if canAt {
		w[2] = 5
	}
	st.attach = []string{"root", "inline", "at"}[g.weighted(w...)]
	if st.attach == "at" {
		st.at = cons[0]
	}
}

// cacheOps sometimes starts st's block with cache_write of st (before any
// split, as required) or cache_read of a tensor st reads. The new stage is
// scheduled next.
func (g *gen) cacheOps(st *stage) {
	switch {
	case st.tensor != nil && g.chance(map[bool]float64{true: 0.3, false: 0.12}[st.reduce]):
		scope := pick(g, []string{"", ", local", ", local", ", global", ", scope=local"})
		cl := &stage{name: g.fresh(st.name + "L"), reduce: st.reduce, reads: slices.Clone(st.reads)}
		for _, l := range st.loops {
			cl.loops = append(cl.loops, &loop{name: l.name, reduce: l.reduce, ext: l.ext})
		}
		g.emit(st, "%s = cache_write(%s%s)", cl.name, st.name, scope)
		st.reads, st.reduce = []string{cl.name}, false
		st.loops = slices.DeleteFunc(st.loops, func(l *loop) bool { return l.reduce })
		g.made(cl)
	case g.chance(0.15):
		g.cacheRead(st)
	}
}

// cacheRead makes st (and sometimes the other readers) read a copy of one
// of the program's tensors st reads, when there is one.
func (g *gen) cacheRead(st *stage) {
	scope := pick(g, []string{"", ", local", ", local", ", global", ", scope=local"})
	var cands []*tensor
	for _, name := range st.reads {
		if t := g.tensorNamed(name); t != nil {
			cands = append(cands, t)
		}
	}
	if len(cands) == 0 {
		return
	}
	x := pick(g, cands)
	cr := &stage{name: g.fresh(x.name + "R"), reads: []string{x.name}}
	for d, dm := range x.dims {
		cr.loops = append(cr.loops, &loop{name: fmt.Sprintf("ax%d", d), ext: extent(dm)})
	}
	readers := []*stage{st}
	others := slices.DeleteFunc(g.consumers(x.name), func(r *stage) bool { return r == st || r.tensor == nil })
	if st.tensor != nil && len(others) > 0 && g.chance(0.5) {
		// Every reader of x reads the copy. The blocks must then apply
		// in scheduling order (source order: blocks of the stages cache
		// primitives make wait, so none is involved), lest a reader's
		// block redirect its reads of x first.
		readers = append(readers, others...)
		g.keepOrder = true
	}
	list := ""
	if len(readers) > 1 || g.chance(0.3) {
		for _, r := range readers {
			list += ", " + r.name
		}
		if scope == "" || strings.HasPrefix(scope, ", scope") {
			scope = ", local" // the scope comes before the readers
		}
	}
	g.emit(st, "%s = cache_read(%s%s%s)", cr.name, x.name, scope, list)
	for _, r := range readers {
		r.reads[slices.Index(r.reads, x.name)] = cr.name
	}
	g.made(cr)
}

// rfactor starts st's block (a reduction of the program) with rfactor
// over one of its reduction loops of constant extent, or over a part of
// constant extent of a split of one (by a factor, which may not divide the
// extent, or into parts when the extent is constant), written just before.
// The new stage has the partial-results axis, st's data axes, the split's
// other part and st's other reduction axes, and is scheduled next; st's
// loops are its data axes and the reduction over the partial results,
// named after the factored loop with _r. (Below, ki is the factored loop
// and ko the split's other part.)
func (g *gen) rfactor(st *stage) {
	var red, data []*loop
	for _, l := range st.loops {
		if l.reduce {
			red = append(red, l)
		} else {
			data = append(data, l)
		}
	}
	k := pick(g, red)
	ki, ko := k, (*loop)(nil)
	if k.ext == 0 || g.chance(0.7) {
		var args string
		if k.ext == 0 || g.chance(0.75) {
			// factors up to a little past the extent (a lone, partial outer
			// iteration), so the partial stage does not grow much
			fs := slices.DeleteFunc(slices.Clone(factors), func(f int) bool { return k.ext > 0 && f > k.ext+2 })
			f := pick(g, fs)
			ko, ki = g.splitLoops(k, f, 0)
			args = fmt.Sprintf("factor=%d", f)
		} else {
			p := 1 + g.r.IntN(4)
			ko, ki = g.splitLoops(k, 0, p)
			args = fmt.Sprintf("nparts=%d", p)
		}
		switch g.weighted(8, 1, 1) { // rfactor drops the split's tail mode
		case 1:
			args += ", tail=guard"
		case 2:
			args += ", tail=partition"
		}
		g.emit(st, "%s, %s = split(%s, %s)", ko.name, ki.name, k.name, args)
		if ko.ext > 0 && g.chance(0.3) {
			// the outer part: one partial result per block of the split
			ko, ki = ki, ko
		}
	}
	cf := &stage{name: g.fresh(st.name + "F"), reads: st.reads}
	g.emit(st, "%s = rfactor(%s, %s)", cf.name, st.name, ki.name)
	cf.rf = &loop{name: ki.name, ext: ki.ext}
	cf.loops = []*loop{cf.rf}
	for _, l := range data {
		cf.loops = append(cf.loops, &loop{name: l.name, ext: l.ext})
	}
	if ko != nil {
		cf.loops = append(cf.loops, &loop{name: ko.name, reduce: true, ext: ko.ext})
	}
	for _, l := range red {
		if l != k {
			cf.loops = append(cf.loops, &loop{name: l.name, reduce: true, ext: l.ext})
		}
	}
	cf.reduce = len(cf.loops) > len(data)+1
	kr := &loop{name: ki.name + "_r", reduce: true, ext: ki.ext}
	g.used[kr.name] = true
	st.loops, st.reads = append(data, kr), []string{cf.name}
	g.made(cf)
}

// rfInnermost moves the partial-results axis of a stage rfactor made
// innermost, where it becomes a vector of partial results (annotate then
// mostly vectorizes it), sometimes after splitting another loop.
func (g *gen) rfInnermost(st *stage) {
	if len(st.loops) > 1 && g.chance(0.3) {
		g.split(st, pick(g, st.loops[1:]))
	}
	if st.loops[len(st.loops)-1] == st.rf {
		return
	}
	order := append(slices.DeleteFunc(slices.Clone(st.loops), func(l *loop) bool { return l == st.rf }), st.rf)
	var names []string
	for _, l := range order {
		names = append(names, l.name)
	}
	g.emit(st, "reorder(%s)", strings.Join(names, ", "))
	st.loops = order
}

// made adds a stage a cache primitive or rfactor made; it is scheduled next.
func (g *gen) made(st *stage) {
	g.stages[st.name] = st
	g.queue = append([]*stage{st}, g.queue...)
}

// tensorNamed is a tensor of the program (cache primitives take those, not
// the stages cache primitives made).
func (g *gen) tensorNamed(name string) *tensor {
	for _, t := range append(slices.Clone(g.inputs), g.computes...) {
		if t.name == name {
			return t
		}
	}
	return nil
}

// restructure applies a few random splits, tiles, fuses and reorders,
// mirroring their effect on the loop order.
func (g *gen) restructure(st *stage) {
	for range g.weighted(3, 4, 4, 3, 2, 1) {
		var adjacent []int
		for i := 0; i+1 < len(st.loops); i++ {
			if st.loops[i].reduce == st.loops[i+1].reduce {
				adjacent = append(adjacent, i)
			}
		}
		w := []int{0, 0, 0, 0}
		if len(st.loops) < 8 {
			w[0] = 5
		}
		if len(st.loops) >= 2 && len(st.loops) <= 6 {
			w[1] = 2
		}
		if len(adjacent) > 0 {
			w[2] = 2
		}
		if len(st.loops) >= 2 {
			w[3] = 3
		}
		if w[0]+w[1]+w[2]+w[3] == 0 {
			return
		}
		switch g.weighted(w...) {
		case 0:
			g.split(st, pick(g, st.loops))
		case 1:
			g.tile(st)
		case 2:
			i := pick(g, adjacent)
			n := 2
			if slices.Contains(adjacent, i+1) && g.chance(0.3) {
				n = 3 // fuse(a, b, c)
			}
			f := &loop{name: g.fresh("f"), reduce: st.loops[i].reduce, ext: 1}
			var names []string
			for _, l := range st.loops[i : i+n] {
				f.ext *= l.ext
				f.guarded = f.guarded || l.guarded
				names = append(names, l.name)
			}
			g.emit(st, "%s = fuse(%s)", f.name, strings.Join(names, ", "))
			st.loops = slices.Replace(st.loops, i, i+n, f)
		case 3:
			sub := g.r.Perm(len(st.loops))[:2+g.r.IntN(len(st.loops)-1)]
			var axes []*loop
			var names []string
			for _, k := range sub {
				axes, names = append(axes, st.loops[k]), append(names, st.loops[k].name)
			}
			g.emit(st, "reorder(%s)", strings.Join(names, ", "))
			reorder(st.loops, axes)
		}
	}
}

// reorder puts axes in the given order into the positions they occupy,
// as schedule.Stage.Reorder does.
func reorder(loops, axes []*loop) {
	var pos []int
	for _, a := range axes {
		pos = append(pos, slices.Index(loops, a))
	}
	slices.Sort(pos)
	for k, p := range pos {
		loops[p] = axes[k]
	}
}

var factors = []int{1, 2, 2, 3, 4, 4, 5, 8, 16}

// splitLoops returns the outer and inner loops of splitting l by factor
// (or into nparts), with their extents.
func (g *gen) splitLoops(l *loop, factor, nparts int) (*loop, *loop) {
	o := &loop{name: g.fresh(l.name + "o"), reduce: l.reduce, guarded: l.guarded}
	in := &loop{name: g.fresh(l.name + "i"), reduce: l.reduce, guarded: l.guarded}
	if factor > 0 {
		in.ext = factor
		if l.ext > 0 {
			o.ext = (l.ext + factor - 1) / factor
		}
	} else {
		o.ext = nparts
		if l.ext > 0 {
			// as schedule.SplitExtents: the parts that hold any iteration
			in.ext = (l.ext + nparts - 1) / nparts
			o.ext = (l.ext + in.ext - 1) / in.ext
		}
	}
	return o, in
}

func (g *gen) split(st *stage, l *loop) {
	var o, in *loop
	var args string
	if g.chance(0.7) {
		f := pick(g, factors)
		o, in = g.splitLoops(l, f, 0)
		args = fmt.Sprintf("factor=%d", f)
		if g.chance(0.1) {
			args = strconv.Itoa(f)
		}
	} else {
		p := 1 + g.r.IntN(4)
		o, in = g.splitLoops(l, 0, p)
		args = fmt.Sprintf("nparts=%d", p)
	}
	switch g.weighted(16, 3, 1) {
	case 1:
		args += ", tail=guard"
		o.guarded, in.guarded = true, true
	case 2:
		args += ", tail=partition"
	}
	g.emit(st, "%s, %s = split(%s, %s)", o.name, in.name, l.name, args)
	i := slices.Index(st.loops, l)
	st.loops = slices.Replace(st.loops, i, i+1, o, in)
}

// tile splits two loops and orders the parts xo, yo, xi, yi in the
// positions the four occupy, as schedule.Stage.Tile does.
func (g *gen) tile(st *stage) {
	p := g.r.Perm(len(st.loops))
	x, y := st.loops[p[0]], st.loops[p[1]]
	fx, fy := pick(g, factors), pick(g, factors)
	xo, xi := g.splitLoops(x, fx, 0)
	yo, yi := g.splitLoops(y, fy, 0)
	args := fmt.Sprintf("%d, %d", fx, fy)
	if g.chance(0.2) {
		args = fmt.Sprintf("x_factor=%d, y_factor=%d", fx, fy)
	}
	g.emit(st, "%s, %s, %s, %s = tile(%s, %s, %s)", xo.name, yo.name, xi.name, yi.name, x.name, y.name, args)
	i := slices.Index(st.loops, x)
	st.loops = slices.Replace(st.loops, i, i+1, xo, xi)
	i = slices.Index(st.loops, y)
	st.loops = slices.Replace(st.loops, i, i+1, yo, yi)
	reorder(st.loops, []*loop{xo, yo, xi, yi})
}

// annotate vectorizes the innermost loop, unrolls a few loops and runs one
// data loop in parallel, each when legal: constant extents for vectorize
// and unroll; a vectorized reduction loop only with nothing but reduction
// loops from the first one inward; no parallel loop in a stage computed
// inside a parallel loop.
func (g *gen) annotate(st *stage) {
	var prims []string
	last := st.loops[len(st.loops)-1]
	first := slices.IndexFunc(st.loops, func(l *loop) bool { return l.reduce })
	reduceInner := first >= 0 && !slices.ContainsFunc(st.loops[first:], func(l *loop) bool { return !l.reduce })
	pv := 0.55
	if last == st.rf {
		pv = 0.85
	}
	if last.ext > 0 && (!last.reduce || reduceInner) && g.chance(pv) {
		last.ann = "vectorize"
		prims = append(prims, "vectorize("+last.name+")")
	}
	copies := 1
	for _, l := range st.loops {
		if l.ann == "" && l.ext > 0 && copies*l.ext <= 64 && g.chance(0.12) {
			l.ann, copies = "unroll", copies*l.ext
			prims = append(prims, "unroll("+l.name+")")
		}
	}
	if !g.insideParallel(st) && g.chance(0.35) {
		var data []*loop
		for _, l := range st.loops {
			if !l.reduce && l.ann == "" {
				data = append(data, l)
			}
		}
		if len(data) > 0 {
			l := pick(g, data)
			l.ann = "parallel"
			prims = append(prims, "parallel("+l.name+")")
		}
	}
	if len(st.reads) > 0 && g.chance(0.15) {
		// a prefetch of what it reads, some iterations ahead, at a loop
		// that is not vectorized: one lowering cannot size (a strided
		// region, a tensor computed inside the loop) is dropped with a
		// warning, and the results must not change either way
		var at []*loop
		for _, l := range st.loops {
			if l.ann != "vectorize" {
				at = append(at, l)
			}
		}
		if len(at) > 0 {
			prims = append(prims, fmt.Sprintf("prefetch(%s, %s, offset=%d)", pick(g, st.reads), pick(g, at).name, 1+g.r.IntN(8)))
		}
	}
	g.r.Shuffle(len(prims), func(i, j int) { prims[i], prims[j] = prims[j], prims[i] })
	st.prims = append(st.prims, prims...)
}

// insideParallel reports whether st is computed inside a parallel loop of
// a stage it is attached to, directly or through a chain of attachments.
func (g *gen) insideParallel(st *stage) bool {
	for ; st.attach == "at"; st = st.at {
		i := slices.Index(st.at.loops, st.atLoop)
		if slices.ContainsFunc(st.at.loops[:i+1], func(l *loop) bool { return l.ann == "parallel" }) {
			return true
		}
	}
	return false
}

// strict reports whether lowering must vectorize every vectorized loop
// cleanly: none comes from a split with tail=guard, and there is no
// symbolic dimension (a fuse over one divides indices by n, which the
// vectorizer refuses under a lane-dependent if_then_else). Vectorized and
// unrolled loops have constant extents, also in the window of a stage
// computed at a consumer's loop, which lowering keeps constant; a split
// that does not divide its extent is partitioned, and its tail only noted.
func (g *gen) strict() bool {
	if g.sym != nil || g.quantized {
		return false
	}
	for _, st := range g.done {
		if slices.ContainsFunc(st.loops, func(l *loop) bool { return l.ann == "vectorize" && l.guarded }) {
			return false
		}
	}
	return true
}

// blockOrder is the order of the schedule blocks: the scheduling order, or
// sometimes a shuffle of it (blocks apply in source order, but no order
// between them is required, not even a cache stage's block after the
// block making it), unless a cache_read with several readers needs it.
func (g *gen) blockOrder() []*stage {
	out := slices.Clone(g.done)
	if !g.keepOrder && g.chance(0.3) {
		g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	return out
}
