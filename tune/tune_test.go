package tune

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var space2 = Space{
	{Name: "TILE", Values: []int64{8, 1, 2, 4, 16, 32, 64, 128}},
	{Name: "UNROLL", Values: []int64{1, 2, 4, 8, 16, 32, 64, 128}},
}

func TestSpaceIndexing(t *testing.T) {
	n, err := space2.Size()
	if err != nil || n != 64 {
		t.Fatalf("Size = %d, %v; want 64", n, err)
	}
	seen := map[string]bool{}
	for i := int64(0); i < n; i++ {
		c := space2.At(i)
		if j, err := space2.Index(c); err != nil || j != i {
			t.Fatalf("Index(At(%d)) = %d, %v", i, j, err)
		}
		seen[c.String()] = true
	}
	if len(seen) != 64 {
		t.Errorf("%d distinct configurations, want 64", len(seen))
	}
	if got := space2.Default().String(); got != "TILE=8 UNROLL=1" {
		t.Errorf("default %s, want the first values", got)
	}
	// the last knob varies fastest
	if got := space2.At(1).String(); got != "TILE=8 UNROLL=2" {
		t.Errorf("At(1) = %s", got)
	}
}

func TestSpaceErrors(t *testing.T) {
	big := Space{}
	for i := range 12 {
		big = append(big, Knob{Name: string(rune('A' + i)), Values: make([]int64, 16)})
	}
	if _, err := big.Size(); err == nil || !strings.Contains(err.Error(), "pin some with -D") {
		t.Errorf("a space of 16^12 configurations: %v", err)
	}
	if _, err := (Space{{Name: "X"}}).Size(); err == nil {
		t.Error("a knob without values was accepted")
	}
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{"TILE": 8}, "no value for knob UNROLL"},
		{Config{"TILE": 3, "UNROLL": 1}, "TILE=3 is not a candidate of knob TILE (8, 1, 2, 4, 16, 32, 64, 128)"},
		{Config{"TILE": 8, "UNROLL": 1, "X": 2}, "X is not a knob here (the knobs are TILE, UNROLL)"},
	} {
		if err := space2.Check(tc.c); err == nil || err.Error() != tc.want {
			t.Errorf("Check(%v) = %v, want %q", tc.c, err, tc.want)
		}
	}
}

// TestSearchVisitsEachOnce: every strategy proposes the default first and
// then every configuration exactly once, also after failures.
func TestSearchVisitsEachOnce(t *testing.T) {
	for _, st := range Strategies {
		s, err := NewSearch(space2, st, 3)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for k := 0; ; k++ {
			c, ok := s.Next()
			if !ok {
				break
			}
			if k == 0 && c.String() != space2.Default().String() {
				t.Errorf("%s: first proposal %s, want the default", st, c)
			}
			if seen[c.String()] {
				t.Fatalf("%s: %s proposed twice", st, c)
			}
			seen[c.String()] = true
			cost := bowl(c)
			if c["TILE"] == 2 { // failing configurations are not retried either
				cost = 0
			}
			s.Tell(c, cost)
		}
		if len(seen) != 64 || s.Tried() != 64 {
			t.Errorf("%s: %d configurations proposed, %d tried, want 64", st, len(seen), s.Tried())
		}
	}
	if _, err := NewSearch(space2, "xgb", 1); err == nil || !strings.Contains(err.Error(), "model, random, grid") {
		t.Errorf("unknown strategy: %v", err)
	}
}

// bowl is a cost with its minimum at TILE=32, UNROLL=4, smooth in the
// logarithms, as run times over tile sizes often are.
func bowl(c Config) float64 {
	a, b := math.Log2(float64(c["TILE"]))-5, math.Log2(float64(c["UNROLL"]))-2
	return 1e-3 * math.Exp(0.3*a*a+0.2*b*b+0.1*a*b)
}

// TestModelFindsTheMinimum: after its warm-up the model should go to the
// minimum of a smooth cost within a few picks. Random search would need 32
// picks on average; the model must find it within 16 for every seed.
func TestModelFindsTheMinimum(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		s, _ := NewSearch(space2, Model, seed)
		found := -1
		for k := 0; k < 16; k++ {
			c, _ := s.Next()
			if c["TILE"] == 32 && c["UNROLL"] == 4 {
				found = k
				break
			}
			s.Tell(c, bowl(c))
		}
		if found < 0 {
			t.Errorf("seed %d: the model did not propose the minimum in 16 picks", seed)
		}
	}
	// its predictions are the cost where it has measured
	s, _ := NewSearch(space2, Model, 1)
	for i := int64(0); i < 64; i++ {
		s.Tell(space2.At(i), bowl(space2.At(i)))
	}
	c := Config{"TILE": 16, "UNROLL": 8}
	if p, ok := s.Predict(c); !ok || math.Abs(p/bowl(c)-1) > 0.01 {
		t.Errorf("Predict(%s) = %g, %v; the cost is %g", c, p, ok, bowl(c))
	}
}

