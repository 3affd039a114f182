package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tide-compiler/tide/llvmgen"
)

// LoopEstimate is llvm-mca's static estimate for one innermost loop of the
// generated assembly: a measure for targets that run under emulation here,
// where wall time means nothing.
type LoopEstimate struct {
	Label        string // the loop's label in the assembly
	Instructions int    // instructions per iteration
	// Cycles per iteration in llvm-mca's simulation of many iterations, which
	// counts the latency of loop-carried chains such as accumulators.
	Cycles float64
	// Throughput is llvm-mca's block reciprocal throughput: the cycles per
	// iteration if only the execution ports limited it (a lower bound).
	Throughput float64
	Work       LoopWork
}

// LoopWork counts the data operations of one iteration of an assembly loop
// (address arithmetic and loop control are not counted).
type LoopWork struct {
	Flops         int // float operations; a fused multiply-add counts 2
	PopcountBits  int // bits whose population count is taken: binary MACs when each bit is an xnor or and of an activation and a weight bit
	PopcountInsns int
}

var (
	labelRe  = regexp.MustCompile(`^(\.LBB[0-9_]+):`)
	branchRe = regexp.MustCompile(`^\s+(b\.[a-z]+|b|cbnz|cbz|tbnz|tbz|j[a-z]+)\s+.*?(\.LBB[0-9_]+)\s*$`)
	rthrRe   = regexp.MustCompile(`Block RThroughput:\s*([0-9.]+)`)
	itersRe  = regexp.MustCompile(`Iterations:\s*([0-9]+)`)
	cyclesRe = regexp.MustCompile(`Total Cycles:\s*([0-9]+)`)
	// an instruction: mnemonic, then operands
	insnRe = regexp.MustCompile(`^\s*([a-z][a-z0-9.]*)\s*(.*)$`)
	// an AArch64 vector register with its arrangement, e.g. v3.4s
	arrangementRe = regexp.MustCompile(`\bv[0-9]+\.([0-9]+)([bhsd])\b`)
)

// CountWork counts the data operations of a loop body in AArch64 or x86-64
// (AT&T) assembly, lane by lane.
func CountWork(body []string) LoopWork {
	var w LoopWork
	for _, line := range body {
		m := insnRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		op, operands := m[1], m[2]
		lanes, laneKind := 1, ""
		if a := arrangementRe.FindStringSubmatch(operands); a != nil {
			lanes, _ = strconv.Atoi(a[1])
			laneKind = a[2]
		}
		switch {
		// AArch64
		case op == "cnt":
			w.PopcountBits += 8 * lanes
			w.PopcountInsns++
		case (op == "fmla" || op == "fmls") && laneKind != "":
			w.Flops += 2 * lanes
		case op == "fmadd" || op == "fmsub" || op == "fnmadd" || op == "fnmsub":
			w.Flops += 2
		case slices.Contains([]string{"fadd", "fsub", "fmul", "fdiv", "fmax", "fmin", "fmaxnm", "fminnm"}, op):
			w.Flops += lanes
		// x86-64: packed single (ps) or double (pd) on xmm (128-bit) or ymm
		case strings.HasPrefix(op, "popcnt"):
			bits := 32
			if strings.Contains(operands, "%r") {
				bits = 64
			}
			w.PopcountBits += bits
			w.PopcountInsns++
		case strings.HasPrefix(op, "vfmadd") || strings.HasPrefix(op, "vfmsub") || strings.HasPrefix(op, "vfnmadd"):
			w.Flops += 2 * x86Lanes(op, operands)
		case slices.Contains([]string{"vaddps", "vsubps", "vmulps", "vdivps", "vmaxps", "vminps", "vaddss", "vsubss", "vmulss", "vdivss", "vmaxss", "vminss",
			"vaddpd", "vsubpd", "vmulpd", "vdivpd", "vaddsd", "vsubsd", "vmulsd", "vdivsd"}, op):
			w.Flops += x86Lanes(op, operands)
		}
	}
	return w
}

// x86Lanes is the number of float lanes of an AVX instruction.
func x86Lanes(op, operands string) int {
	if strings.HasSuffix(op, "ss") || strings.HasSuffix(op, "sd") {
		return 1
	}
	bytes := 16
	if strings.Contains(operands, "%ymm") {
		bytes = 32
	}
	if strings.HasSuffix(op, "pd") {
		return bytes / 8
	}
	return bytes / 4
}

