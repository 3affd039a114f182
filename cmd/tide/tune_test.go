package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/tune"
)

// A small kernel with three knobs: two that change only the schedule, and
// SCALE, which changes what it computes (any value but 1 is wrong), and
// FACTOR, whose 0 is not a legal split (a build error).
const knobKernel = `N = 96
TILE = knob(8, 4, 32)
FACTOR = knob(4, 0, 2)
SCALE = knob(1, 3)
A = placeholder((N, N), float32)
B = compute((N, N), (i, j) => A[i, j] * 2.0 * SCALE + A[j, i])
kernel twice(A) -> B
schedule B {
    io, ii = split(i, factor=TILE)
    jo, ji = split(j, factor=FACTOR)
    vectorize(ji)
}
`

func writeKnobKernel(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "knobs.te")
	if err := os.WriteFile(path, []byte(knobKernel), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTune: every configuration is tried (grid over a space of 18), the
// wrong and unbuildable ones are logged with their status and never
// chosen, the best is at least as fast as the default (measured first),
// and --tuned applies it: the tuned kernel still computes the reference's
// outputs on both targets.
func TestTune(t *testing.T) {
	requireTools(t)
	src := writeKnobKernel(t)
	logPath := filepath.Join(t.TempDir(), "tune.jsonl")
	status, stdout, stderr := tide(t, "tune", src, "--target", "x86-64", "--log", logPath, "--search", "grid", "--trials", "100", "--repeat", "3")
	if status != 0 {
		t.Fatalf("tune: status %d\n%s%s", status, stdout, stderr)
	}
	for _, want := range []string{"3 knob(s)", "18 configuration(s)", "every configuration has been measured", "best: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("tune's output lacks %q:\n%s", want, stdout)
		}
	}
	recs, warns, err := tune.ReadLog(logPath)
	if err != nil || len(warns) > 0 || len(recs) != 18 {
		t.Fatalf("the log: %d records, %v, %v; want 18", len(recs), warns, err)
	}
	var best *tune.Record
	var def float64
	for i, r := range recs {
		want := tune.OK
		switch {
		case r.Config["FACTOR"] == 0:
			want = tune.BuildError
		case r.Config["SCALE"] != 1:
			want = tune.Wrong
		}
		if r.Status != want {
			t.Errorf("%s: status %s (%s), want %s", r.Config, r.Status, r.Error, want)
		}
		if i == 0 && r.Config.String() != "FACTOR=4 SCALE=1 TILE=8" {
			t.Errorf("the first measurement is %s, want the default", r.Config)
		}
		if i == 0 {
			def = r.Cost
		}
		if r.Status == tune.OK && (best == nil || r.Cost < best.Cost) {
			best = &recs[i]
		}
	}
	m := regexp.MustCompile(`best: (.*?), `).FindStringSubmatch(stdout)
	if best == nil || m == nil || m[1] != best.Config.String() || best.Cost > def {
		t.Fatalf("tune chose %q; the log's fastest working record is %v (the default took %g s)", m, best, def)
	}
	// the record applies on this target, and the tuned kernel is right
	status, stdout, stderr = tide(t, "run", src, "--target", "x86-64", "--tuned", logPath)
	if status != 0 || !strings.Contains(stderr, "applying "+best.Config.String()) {
		t.Fatalf("run --tuned: status %d\n%s%s", status, stdout, stderr)
	}
	// not on another target: the knobs keep their defaults, with a message
	status, stdout, stderr = tide(t, "run", src, "--target", "cortex-a53", "--tuned", logPath)
	if status != 0 || !strings.Contains(stderr, "no working record of twice on cortex-a53") || !strings.Contains(stderr, "not for this workload were ignored (e.g. target x86-64, not cortex-a53)") {
		t.Fatalf("run --tuned on another target: status %d\n%s%s", status, stdout, stderr)
	}
	// nor at another shape
	status, _, stderr = tide(t, "lower", src, "-D", "N=64", "--target", "x86-64", "--tuned", logPath)
	if status != 0 || !strings.Contains(stderr, "e.g. shapes A:float32(96, 96) -> B:float32(96, 96), not A:float32(64, 64) -> B:float32(64, 64)") {
		t.Fatalf("lower --tuned at another shape: status %d\n%s", status, stderr)
	}
}

