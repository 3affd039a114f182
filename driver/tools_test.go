package driver

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tide-compiler/tide/llvmgen"
)

// requireTools makes a missing tool a failure where the project's test
// command runs (it installs them and sets TIDE_REQUIRE_TOOLS=1), and a skip
// naming the package elsewhere.
func requireTools(t *testing.T, tools ...Tool) {
	t.Helper()
	for _, tool := range tools {
		if _, err := tool.Path(); err != nil {
			if os.Getenv("TIDE_REQUIRE_TOOLS") != "" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
}

// A hand-written kernel (what llvmgen will produce, in miniature) and a C
// harness: the toolchain compiles, links and runs it on both targets.
const addOneLL = `define void @add_one(float* noalias %a, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %p = getelementptr float, float* %a, i64 %i
  %v = load float, float* %p
  %w = fadd float %v, 1.0
  store float %w, float* %p
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
`

const harnessC = `#include <stdio.h>
void add_one(float *a, long n);
int main(void) {
    float a[5] = {0, 1, 2, 3, 4.5f};
    add_one(a, 5);
    for (int i = 0; i < 5; i++) printf("%g ", a[i]);
    printf("\n");
    return 0;
}
`

func TestToolchainBothTargets(t *testing.T) {
	for _, name := range []string{"x86-64", "cortex-a53"} {
		t.Run(name, func(t *testing.T) {
			tgt, err := llvmgen.ParseTarget(name)
			if err != nil {
				t.Fatal(err)
			}
			tools := []Tool{Clang, linker(tgt)}
			if !Native(tgt) {
				tools = append(tools, QEMU)
			}
			requireTools(t, tools...)
			dir := t.TempDir()
			ll, c := filepath.Join(dir, "k.ll"), filepath.Join(dir, "h.c")
			os.WriteFile(ll, []byte(addOneLL), 0o644)
			os.WriteFile(c, []byte(harnessC), 0o644)
			ko, ho, exe := filepath.Join(dir, "k.o"), filepath.Join(dir, "h.o"), filepath.Join(dir, "prog")
			if err := Compile(tgt, ll, ko); err != nil {
				t.Fatal(err)
			}
			if err := CompileC(tgt, c, ho); err != nil {
				t.Fatal(err)
			}
			if err := Link(tgt, exe, []string{ko, ho}); err != nil {
				t.Fatal(err)
			}
			out, err := Run(tgt, exe)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(out); got != "1 2 3 4 5.5" {
				t.Errorf("output %q, want 1 2 3 4 5.5", got)
			}
		})
	}
}

func TestMissingToolNamesPackage(t *testing.T) {
	_, err := Tool{"tide-no-such-tool", "tide-pkg"}.Path()
	var me *MissingError
	if !errors.As(err, &me) || err.Error() != "tide-no-such-tool is not installed; install it with: apt-get install tide-pkg" {
		t.Errorf("got %v", err)
	}
}

// CountWork against counts made by hand from the instruction set manuals.
func TestCountWork(t *testing.T) {
	for _, c := range []struct {
		body []string
		want LoopWork
	}{
		{[]string{"\tfmla\tv0.4s, v1.4s, v2.s[0]", "\tfmla\tv3.2d, v1.2d, v2.2d", "\tfadd\tv4.4s, v4.4s, v5.4s", "\tfmadd\ts0, s1, s2, s0", "\tldr\tq1, [x8], #16", "\tadd\tx9, x9, #1"},
			LoopWork{Flops: 8 + 4 + 4 + 2}},
		{[]string{"\tcnt\tv1.16b, v1.16b", "\tcnt\tv2.8b, v2.8b", "\tuadalp\tv0.8h, v1.16b", "\teor\tv1.16b, v3.16b, v4.16b"},
			LoopWork{PopcountBits: 128 + 64, PopcountInsns: 2}},
		{[]string{"\tvfmadd231ps\t%ymm1, %ymm2, %ymm0", "\tvfmadd231ss\t%xmm1, %xmm2, %xmm0", "\tvaddps\t%xmm1, %xmm2, %xmm3", "\tvmulpd\t%ymm1, %ymm2, %ymm3", "\taddq\t$4, %rax"},
			LoopWork{Flops: 16 + 2 + 4 + 4}},
		{[]string{"\tpopcntq\t%rax, %rcx", "\tpopcntl\t%eax, %ecx"},
			LoopWork{PopcountBits: 64 + 32, PopcountInsns: 2}},
	} {
		if got := CountWork(c.body); got != c.want {
			t.Errorf("%q: got %+v, want %+v", c.body, got, c.want)
		}
	}
}

// InnermostLoops takes clang's loop comments over the layout: .LBB0_4 is
// placed before its predecessor .LBB0_6, whose branch to it is backward in
// the listing but no loop; .LBB0_2 is an innermost loop, and so is .LBB1_7,
// whose latch .LBB1_6 comes before it and returns to it by falling
// through (a padded copy's loop looks so). Without loop comments every
// backward branch counts (the old reading), and a loop around another is
// never innermost.
func TestInnermostLoopsFollowLoopComments(t *testing.T) {
	listing := `f:
.LBB0_1:                                // %outer
                                        // =>This Loop Header: Depth=1
                                        //     Child Loop BB0_2 Depth 2
	mov	x1, #0
.LBB0_2:                                // %inner
                                        //   Parent Loop BB0_1 Depth=1
                                        // =>  This Inner Loop Header: Depth=2
	fmla	v0.4s, v1.4s, v2.4s
	subs	x1, x1, #1
	b.ne	.LBB0_2
.LBB0_4:                                // %then
                                        //   in Loop: Header=BB0_1 Depth=1
	str	q0, [x0]
	b	.LBB0_7
.LBB0_6:                                // %else
                                        //   in Loop: Header=BB0_1 Depth=1
	cmp	x2, #8
	b.hs	.LBB0_4
.LBB0_7:
	subs	x3, x3, #1
	b.ne	.LBB0_1
	ret
g:
// %bb.0:
	mov	x13, xzr
	b	.LBB1_7
.LBB1_6:                                // %latch
                                        //   in Loop: Header=BB1_7 Depth=1
	add	x13, x13, #1
	cmp	x13, #58
	b.eq	.LBB1_9
.LBB1_7:                                // %header
                                        // =>This Inner Loop Header: Depth=1
	cbz	x13, .LBB1_6
// %bb.8:                               //   in Loop: Header=BB1_7 Depth=1
	ldr	s1, [x12]
	b	.LBB1_6
.LBB1_9:
	ret
`
	keys := func(m map[string][]string) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	loops := InnermostLoops(listing)
	if got := keys(loops); !slices.Equal(got, []string{".LBB0_2", ".LBB1_7"}) {
		t.Errorf("with loop comments: %v, want [.LBB0_2 .LBB1_7]", got)
	}
	if n := len(loops[".LBB1_7"]); n != 6 {
		t.Errorf(".LBB1_7 has %d instructions, want its latch's, header's and body's 6: %q", n, loops[".LBB1_7"])
	}
	var bare []string
	for _, l := range strings.Split(listing, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "//") {
			bare = append(bare, regexp.MustCompile(`\s*//.*$`).ReplaceAllString(l, ""))
		}
	}
	if got := keys(InnermostLoops(strings.Join(bare, "\n"))); !slices.Equal(got, []string{".LBB0_2", ".LBB0_4", ".LBB1_6"}) {
		t.Errorf("without loop comments: %v, want [.LBB0_2 .LBB0_4 .LBB1_6]", got)
	}
}

// host is this machine as clang sees it: the triple's architecture is the
// one Go runs on, and a kernel built for it runs natively.
func TestHostTarget(t *testing.T) {
	requireTools(t, Clang)
	h, err := ParseTarget("host")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	if h.Name != "host" || h.Arch() != want || h.CPU == "" || !Native(h) {
		t.Errorf("host target %+v; want a native %s target with a CPU", h, want)
	}
	if x, err := ParseTarget("x86-64"); err != nil || x.CPU != "haswell" {
		t.Errorf("presets pass through: %+v, %v", x, err)
	}
}
