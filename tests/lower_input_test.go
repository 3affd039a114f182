package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/lower"
	"github.com/tide-compiler/tide/schedule"
	"github.com/tide-compiler/tide/te"
)

// graphSnapshot records a kernel's te graph and its schedule as text, and
// every shape and body expression by identity: an in-place rewrite that
// prints alike is caught too.
type graphSnapshot struct {
	text  []string
	nodes []te.Expr
}

func snapshot(k *te.Kernel, s *schedule.Schedule) graphSnapshot {
	var g graphSnapshot
	for _, t := range te.PostOrder(k.Outputs) {
		g.text = append(g.text, fmt.Sprintf("%s %v %s = %s", t.Name, t.DType, te.ShapeString(t.Shape), te.ExprString(t.Body)))
		g.nodes = append(g.nodes, t.Shape...)
		g.nodes = append(g.nodes, t.Body)
	}
	for _, st := range s.Stages {
		var leaves []string
		for _, a := range st.Leaf {
			leaves = append(leaves, fmt.Sprintf("%s:%v", a.Name(), a.Ann))
		}
		g.text = append(g.text, fmt.Sprintf("stage %s: %s = %s; loops %s; %d relations; attach %d",
			st.Tensor.Name, te.ShapeString(st.Tensor.Shape), te.ExprString(st.Body), strings.Join(leaves, " "), len(st.Rels), st.Attach))
		g.nodes = append(g.nodes, st.Body)
	}
	return g
}

// Issue 13: lowering must not change its input. It used to put a tensor's
// Shape slice into a buffer that the simplifier then rewrote in place (an
// intermediate's n + 0 became n). Every example and golden program is
// lowered twice; the graph, the schedule and the loop IR stay the same.
func TestLoweringLeavesItsInputAlone(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.te")
	golden, _ := filepath.Glob("testdata/lower/*.te")
	files = append(files, golden...)
	files = append(files, "inline:shape n + 0")
	for _, path := range files {
		var src []byte
		if path == "inline:shape n + 0" {
			src = []byte(`n = var(default=10)
A = placeholder((n,), float32)
B = compute((n + 0,), (i) => A[i] * 2.0)
C = compute((n,), (i) => B[i] + 1.0)
kernel k(A, n) -> C
`)
		} else {
			var err error
			if src, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
		p, err := dsl.Parse(path, src)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		before := snapshot(p.Kernel, p.Schedule)
		first, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		after := snapshot(p.Kernel, p.Schedule)
		if d := cmp.Diff(before.text, after.text); d != "" {
			t.Errorf("%s: lowering changed the graph or schedule (-before +after):\n%s", path, d)
		}
		for i := range before.nodes {
			if before.nodes[i] != after.nodes[i] {
				t.Errorf("%s: lowering replaced %s by %s in place", path, te.ExprString(before.nodes[i]), te.ExprString(after.nodes[i]))
			}
		}
		second, _, err := lower.Lower(p.Kernel, p.Schedule, nil)
		if err != nil {
			t.Fatalf("%s: second lowering: %v", path, err)
		}
		if first.String() != second.String() {
			t.Errorf("%s: lowering twice gives different IR:\n%s\n%s", path, first, second)
		}
	}
}