// InnermostLoops finds the loops of an assembly listing that contain no
// other loop. With clang's loop comments, an innermost loop is a label
// marked "=>This Inner Loop Header" and the blocks marked "in Loop:
// Header=" it, which must lie together (a latch may come before its
// header). Without them, a loop is a label and the backward branch that
// returns to it; but a branch backward in the layout can be a forward one
// in the control flow (a block placed after its successor), which a
// network's padded copy loops showed.
func InnermostLoops(asm string) map[string][]string {
	lines := strings.Split(asm, "\n")
	out := map[string][]string{}
	for _, a := range innermostSpans(lines, listingBlocks(lines)) {
		out[a.label] = a.region(lines).body
	}
	return out
}

// span is an innermost loop of a listing: its header's label and line, and
// the lines its blocks take.
type span struct {
	label              string
	header, start, end int
}

// region is the loop's body for llvm-mca.
func (a span) region(lines []string) codeRegion {
	return codeRegion{a.label, instructions(lines[a.start+1 : a.end+1])}
}

// asmBlock is a basic block of a listing: from its label or clang's
// "%bb.N:" comment to the next block or the function's end.
type asmBlock struct {
	at, end int    // its label's or comment's line, its last line
	name    string // its label, or %bb.N
	// loop is the label of the innermost loop clang's comments put it in
	// ("" when none), and inner says the block heads an innermost loop
	loop  string
	inner bool
	body  []string // its instructions (only for blocks outside loops)
}

// bbRe is clang's comment for a basic block that has no label (nothing
// branches to it: it is entered by falling through, or it is an entry);
// inLoopRe, its comment naming the block's innermost loop.
var (
	bbRe     = regexp.MustCompile(`^\s*(?://|#)\s*(%bb\.[0-9]+):`)
	inLoopRe = regexp.MustCompile(`in Loop: Header=BB([0-9_]+)`)
)

// listingBlocks splits a listing into its basic blocks.
func listingBlocks(lines []string) []asmBlock {
	var out []asmBlock
	closeAt := func(i int) {
		if n := len(out); n > 0 && out[n-1].end < 0 {
			out[n-1].end = i - 1
		}
	}
	for i, l := range lines {
		t := strings.TrimSpace(l)
		var name string
		if m := labelRe.FindStringSubmatch(l); m != nil {
			name = m[1]
		} else if m := bbRe.FindStringSubmatch(l); m != nil {
			name = m[1]
		}
		switch {
		case name != "":
			closeAt(i)
			b := asmBlock{at: i, end: -1, name: name}
			// the comments on the block's line and the lines after it
			for j, c := range lines[i:] {
				if c = strings.TrimSpace(c); j > 0 && !strings.HasPrefix(c, "//") && !strings.HasPrefix(c, "#") {
					break
				}
				if m := inLoopRe.FindStringSubmatch(c); m != nil {
					b.loop = ".LBB" + m[1]
				}
				if strings.Contains(c, "=>") && strings.Contains(c, "This Inner Loop Header") {
					b.loop, b.inner = name, true
				}
			}
			out = append(out, b)
		case strings.HasPrefix(t, ".cfi_endproc") || strings.HasPrefix(t, ".Lfunc_end") || (functionRe.MatchString(l) && !strings.HasPrefix(t, ".")):
			closeAt(i)
		}
	}
	closeAt(len(lines))
	return out
}

func innermostSpans(lines []string, blocks []asmBlock) []span {
	if slices.ContainsFunc(blocks, func(b asmBlock) bool { return b.inner }) {
		return commentSpans(blocks)
	}
	labelAt := map[string]int{}
	var loops []span
	for i, l := range lines {
		if m := labelRe.FindStringSubmatch(l); m != nil {
			labelAt[m[1]] = i
		}
		if m := branchRe.FindStringSubmatch(l); m != nil {
			if at, ok := labelAt[m[2]]; ok { // seen before: a backward branch
				loops = append(loops, span{m[2], at, at, i})
			}
		}
	}
	var inner []span
	for _, a := range loops {
		if !slices.ContainsFunc(loops, func(b span) bool { return b != a && b.start >= a.start && b.end <= a.end }) {
			inner = append(inner, a)
		}
	}
	return inner
}