// TestTuneEstimateAndResume: on cortex-a53 the cost is llvm-mca's estimate
// (cycles, said so), a second run resumes from the log without measuring a
// configuration twice, and the chosen record runs correctly under qemu.
func TestTuneEstimateAndResume(t *testing.T) {
	requireTools(t)
	src := writeKnobKernel(t)
	logPath := filepath.Join(t.TempDir(), "tune.jsonl")
	args := []string{"tune", src, "--target", "cortex-a53", "--log", logPath, "-D", "FACTOR=4", "-D", "SCALE=1", "--trials", "2"}
	status, stdout, stderr := tide(t, args...)
	if status != 0 || !strings.Contains(stdout, "ESTIMATE") || !strings.Contains(stdout, "pinned by -D: FACTOR=4 SCALE=1") {
		t.Fatalf("tune: status %d\n%s%s", status, stdout, stderr)
	}
	status, stdout, stderr = tide(t, append(args, "--search", "random")...)
	if status != 0 || !strings.Contains(stdout, "already holds 2 measurement(s)") || !strings.Contains(stdout, "every configuration has been measured") {
		t.Fatalf("resumed tune: status %d\n%s%s", status, stdout, stderr)
	}
	recs, _, _ := tune.ReadLog(logPath)
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.Config.String()] || r.Unit != tune.Cycles || r.Status != tune.OK || r.Target != "cortex-a53" {
			t.Errorf("record %+v: repeated, or not an estimate that worked", r)
		}
		seen[r.Config.String()] = true
	}
	if len(recs) != 3 {
		t.Errorf("%d records, want TILE's 3 values", len(recs))
	}
	status, stdout, stderr = tide(t, "run", src, "--target", "cortex-a53", "--tuned", logPath)
	if status != 0 || !strings.Contains(stderr, "--tuned "+logPath+": applying ") {
		t.Fatalf("run --tuned: status %d\n%s%s", status, stdout, stderr)
	}
}

// TestTuneNetworkOwnKnobs: a network file's own knob (the packing word's
// bits) is searched first by the whole network's time, the groups are
// tuned with its best value, and --tuned applies both; the network still
// computes the reference's outputs.
func TestTuneNetworkOwnKnobs(t *testing.T) {
	requireTools(t)
	src, err := os.ReadFile("../../examples/networks/binary_tiny.te")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(src), "word=uint8", "word=WB")
	text = strings.Replace(text, "CW = (C + 7) / 8", "WB = knob(8, 32, 16)\nCW = (C + WB - 1) / WB", 1)
	if text == string(src) || !strings.Contains(text, "WB = knob") {
		t.Fatal("binary_tiny.te changed: the test's edits no longer apply")
	}
	net := filepath.Join(t.TempDir(), "wtiny.te")
	os.WriteFile(net, []byte(text), 0o644)
	logPath := filepath.Join(t.TempDir(), "tune.jsonl")
	status, stdout, stderr := tide(t, "tune", net, "--target", "x86-64", "--log", logPath, "--search", "grid", "--trials", "3", "--threads", "1", "--repeat", "2")
	if status != 0 || !strings.Contains(stdout, "own knobs (WB) by the whole network's time") || !strings.Contains(stdout, "3 group(s) with knobs") {
		t.Fatalf("tune: status %d\n%s%s", status, stdout, stderr)
	}
	recs, _, _ := tune.ReadLog(logPath)
	words := map[int64]bool{}
	for _, r := range recs {
		if r.Kernel == "tiny" && r.Status == tune.OK {
			words[r.Config["WB"]] = true
		}
	}
	if len(words) != 3 {
		t.Errorf("network records for WB %v, want 8, 16 and 32", words)
	}
	// the confirmation may find the default as fast as the best (timings
	// drift): then the groups are tuned with the default, and --tuned
	// keeps it for the network, whichever WB was fastest in the search
	applied := "applying the network's WB="
	if strings.Contains(stdout, "the default was as fast") {
		applied = "the groups were tuned with the network's default knobs, which stay"
	}
	tuneOut := stdout
	status, stdout, stderr = tide(t, "run", net, "--target", "x86-64", "--tuned", logPath)
	if status != 0 || !strings.Contains(stderr, applied) || !strings.Contains(stderr, "applying the best records of 3 group(s)") ||
		strings.Contains(stderr, "not for this workload") || !strings.Contains(stdout, "PASS") {
		t.Fatalf("run --tuned: status %d, want %q\n%s%s\n(tune said:\n%s)", status, applied, stdout, stderr, tuneOut)
	}
}

