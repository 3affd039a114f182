// Package driver calls the tools around generated code: clang to compile
// LLVM IR for a target, a C compiler to link (the aarch64 cross compiler for
// cortex-a53), qemu-aarch64 to run aarch64 programs on other machines, and
// llvm-mca for static estimates. A missing tool is an error that names the
// Debian package to install.
package driver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/llir/llvm/ir"

	"github.com/tide-compiler/tide/llvmgen"
)

// Tool is an external command and the Debian package that provides it.
type Tool struct {
	Command string
	Package string
}

// The tools Tide uses.
var (
	Clang    = Tool{"clang", "clang"}
	GCC      = Tool{"gcc", "gcc"}
	CrossGCC = Tool{"aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu libc6-dev-arm64-cross"}
	QEMU     = Tool{"qemu-aarch64", "qemu-user"}
	MCA      = Tool{"llvm-mca", "llvm"}
	Opt      = Tool{"opt", "llvm"}
)

// MissingError says which tool is missing and how to install it.
type MissingError struct{ Tool Tool }

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s is not installed; install it with: apt-get install %s", e.Tool.Command, e.Tool.Package)
}

// Path finds the tool on PATH.
func (t Tool) Path() (string, error) {
	p, err := exec.LookPath(t.Command)
	if err != nil {
		return "", &MissingError{t}
	}
	return p, nil
}

// run runs a tool and returns its stdout; a failure carries the command
// line and stderr.
func run(t Tool, args ...string) (string, error) {
	p, err := t.Path()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(p, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", t.Command, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Native reports whether programs for the target run directly on this
// machine (otherwise they run under qemu).
func Native(t llvmgen.Target) bool {
	switch t.Arch() {
	case "x86_64":
		return runtime.GOARCH == "amd64"
	case "aarch64":
		return runtime.GOARCH == "arm64"
	}
	return false
}

// Compile turns an LLVM IR file into an object file for the target with
// clang -O3 (which, unlike llc, runs the IR optimizations).
func Compile(t llvmgen.Target, ll, obj string, extra ...string) error {
	_, err := run(Clang, clangArgs(t, append(extra, "-c", "-o", obj, ll)...)...)
	return err
}

// CompileModule compiles a module to an object file; a network's module is
// split (llvmgen.Split) and its parts compiled in parallel, then joined
// into one relocatable object. dir receives the parts' files.
func CompileModule(t llvmgen.Target, m *ir.Module, dir, obj string, extra ...string) error {
	// clang verifies the IR it reads; opt -verify's own pass would parse a
	// network's tens of megabytes of weights once more
	objs, err := CompileParts(t, m, dir, false, extra...)
	if err != nil {
		return err
	}
	if len(objs) == 1 {
		return os.Rename(objs[0], obj)
	}
	// a relocatable link: one object, as if one module had been compiled
	_, err = run(linker(t), append([]string{"-r", "-nostdlib", "-o", obj}, objs...)...)
	return err
}

// CompileParts splits a module (llvmgen.Split, as many parts as cores),
// writes each part (verified with opt -verify when verify is set, for a
// clearer report of a bug in Tide) and compiles them in parallel,
// returning their objects.
func CompileParts(t llvmgen.Target, m *ir.Module, dir string, verify bool, extra ...string) ([]string, error) {
	parts := llvmgen.Split(m, runtime.NumCPU())
	objs := make([]string, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		ll := filepath.Join(dir, fmt.Sprintf("part%d.ll", i))
		objs[i] = filepath.Join(dir, fmt.Sprintf("part%d.o", i))
		if err := os.WriteFile(ll, []byte(p.String()), 0o644); err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if verify {
				if err := Verify(ll); err != nil {
					var missing *MissingError
					if errors.As(err, &missing) {
						errs[i] = err // a tool to install, not a bug
					} else {
						errs[i] = fmt.Errorf("the generated IR is invalid (a bug in Tide): %w", err)
					}
					return
				}
			}
			errs[i] = Compile(t, ll, objs[i], extra...)
		}()
	}
	wg.Wait()
	return objs, errors.Join(errs...)
}

// clangArgs are clang's options for the target, then more.
func clangArgs(t llvmgen.Target, more ...string) []string {
	args := []string{"-O3", "--target=" + t.Triple}
	switch {
	case t.CPU == "":
	case t.IsAArch64():
		args = append(args, "-mcpu="+t.CPU)
	default:
		args = append(args, "-march="+t.CPU)
	}
	return append(args, more...)
}

// Verify runs LLVM's verifier on an IR file (opt -verify).
func Verify(ll string) error {
	_, err := run(Opt, "-verify", "-disable-output", ll)
	return err
}

// Assemble compiles LLVM IR to assembly text for the target (for
// inspection and the assembly checks).
func Assemble(t llvmgen.Target, ll string) (string, error) {
	return run(Clang, clangArgs(t, "-S", "-o", "-", ll)...)
}

// linker is the C compiler that links programs for the target.
func linker(t llvmgen.Target) Tool {
	if t.IsAArch64() && runtime.GOARCH != "arm64" {
		return CrossGCC
	}
	return GCC
}

// CompileC compiles a C source for the target (harnesses) with -O2, then
// flags (which may override it: -O3 -march=haswell).
func CompileC(t llvmgen.Target, src, obj string, flags ...string) error {
	args := append(append([]string{"-O2"}, flags...), "-c", "-o", obj, src)
	_, err := run(linker(t), args...)
	return err
}

// Link links objects into an executable for the target; libs are -l names.
func Link(t llvmgen.Target, exe string, objs []string, libs ...string) error {
	return LinkWith(t, exe, objs, nil, libs...)
}

// LinkWith is Link with extra linker flags (-fsanitize=address).
func LinkWith(t llvmgen.Target, exe string, objs, flags []string, libs ...string) error {
	args := append(append([]string{"-o", exe}, flags...), objs...)
	for _, l := range libs {
		args = append(args, "-l"+l)
	}
	// -fopenmp links libgomp, which runs parallel loops (GOMP_parallel)
	_, err := run(linker(t), append(args, "-fopenmp", "-lm")...)
	return err
}

// Run executes a program for the target: directly when the machine runs
// its code, else under qemu-aarch64 emulating a Cortex-A53 (the default
// qemu CPU accepts instructions an A53 lacks).
func Run(t llvmgen.Target, exe string, args ...string) (string, error) {
	if Native(t) {
		return run(Tool{exe, "(the program itself)"}, args...)
	}
	if !t.IsAArch64() {
		return "", fmt.Errorf("cannot run %s code on this %s machine", t.Arch(), runtime.GOARCH)
	}
	cpu := t.CPU
	if cpu == "" {
		cpu = "cortex-a53"
	}
	return run(QEMU, append([]string{"-cpu", cpu, "-L", "/usr/aarch64-linux-gnu", exe}, args...)...)
}