// commentSpans are the innermost loops clang's comments mark: each
// header's blocks, when they lie together in the listing (otherwise the
// loop's blocks are counted one by one, as blocks outside loops).
func commentSpans(blocks []asmBlock) []span {
	var out []span
	for _, h := range blocks {
		if !h.inner {
			continue
		}
		first, last := -1, -1
		together := true
		for i, b := range blocks {
			switch {
			case b.loop == h.name && first < 0:
				first, last = i, i
			case b.loop == h.name && last == i-1:
				last = i
			case b.loop == h.name:
				together = false
			}
		}
		if together {
			out = append(out, span{label: h.name, header: h.at, start: blocks[first].at, end: blocks[last].end})
		}
	}
	return out
}

// straightBlocks are the basic blocks outside the innermost loops, with
// their instructions.
func straightBlocks(lines []string, blocks []asmBlock, loops []span) []asmBlock {
	var out []asmBlock
	for _, b := range blocks {
		if slices.ContainsFunc(loops, func(a span) bool { return b.at >= a.start && b.at <= a.end }) {
			continue
		}
		if b.body = instructions(lines[b.at+1 : b.end+1]); len(b.body) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// instructions are a listing's instruction lines: no labels, directives
// or comments.
func instructions(lines []string) []string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, ".") || strings.HasPrefix(t, "//") || strings.HasPrefix(t, "#") || labelRe.MatchString(t) || functionRe.MatchString(t) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// codeRegion is a piece of a listing for llvm-mca: a loop's body or a
// basic block, with its label.
type codeRegion struct {
	label string
	body  []string
}

// estimateRegions asks llvm-mca for each region's cycles, in one run with
// a code region per piece. llvm-mca simulates each one repeated: a loop's
// cycles per iteration, a block's per execution (a block runs once per
// entry, and its dependency chains count at their latency).
func estimateRegions(t llvmgen.Target, regions []codeRegion, dir string) ([]LoopEstimate, error) {
	if len(regions) == 0 {
		return nil, nil
	}
	var b strings.Builder
	for i, r := range regions {
		fmt.Fprintf(&b, "# LLVM-MCA-BEGIN r%d\n%s\n# LLVM-MCA-END\n", i, strings.Join(r.body, "\n"))
	}
	f := filepath.Join(dir, "regions.s")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	args := []string{"-mtriple=" + t.Triple, f}
	if t.CPU != "" {
		args = append(args, "-mcpu="+t.CPU)
	}
	report, err := run(MCA, args...)
	if err != nil {
		return nil, err
	}
	reports := strings.Split(report, "Code Region - ")[1:]
	if len(reports) != len(regions) {
		return nil, fmt.Errorf("llvm-mca reported %d code regions for %d pieces of code", len(reports), len(regions))
	}
	out := make([]LoopEstimate, len(regions))
	for i, rep := range reports {
		r := regions[i]
		rthr, iters, cycles := rthrRe.FindStringSubmatch(rep), itersRe.FindStringSubmatch(rep), cyclesRe.FindStringSubmatch(rep)
		if rthr == nil || iters == nil || cycles == nil {
			return nil, fmt.Errorf("llvm-mca gave no cycle counts for %s:\n%s", r.label, rep)
		}
		thr, _ := strconv.ParseFloat(rthr[1], 64)
		n, _ := strconv.ParseFloat(iters[1], 64)
		total, _ := strconv.ParseFloat(cycles[1], 64)
		out[i] = LoopEstimate{Label: r.label, Instructions: len(r.body), Cycles: total / n, Throughput: thr, Work: CountWork(r.body)}
	}
	return out, nil
}

// EstimateLoops compiles an IR file to assembly and asks llvm-mca for the
// cycles per iteration of each innermost loop, in the listing's order.
func EstimateLoops(t llvmgen.Target, ll, dir string) ([]LoopEstimate, error) {
	asm, err := Assemble(t, ll)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(asm, "\n")
	var regions []codeRegion
	for _, a := range innermostSpans(lines, listingBlocks(lines)) {
		regions = append(regions, a.region(lines))
	}
	return estimateRegions(t, regions, dir)
}
