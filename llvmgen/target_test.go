package llvmgen

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	cases := []struct {
		in                string
		triple, cpu, attr string
		bits              int
	}{
		{"x86-64", "x86_64-pc-linux-gnu", "haswell", "+avx2,+fma,+popcnt", 256},
		{"cortex-a53", "aarch64-unknown-linux-gnu", "cortex-a53", "+neon", 128},
		{"llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a53 -mattr=+neon", "aarch64-linux-gnu", "cortex-a53", "+neon", 128},
		{"llvm -mtriple=x86_64-linux-gnu -mattr=+avx2,+fma", "x86_64-linux-gnu", "", "+avx2,+fma", 256},
		{"llvm -mtriple=x86_64-linux-gnu", "x86_64-linux-gnu", "", "", 128},
	}
	for _, c := range cases {
		got, err := ParseTarget(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got.Triple != c.triple || got.CPU != c.cpu || got.Features != c.attr || got.VectorBits != c.bits {
			t.Errorf("%s: got %+v", c.in, got)
		}
	}
	if _, err := ParseTarget("host"); err == nil || !strings.Contains(err.Error(), "driver.ParseTarget") {
		t.Errorf("host: %v; llvmgen runs no tools, so the driver resolves host", err)
	}
}

func TestParseTargetErrors(t *testing.T) {
	cases := map[string]string{
		"arm":                                    `unknown target "arm"; the presets are cortex-a53, host, x86-64`,
		"llvm -mcpu=cortex-a53":                  "-mtriple is missing",
		"llvm -mtriple=riscv64-linux-gnu":        "architecture riscv64 is not supported",
		"llvm -mtriple=x86_64-linux-gnu -O3":     `"-O3" is not an option of the form -key=value`,
		"llvm -mtriple=x86_64-linux-gnu -mfoo=1": "unknown option -mfoo",
	}
	for in, want := range cases {
		_, err := ParseTarget(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}

// A target's features, as the schedules and the code generator read them:
// only the ones turned on, by whole name (avx512f is not avx512fp16).
func TestTargetFeatures(t *testing.T) {
	tgt := Target{Features: "+avx2, +avx512fp16,-avx512bw,+fma"}
	if got, want := strings.Join(tgt.FeatureNames(), " "), "avx2 avx512fp16 fma"; got != want {
		t.Errorf("FeatureNames: %q, want %q", got, want)
	}
	for name, want := range map[string]bool{"avx2": true, "fma": true, "avx512f": false, "avx512bw": false, "avx512fp16": true} {
		if tgt.HasFeature(name) != want {
			t.Errorf("HasFeature(%s) = %v, want %v", name, !want, want)
		}
	}
	if !tgt.disablesFeature("avx512bw") || tgt.disablesFeature("avx2") {
		t.Errorf("disablesFeature: want avx512bw off and avx2 not")
	}
	if got := (Target{}).FeatureNames(); len(got) != 0 {
		t.Errorf("no features: %q", got)
	}
}
