package tests

// The oneDNN whole-network baseline (driver.TranslateOneDNN and its C++
// harness) against the reference evaluator: the float twins of both
// networks at a small image, on the host's ISA and limited to AVX2 (where
// oneDNN picks other layouts: 8-channel blocks). oneDNN is an independent
// implementation: the translation only folds weights (batch norm into the
// convolutions, a per-class scale into the dense layer) and names
// primitives.

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/driver"
	"github.com/tide-compiler/tide/dsl"
	"github.com/tide-compiler/tide/graph"
	"github.com/tide-compiler/tide/te"
	"github.com/tide-compiler/tide/tensorio"
)

// onednnLoad parses a float network file with -D IMAGE, draws its inputs
// (the image, then the weights) with a seed, and returns its translation
// for oneDNN, the image, and the reference evaluator's output.
func onednnLoad(t *testing.T, file string, image int64) (n *driver.OneDNNNetwork, img, want *te.Buffer) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := dsl.ParseWith(file, src, dsl.Options{Defines: map[string]int64{"IMAGE": image}})
	if err != nil {
		t.Fatal(err)
	}
	bufs, _, err := tensorio.Inputs(prog.Kernel, nil, "", 7)
	if err != nil {
		t.Fatal(err)
	}
	out, err := te.EvalKernel(prog.Kernel, bufs, nil)
	if err != nil {
		t.Fatal(err)
	}
	net := graph.NetworkOf(prog.Kernel, prog.Weights)
	if n, err = driver.TranslateOneDNN(net.Name, net.Inputs, net.Weights, bufs[len(net.Inputs):], net.Outputs); err != nil {
		t.Fatal(err)
	}
	return n, bufs[0], out[0]
}

// onednnClose compares two float outputs elementwise, relative to each
// value (softmax outputs are all small) with a floor at a ten-thousandth
// of the largest: float32 sums in other orders over twenty layers.
func onednnClose(got, want *te.Buffer) error {
	if got.Len() != want.Len() {
		return fmt.Errorf("%d values, want %d", got.Len(), want.Len())
	}
	largest := 0.0
	for _, w := range want.Floats {
		largest = max(largest, math.Abs(w))
	}
	for i, w := range want.Floats {
		if g := got.Floats[i]; !(math.Abs(g-w) <= 1e-3*math.Abs(w)+1e-4*largest) {
			return fmt.Errorf("at %s: got %g, want %g (largest %g)", te.IndexString(want.Shape, i), g, w, largest)
		}
	}
	return nil
}

func TestOneDNNNetworkMatchesEvaluator(t *testing.T) {
	if _, err := os.Stat(driver.OneDNN.Command); err != nil {
		t.Skipf("oneDNN is not installed (%s)", driver.OneDNN.Package)
	}
	cases := []struct {
		file  string
		image int64
		// what the translation must have made of the network
		layers []string
	}{
		{"../examples/networks/resnet18_float.te", 32,
			[]string{"conv F0.", "post=relu", "post=sum:", "inplace=1", "pool M0.", "relu=1", "pool GP.", "dense D."}},
		{"../examples/networks/squeezenet_float.te", 64,
			[]string{"conv F0.", "post=relu", "bn N0.", "concat ", "pool m3.", "softmax Y."}},
	}
	for _, c := range cases {
		n, img, want := onednnLoad(t, c.file, c.image)
		text := strings.Join(n.Layers, "\n")
		for _, s := range c.layers {
			if !strings.Contains(text, s) {
				t.Errorf("%s: the translation has no %q:\n%s", c.file, s, text)
			}
		}
		for _, target := range []string{"host", "x86-64"} {
			t.Run(c.file[strings.LastIndex(c.file, "/")+1:]+"/"+target, func(t *testing.T) {
				tgt, err := driver.ParseTarget(target)
				if err != nil {
					t.Fatal(err)
				}
				_, got, impls, err := n.Bench(tgt, img, t.TempDir(), 1)
				if err != nil {
					t.Fatal(err)
				}
				if err := onednnClose(got, want); err != nil {
					t.Fatalf("oneDNN's output differs from the evaluator's: %v", err)
				}
				all := strings.Join(impls, "\n")
				if strings.Contains(all, "/addend copied") {
					t.Errorf("a sum's addend is copied, not updated in place:\n%s", all)
				}
				// with AVX2 oneDNN computes in 8-channel blocks, where the
				// parts are contiguous: the concatenation is made in place
				if strings.Contains(c.file, "squeezenet") && target == "x86-64" && !strings.Contains(all, "in-place") {
					t.Errorf("no concatenation was made in place:\n%s", all)
				}
			})
		}
	}
}

// TestOneDNNNetworkTeeth: a translation that computes something else is
// caught by the comparison above (one bias off by 0.01), and an operator oneDNN has no primitive for is an error naming
// it, not a wrong baseline.
func TestOneDNNNetworkTeeth(t *testing.T) {
	if _, err := os.Stat(driver.OneDNN.Command); err != nil {
		t.Skipf("oneDNN is not installed (%s)", driver.OneDNN.Package)
	}
	n, img, want := onednnLoad(t, "../examples/networks/squeezenet_float.te", 32)
	n.Weights[len(n.Weights)-1] += 0.01 // the last class's bias (the dense layer's, last in the file)
	tgt, _ := driver.ParseTarget("host")
	_, got, _, err := n.Bench(tgt, img, t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if onednnClose(got, want) == nil {
		t.Fatalf("changed weights still give the evaluator's output: the comparison has no teeth")
	}

	// the binarized network: its bit operations have no oneDNN layer
	src, err := os.ReadFile("../examples/networks/binary_tiny.te")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := dsl.ParseWith("binary_tiny.te", src, dsl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bnet := graph.NetworkOf(bin.Kernel, bin.Weights)
	bb, _, err := tensorio.Inputs(bin.Kernel, nil, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = driver.TranslateOneDNN(bnet.Name, bnet.Inputs, bnet.Weights, bb[len(bnet.Inputs):], bnet.Outputs)
	if err == nil || !strings.Contains(err.Error(), "onednn") {
		t.Fatalf("translating a binarized network: got %v, want an error naming the operator", err)
	}
	t.Logf("binarized network: %v", err)
}