// TestTunedNeverPicksAFailedRecord: a log whose fastest-looking records
// failed (wrong output, build error) or come from elsewhere applies its
// slower working one.
func TestTunedNeverPicksAFailedRecord(t *testing.T) {
	src := writeKnobKernel(t)
	logPath := filepath.Join(t.TempDir(), "tune.jsonl")
	status, _, stderr := tide(t, "check", src)
	if status != 0 {
		t.Fatal(stderr)
	}
	w := "A:float32(96, 96) -> B:float32(96, 96)"
	rec := func(cfg tune.Config, cost float64, st tune.Status) tune.Record {
		return tune.Record{Target: "cortex-a53", CPU: "cortex-a53", Kernel: "twice", Workload: w, Config: cfg, Cost: cost, Unit: tune.Cycles, Status: st}
	}
	for _, r := range []tune.Record{
		rec(tune.Config{"TILE": 32, "FACTOR": 2, "SCALE": 1}, 9000, tune.OK),
		rec(tune.Config{"TILE": 4, "FACTOR": 2, "SCALE": 3}, 0, tune.Wrong),
		rec(tune.Config{"TILE": 4, "FACTOR": 0, "SCALE": 1}, 0, tune.BuildError),
		rec(tune.Config{"TILE": 8, "FACTOR": 4, "SCALE": 1}, 100, tune.OK), // another kernel's
	} {
		if r.Cost == 100 {
			r.Kernel = "other"
		}
		if err := tune.Append(logPath, r); err != nil {
			t.Fatal(err)
		}
	}
	status, stdout, stderr := tide(t, "lower", src, "--target", "cortex-a53", "--tuned", logPath)
	if status != 0 || !strings.Contains(stderr, "applying FACTOR=2 SCALE=1 TILE=32") {
		t.Fatalf("lower --tuned: status %d\n%s", status, stderr)
	}
	// the split by 32 is in the loops
	if !strings.Contains(stdout, "for (ii, 0, 32)") {
		t.Errorf("the tuned TILE=32 is not in the loop IR:\n%s", stdout)
	}
	// errors: no knobs, no log line to parse, and no log file at all
	os.WriteFile(logPath, []byte("{not json}\n"+strconv.Quote("x")+"\n"), 0o644)
	if status, _, stderr := tide(t, "lower", src, "--tuned", logPath); status != 1 || !strings.Contains(stderr, "tune.jsonl:1: not a tuning record") {
		t.Errorf("a damaged log: status %d, %s", status, stderr)
	}
	if status, _, stderr := tide(t, "lower", "../../examples/elementwise.te", "--tuned", logPath); status != 1 || !strings.Contains(stderr, "declares no knobs") {
		t.Errorf("a file without knobs: status %d, %s", status, stderr)
	}
	if status, _, stderr := tide(t, "tune", "../../examples/elementwise.te", "--log", logPath); status != 1 || !strings.Contains(stderr, "declares no knobs: declare one as NAME = knob(8, 4, 16)") {
		t.Errorf("tune of a file without knobs: status %d, %s", status, stderr)
	}
	if status, _, stderr := tide(t, "tune", src, "--network", "--log", logPath); status != 1 || !strings.Contains(stderr, "--network: "+src+" declares a kernel, not a network") {
		t.Errorf("tune --network of a kernel: status %d, %s", status, stderr)
	}
	if status, _, stderr := tide(t, "lower", src, "--tuned", filepath.Join(t.TempDir(), "missing.jsonl")); status != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("a missing log: status %d, %s", status, stderr)
	}
}

