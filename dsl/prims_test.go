package dsl

import (
	"strings"
	"testing"
)

// The primitive table is the one description of the primitives: each
// entry's usage, which every message about it quotes, must agree with its
// results and parameters.
func TestPrimitiveTable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range primitives {
		if seen[s.name] {
			t.Errorf("%s: two entries", s.name)
		}
		seen[s.name] = true
		if s.apply == nil {
			t.Errorf("%s: no apply function", s.name)
		}
		lhs, call, ok := strings.Cut(s.usage, " = ")
		if !ok {
			lhs, call = "", s.usage
		}
		if !strings.HasPrefix(call, s.name+"(") {
			t.Errorf("%s: usage %q does not show a call of %s", s.name, s.usage, s.name)
		}
		if n := len(strings.Split(lhs, ", ")); lhs != "" && n != len(s.results) || lhs == "" && len(s.results) != 0 {
			t.Errorf("%s: usage %q names %q, but the primitive gives %d result(s)", s.name, s.usage, lhs, len(s.results))
		}
		if s.makesStage && len(s.results) != 1 {
			t.Errorf("%s makes a stage, so it needs one result to name it", s.name)
		}
		rest := false
		for _, p := range s.params {
			if rest {
				t.Errorf("%s: parameter %s comes after the rest parameter", s.name, p.name)
			}
			rest = p.use == restParam
		}
	}
}