func TestLogRoundTripAndSelect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tune.jsonl")
	w := Workload{Target: "host", CPU: "znver5", Kernel: "matmul", Shapes: "A:float32[64,64] -> C:float32[64,64]"}
	rec := func(c Config, cost float64, st Status) Record {
		return Record{Target: w.Target, CPU: w.CPU, Kernel: w.Kernel, Workload: w.Shapes, Config: c, Cost: cost, Unit: Seconds, Status: st, When: Now()}
	}
	recs := []Record{
		rec(Config{"TILE": 8, "UNROLL": 1}, 3e-3, OK),
		rec(Config{"TILE": 32, "UNROLL": 4}, 1e-3, OK),
		rec(Config{"TILE": 64, "UNROLL": 4}, 0, Wrong), // would look fastest
		rec(Config{"TILE": 3, "UNROLL": 1}, 1e-4, OK),  // not a candidate any more
	}
	other := rec(Config{"TILE": 16, "UNROLL": 1}, 1e-5, OK)
	other.Target = "x86-64"
	recs = append(recs, other)
	for _, r := range recs {
		if err := Append(path, r); err != nil {
			t.Fatal(err)
		}
	}
	got, warns, err := ReadLog(path)
	if err != nil || len(warns) > 0 {
		t.Fatalf("ReadLog: %v %v", err, warns)
	}
	if d := cmp.Diff(recs, got); d != "" {
		t.Fatalf("the log reads back differently (-wrote +read):\n%s", d)
	}
	best, notes := Select(got, w, space2)
	if best == nil || best.Config.String() != "TILE=32 UNROLL=4" {
		t.Fatalf("Select chose %v, want TILE=32 UNROLL=4", best)
	}
	want := []string{
		"1 record(s) not for this workload were ignored (e.g. target x86-64, not host)",
		"1 record(s) of failed configurations were ignored",
		"1 record(s) whose knobs do not fit the file were ignored (e.g. TILE=3 is not a candidate of knob TILE (8, 1, 2, 4, 16, 32, 64, 128))",
	}
	if d := cmp.Diff(want, notes); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
	// another CPU's host records do not apply
	if best, _ := Select(got, Workload{Target: "host", CPU: "haswell", Kernel: w.Kernel, Shapes: w.Shapes}, space2); best != nil {
		t.Errorf("a record of another CPU was applied: %v", best)
	}
	if _, _, err := ReadLog(filepath.Join(t.TempDir(), "none.jsonl")); err != nil {
		t.Errorf("a missing log is empty, not %v", err)
	}
}

func TestLogDamage(t *testing.T) {
	good := `{"target":"host","cpu":"x","kernel":"k","workload":"w","config":{"T":1},"cost":0.5,"unit":"s","status":"ok","when":"2026-11-30T00:00:00Z"}`
	for _, tc := range []struct {
		name, data, err, warn string
	}{
		{"cut last line", good + "\n" + good[:40], "", "t.jsonl:2: the last line is cut short"},
		{"damaged middle line", good + "\n" + good[:40] + "\n" + good + "\n", "t.jsonl:2: not a tuning record", ""},
		{"unknown field", strings.Replace(good, `"when"`, `"whence"`, 1) + "\n", `unknown field "whence"`, ""},
		{"bad status", strings.Replace(good, `"ok"`, `"fast"`, 1) + "\n", `unknown status "fast"`, ""},
		{"zero cost", strings.Replace(good, `0.5`, `0`, 1) + "\n", "a measured cost must be positive", ""},
		{"two records", good + good + "\n", "more than one record", ""},
	} {
		path := filepath.Join(t.TempDir(), "t.jsonl")
		os.WriteFile(path, []byte(tc.data), 0o644)
		recs, warns, err := ReadLog(path)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.warn != "" && (len(warns) != 1 || !strings.Contains(warns[0], tc.warn) || len(recs) != 1):
			t.Errorf("%s: %d records, warnings %q, want 1 and %q", tc.name, len(recs), warns, tc.warn)
		}
	}
	// a record appended after a cut line: the cut line goes, the log reads
	path := filepath.Join(t.TempDir(), "cut.jsonl")
	os.WriteFile(path, []byte(good+"\n"+good[:40]), 0o644)
	if err := Append(path, Record{Target: "host", Kernel: "k", Status: Wrong}); err != nil {
		t.Fatal(err)
	}
	if recs, warns, err := ReadLog(path); err != nil || len(warns) > 0 || len(recs) != 2 {
		t.Errorf("after a cut line and an append: %d records, %v, %v; want 2, clean", len(recs), warns, err)
	}
	if err := Append(filepath.Join(t.TempDir(), "t.jsonl"), Record{Target: "host", Kernel: "k", Status: OK, Unit: Seconds, Cost: math.Inf(1)}); err == nil {
		t.Error("Append wrote an infinite cost")
	}
}

// FuzzReadLog: any bytes give records or an error, never a panic, and the
// records read are valid ones.
func FuzzReadLog(f *testing.F) {
	f.Add([]byte(`{"target":"host","cpu":"x","kernel":"k","workload":"w","config":{"T":1},"cost":0.5,"unit":"s","status":"ok","when":""}` + "\n"))
	f.Add([]byte("{\n}\n"))
	f.Add([]byte(`{"target":"host","kernel":"k","status":"wrong_output","config":{"T":-9223372036854775808}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _, err := parseLog("f.jsonl", data)
		if err != nil {
			return
		}
		for _, r := range recs {
			if err := r.check(); err != nil {
				t.Fatalf("a record that fails its check was read: %v", err)
			}
		}
		Select(recs, Workload{Target: "host", CPU: "x", Kernel: "k", Shapes: "w"}, Space{{Name: "T", Values: []int64{1, 2}}})
	})
}