// TestTuneNetwork: a network is tuned group by group: each round's build
// is checked against the evaluator, each group with knobs gets a record
// per round, and --tuned applies every group's best; the tuned network
// still computes the reference's outputs, on both targets.
func TestTuneNetwork(t *testing.T) {
	requireTools(t)
	for _, target := range []string{"x86-64", "cortex-a53"} {
		t.Run(target, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "tune.jsonl")
			net := "../../examples/networks/binary_tiny.te"
			status, stdout, stderr := tide(t, "tune", net, "--network", "--target", target, "--log", logPath, "--trials", "2", "--threads", "1", "--repeat", "2")
			if status != 0 || !strings.Contains(stdout, "3 group(s) with knobs") || !strings.Contains(stdout, "network tiny: default ") {
				t.Fatalf("tune: status %d\n%s%s", status, stdout, stderr)
			}
			recs, _, err := tune.ReadLog(logPath)
			if err != nil || len(recs) != 6 {
				t.Fatalf("%d records, %v; want 3 groups x 2 rounds", len(recs), err)
			}
			groups := map[string]int{}
			for _, r := range recs {
				if r.Status != tune.OK || !strings.HasPrefix(r.Kernel, "tiny/") || r.Target != target {
					t.Errorf("record %+v", r)
				}
				groups[r.Kernel]++
				for name := range r.Config {
					if !strings.HasPrefix(name, strings.TrimPrefix(r.Kernel, "tiny/")+"_") {
						t.Errorf("group %s's record holds knob %s", r.Kernel, name)
					}
				}
			}
			if len(groups) != 3 {
				t.Errorf("records for groups %v, want 3 groups", groups)
			}
			status, stdout, stderr = tide(t, "run", net, "--target", target, "--tuned", logPath)
			if status != 0 || !strings.Contains(stderr, "applying the best records of 3 group(s)") || !strings.Contains(stdout, "PASS") {
				t.Fatalf("run --tuned: status %d\n%s%s", status, stdout, stderr)
			}
		})
	}
}

// TestTuneSymbolicSizes: a kernel with a symbolic dimension is measured at
// the --set size (each candidate is elaborated anew, its dimensions new
// variables), and a run error is tried again when the search resumes.
func TestTuneSymbolicSizes(t *testing.T) {
	requireTools(t)
	src := filepath.Join(t.TempDir(), "sym.te")
	os.WriteFile(src, []byte(`n = var(default=100)
F = knob(8, 4)
A = placeholder((n,), float32)
B = compute((n,), (i) => A[i] * 2.0)
kernel twice(A) -> B
schedule B {
    io, ii = split(i, factor=F)
    vectorize(ii)
}
`), 0o644)
	logPath := filepath.Join(t.TempDir(), "tune.jsonl")
	// a run error in the log (as a machine problem would leave) is retried
	tune.Append(logPath, tune.Record{Target: "x86-64", CPU: workloadCPU(t), Kernel: "twice", Workload: "A:float32(n,) -> B:float32(n,) at n=333",
		Config: tune.Config{"F": 4}, Status: tune.RunError, Error: "killed"})
	status, stdout, stderr := tide(t, "tune", src, "--target", "x86-64", "--set", "n=333", "--log", logPath, "--trials", "5", "--threads", "1")
	if status != 0 || strings.Contains(stdout, "run_error") || !strings.Contains(stdout, "every configuration has been measured") {
		t.Fatalf("tune: status %d\n%s%s", status, stdout, stderr)
	}
	recs, _, _ := tune.ReadLog(logPath)
	ok := 0
	for _, r := range recs {
		if r.Status == tune.OK {
			ok++
		}
	}
	if ok != 2 {
		t.Errorf("%d working records, want both configurations (the run error retried): %+v", ok, recs)
	}
	// the records are for n=333: at the default size they do not apply
	status, _, stderr = tide(t, "run", src, "--target", "x86-64", "--tuned", logPath)
	if status != 0 || !strings.Contains(stderr, "not for this workload were ignored (e.g. shapes A:float32(n,) -> B:float32(n,) at n=333, not A:float32(n,) -> B:float32(n,) at n=100)") {
		t.Errorf("run --tuned at another size: status %d\n%s", status, stderr)
	}
	status, _, stderr = tide(t, "run", src, "--target", "x86-64", "--set", "n=333", "--tuned", logPath)
	if status != 0 || !strings.Contains(stderr, "applying F=") {
		t.Errorf("run --tuned at the tuned size: status %d\n%s", status, stderr)
	}
	// nor to code built otherwise
	status, _, stderr = tide(t, "run", src, "--target", "x86-64", "--set", "n=333", "--fast-math", "--tuned", logPath)
	if status != 0 || !strings.Contains(stderr, `built "", not "fast-math"`) {
		t.Errorf("run --fast-math --tuned of strict records: status %d\n%s", status, stderr)
	}
}

