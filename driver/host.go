package driver

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"

	"github.com/tide-compiler/tide/llvmgen"
)

// ParseTarget reads a target like llvmgen.ParseTarget, and also "host":
// this machine, with the CPU and every feature clang's -march=native finds
// (on an AVX-512 machine that includes AVX-512, which the x86-64 preset
// leaves out).
func ParseTarget(s string) (llvmgen.Target, error) {
	if strings.TrimSpace(s) != "host" {
		return llvmgen.ParseTarget(s)
	}
	return HostTarget()
}

var (
	cpuFlagRe     = regexp.MustCompile(`"-target-cpu" "([^"]+)"`)
	featureFlagRe = regexp.MustCompile(`"-target-feature" "([^"]+)"`)
	tripleFlagRe  = regexp.MustCompile(`"-triple" "([^"]+)"`)
)

// HostTarget asks clang what -march=native means on this machine.
func HostTarget() (llvmgen.Target, error) {
	p, err := Clang.Path()
	if err != nil {
		return llvmgen.Target{}, err
	}
	// -### prints the compiler's command line, on stderr, without running it
	out, err := exec.Command(p, "-march=native", "-###", "-x", "c", "-c", "/dev/null", "-o", "/dev/null").CombinedOutput()
	if err != nil {
		return llvmgen.Target{}, fmt.Errorf("target host: clang -march=native: %v\n%s", err, out)
	}
	text := string(out)
	triple, cpu := tripleFlagRe.FindStringSubmatch(text), cpuFlagRe.FindStringSubmatch(text)
	if triple == nil || cpu == nil {
		return llvmgen.Target{}, fmt.Errorf("target host: clang -march=native -### named no triple or CPU:\n%s", text)
	}
	var feats []string
	for _, m := range featureFlagRe.FindAllStringSubmatch(text, -1) {
		feats = append(feats, m[1])
	}
	spec := fmt.Sprintf("llvm -mtriple=%s -mcpu=%s", triple[1], cpu[1])
	if len(feats) > 0 {
		spec += " -mattr=" + strings.Join(feats, ",")
	}
	t, err := llvmgen.ParseTarget(spec)
	if err != nil {
		return llvmgen.Target{}, fmt.Errorf("target host: %w", err)
	}
	t.Name = "host"
	return t, nil
}
