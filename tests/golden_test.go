package tests

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tide-compiler/tide/lower"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestLoweredGolden")

// TestLoweredGolden lowers each testdata/lower/*.te file and compares the
// loop IR, the diagnostics and the allocation statistics with the .golden
// file next to it (go test ./tests -run Golden -update rewrites them after
// a deliberate change: review the diff). Each program is also run in the
// interpreter against the reference evaluator, so a golden file never
// freezes a wrong program.
func TestLoweredGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/lower/*.te")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".te"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f, diags := lowerAndCompare(t, string(src), nil)
			var b strings.Builder
			b.WriteString(f.String())
			for _, d := range diags {
				fmt.Fprintf(&b, "%s\n", d)
			}
			b.WriteString(lower.StatsString(f))
			got := b.String()
			golden := strings.TrimSuffix(file, ".te") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./tests -run Golden -update to create it)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("lowered IR differs from %s (-want +got):\n%s", golden, d)
			}
		})
	}
}
