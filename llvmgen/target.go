package llvmgen

// The targets: presets for the two machines Tide serves, the host, and
// TVM-style target strings.

import (
	"fmt"
	"slices"
	"strings"
)

// Target is a machine to generate code for. The module carries Triple, and
// every function carries CPU and Features as attributes, so a plain
// `clang -O3 -c kernel.ll` compiles for the intended machine.
type Target struct {
	Name       string // the preset, or "custom"
	Triple     string // e.g. x86_64-pc-linux-gnu
	CPU        string // e.g. haswell, cortex-a53
	Features   string // e.g. +avx2,+fma (LLVM's comma-separated form)
	VectorBits int    // width of a SIMD register
}

// Arch is the first component of the triple (x86_64, aarch64).
func (t Target) Arch() string { return strings.SplitN(t.Triple, "-", 2)[0] }

// FeatureNames are the extensions the target's Features turn on (+name),
// by LLVM's names: what the operator library's schedules and the language's
// target_has_feature see.
func (t Target) FeatureNames() []string {
	var names []string
	for _, f := range t.featureFlags() {
		if name, on := strings.CutPrefix(f, "+"); on {
			names = append(names, name)
		}
	}
	return names
}

// HasFeature reports whether the target's Features turn name on.
func (t Target) HasFeature(name string) bool { return slices.Contains(t.featureFlags(), "+"+name) }

// disablesFeature reports whether the target's Features turn name off
// (-name), which a CPU's own features then lack.
func (t Target) disablesFeature(name string) bool { return slices.Contains(t.featureFlags(), "-"+name) }

func (t Target) featureFlags() []string {
	var flags []string
	for _, f := range strings.Split(t.Features, ",") {
		if f = strings.TrimSpace(f); f != "" {
			flags = append(flags, f)
		}
	}
	return flags
}

// IsAArch64 reports whether the target is 64-bit ARM.
func (t Target) IsAArch64() bool { return t.Arch() == "aarch64" }

var presets = map[string]Target{
	// Haswell is the first x86-64 with AVX2 and FMA (and popcnt, BMI2).
	"x86-64":     {Name: "x86-64", Triple: "x86_64-pc-linux-gnu", CPU: "haswell", Features: "+avx2,+fma,+popcnt", VectorBits: 256},
	"cortex-a53": {Name: "cortex-a53", Triple: "aarch64-unknown-linux-gnu", CPU: "cortex-a53", Features: "+neon", VectorBits: 128},
}

// PresetNames lists the target presets.
func PresetNames() []string {
	names := []string{"host"}
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseTarget reads a preset name (x86-64, cortex-a53, host) or a TVM-style
// string: llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a53 -mattr=+neon.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "host" {
		// this package runs no tools: the driver asks clang what the host is
		return Target{}, fmt.Errorf("target host is resolved by driver.ParseTarget, which asks clang for this machine's CPU and features")
	}
	if t, ok := presets[s]; ok {
		return t, nil
	}
	fields := strings.Fields(s)
	if len(fields) == 0 || fields[0] != "llvm" {
		return Target{}, fmt.Errorf("unknown target %q; the presets are %s, or write llvm -mtriple=TRIPLE [-mcpu=CPU] [-mattr=+feature,...]",
			s, strings.Join(PresetNames(), ", "))
	}
	t := Target{Name: "custom"}
	for _, f := range fields[1:] {
		key, val, ok := strings.Cut(f, "=")
		if !ok || val == "" {
			return Target{}, fmt.Errorf("target %q: %q is not an option of the form -key=value", s, f)
		}
		switch key {
		case "-mtriple":
			t.Triple = val
		case "-mcpu":
			t.CPU = val
		case "-mattr":
			t.Features = val
		default:
			return Target{}, fmt.Errorf("target %q: unknown option %s; the options are -mtriple, -mcpu, -mattr", s, key)
		}
	}
	switch t.Arch() {
	case "":
		return Target{}, fmt.Errorf("target %q: -mtriple is missing (e.g. -mtriple=x86_64-pc-linux-gnu)", s)
	case "x86_64":
		t.VectorBits = 128
		if t.HasFeature("avx2") || slices.Contains([]string{"haswell", "skylake", "znver2", "znver3", "x86-64-v3"}, t.CPU) {
			t.VectorBits = 256
		}
		if t.HasFeature("avx512f") || slices.Contains([]string{"skylake-avx512", "icelake-server", "x86-64-v4"}, t.CPU) {
			t.VectorBits = 512
		}
	case "aarch64":
		t.VectorBits = 128
	default:
		return Target{}, fmt.Errorf("target %q: architecture %s is not supported; Tide generates code for x86_64 and aarch64", s, t.Arch())
	}
	return t, nil
}