// workloadCPU is the CPU tide tune records for x86-64 on this machine.
func workloadCPU(t *testing.T) string {
	t.Helper()
	host, err := driver.HostTarget()
	if err != nil {
		t.Skip(err)
	}
	return host.CPU
}

// TestMatmulWideTile: the matmul tile AVX-512 takes by default (16 lanes,
// 8x32) is right on both targets, under AddressSanitizer too, at sizes
// that leave tails in every loop (here any machine runs it, not only an
// AVX-512 host).
func TestMatmulWideTile(t *testing.T) {
	requireTools(t)
	shape := []string{"-D", "M=100", "-D", "N=200", "-D", "K=37", "-D", "LANES=16", "-D", "ROWS=8", "-D", "PANEL=32"}
	for _, target := range [][]string{{"--target", "x86-64", "--sanitize"}, {"--target", "cortex-a53"}} {
		args := append(append([]string{"run", "../../examples/matmul.te"}, target...), shape...)
		if status, stdout, stderr := tide(t, args...); status != 0 || !strings.Contains(stdout, "PASS C") {
			t.Errorf("%v: status %d\n%s%s", target, status, stdout, stderr)
		}
	}
}

// TestTuneTolerance: --rtol and --atol hold each candidate's float outputs
// to the reference as tide run does: with both 0 a --fast-math matmul
// (its sums contracted into FMAs, rounded differently) is a wrong output,
// never chosen; with tide run's defaults it is measured.
func TestTuneTolerance(t *testing.T) {
	requireTools(t)
	args := []string{"tune", "../../examples/matmul.te", "-D", "M=64", "-D", "N=64", "-D", "K=64", "--target", "x86-64",
		"--fast-math", "--search", "grid", "--trials", "1", "--repeat", "1"}
	exact := filepath.Join(t.TempDir(), "exact.jsonl")
	status, stdout, stderr := tide(t, append(args, "--log", exact, "--rtol", "0", "--atol", "0")...)
	recs, _, _ := tune.ReadLog(exact)
	if len(recs) == 0 || recs[0].Status != tune.Wrong {
		t.Fatalf("--rtol 0 --atol 0: status %d, records %+v\n%s%s", status, recs, stdout, stderr)
	}
	loose := filepath.Join(t.TempDir(), "loose.jsonl")
	status, stdout, stderr = tide(t, append(args, "--log", loose)...)
	recs, _, _ = tune.ReadLog(loose)
	if status != 0 || len(recs) == 0 || recs[0].Status != tune.OK {
		t.Fatalf("default tolerance: status %d, records %+v\n%s%s", status, recs, stdout, stderr)
	}
	if status, _, stderr := tide(t, append(args, "--log", loose, "--rtol", "-1")...); status == 0 || !strings.Contains(stderr, "--rtol -1") {
		t.Errorf("--rtol -1: status %d\n%s", status, stderr)
	}
}

// TestTuneNetworkFailingDefaults: when a round fails and the network fails
// at its groups' best so far too (here a --fast-math float network held
// to --rtol 0), the tuner stops and says why, instead of rebuilding every
// group's candidate alone to blame each in turn.
func TestTuneNetworkFailingDefaults(t *testing.T) {
	requireTools(t)
	net := filepath.Join(t.TempDir(), "fnet.te")
	os.WriteFile(net, []byte(`X = placeholder((1, 8, 8, 3), float32, range=(0, 1))
W0 = placeholder((3, 3, 3, 32), float32, range=(-0.5, 0.5))
F0 = conv2d(X, W0, layout=NHWC, stride=1, padding=1)
W1 = placeholder((3, 3, 32, 32), float32, range=(-0.5, 0.5))
F1 = conv2d(F0, W1, layout=NHWC, stride=1, padding=1)
network fnet(X) -> F1
`), 0o644)
	logPath := filepath.Join(t.TempDir(), "tune.jsonl")
	status, stdout, stderr := tide(t, "tune", net, "--target", "x86-64", "--fast-math", "--rtol", "0", "--atol", "0",
		"--log", logPath, "--search", "grid", "--trials", "2", "--repeat", "1")
	if status == 0 || !strings.Contains(stderr, "no candidate can be measured") || !strings.Contains(stderr, "loosen --rtol") {
		t.Fatalf("status %d\n%s%s", status, stdout, stderr)
	}
}
