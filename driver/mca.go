package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"tide/llvmgen"
)

// LoopEstimate is llvm-mca's static estimate for one innermost loop of the
// generated assembly: a measure for targets that run under emulation here,
// where wall time means nothing.
type LoopEstimate struct {
	Label        string  // the loop's label in the assembly
	Instructions int     // instructions per iteration
	Cycles       float64 // llvm-mca's block reciprocal throughput: cycles per iteration
}

var (
	labelRe  = regexp.MustCompile(`^(\.LBB[0-9_]+):`)
	branchRe = regexp.MustCompile(`^\s+(b\.[a-z]+|b|cbnz|cbz|tbnz|tbz|j[a-z]+)\s+.*?(\.LBB[0-9_]+)\s*$`)
	rthrRe   = regexp.MustCompile(`Block RThroughput:\s*([0-9.]+)`)
)

// InnermostLoops finds the loops of an assembly listing that contain no
// other loop: a label and the backward branch that returns to it.
func InnermostLoops(asm string) map[string][]string {
	lines := strings.Split(asm, "\n")
	labelAt := map[string]int{}
	type span struct {
		label      string
		start, end int
	}
	var loops []span
	for i, l := range lines {
		if m := labelRe.FindStringSubmatch(l); m != nil {
			labelAt[m[1]] = i
		}
		if m := branchRe.FindStringSubmatch(l); m != nil {
			if at, ok := labelAt[m[2]]; ok { // seen before: a backward branch
				loops = append(loops, span{m[2], at, i})
			}
		}
	}
	out := map[string][]string{}
	for _, a := range loops {
		inner := true
		for _, b := range loops {
			if b != a && b.start >= a.start && b.end <= a.end {
				inner = false
			}
		}
		if !inner {
			continue
		}
		var body []string
		for _, l := range lines[a.start+1 : a.end+1] {
			t := strings.TrimSpace(l)
			if t == "" || strings.HasPrefix(t, ".") || strings.HasPrefix(t, "//") || strings.HasPrefix(t, "#") || labelRe.MatchString(t) {
				continue
			}
			body = append(body, l)
		}
		out[a.label] = body
	}
	return out
}

// EstimateLoops compiles an IR file to assembly and asks llvm-mca for the
// cycles per iteration of each innermost loop.
func EstimateLoops(t llvmgen.Target, ll, dir string) ([]LoopEstimate, error) {
	asm, err := Assemble(t, ll)
	if err != nil {
		return nil, err
	}
	var out []LoopEstimate
	for label, body := range InnermostLoops(asm) {
		f := filepath.Join(dir, strings.TrimPrefix(label, ".")+".s")
		if err := os.WriteFile(f, []byte(strings.Join(body, "\n")+"\n"), 0o644); err != nil {
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
		m := rthrRe.FindStringSubmatch(report)
		if m == nil {
			return nil, fmt.Errorf("llvm-mca gave no block throughput for loop %s", label)
		}
		c, _ := strconv.ParseFloat(m[1], 64)
		out = append(out, LoopEstimate{Label: label, Instructions: len(body), Cycles: c})
	}
	return out, nil
}
