// Command tide is the command line of the Tide tensor-expression compiler.
//
//	tide check FILE                     parse and type-check; print tensors and the kernel
//	tide eval FILE [--seed N] [--inputs DIR] [--outputs DIR] [--set n=V]
//	                                    evaluate with the reference evaluator
//	tide lower FILE [--print-after-all | --print-after PASS] [--stats]
//	                                    apply the schedule, print the loop IR
//	tide build FILE --target T [-o OUT.ll] [--header OUT.h] [--obj OUT.o]
//	                                    generate LLVM IR for a target
//	tide run FILE --target T [--seed N] [--inputs DIR] [--outputs DIR] [--set n=V]
//	                                    build, run (qemu for cortex-a53), compare with the evaluator
//
// Exit status: 0 on success, 1 on a user error (message on stderr), 2 on a
// bad command line, 3 on an internal error, 130 (143) when interrupted by
// SIGINT (SIGTERM).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// userError marks errors caused by the input (exit status 1).
type userError struct{ err error }

func (e userError) Error() string { return e.err.Error() }
func (e userError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		// A bug in Tide must still not dump a Go stack trace on a user.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "tide: internal error: %v\nplease report this with the input that caused it\n", r)
			status = 3
		}
	}()
	defer endTempDirs()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	if status, ok := interruptedStatus(err); ok {
		fmt.Fprintln(stderr, "tide: interrupted")
		return status
	}
	fmt.Fprintln(stderr, err)
	var ue userError
	if errors.As(err, &ue) {
		return 1
	}
	return 2
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "tide",
		Short:         "Tide compiles tensor expressions (.te files) to loop IR and LLVM IR",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().VarP(defineFlag{ints: sizeFlag{}, words: map[string]string{}}, "define", "D", "give an integer constant of the file another value, `NAME=VALUE` (repeatable), e.g. -D N=1024, or a choice another word, e.g. -D POLARITY=unipolar")
	root.AddCommand(checkCmd(stdout), evalCmd(stdout), lowerCmd(stdout, stderr), buildCmd(stdout, stderr), runCmd(stdout, stderr), benchCmd(stdout, stderr), tuneCmd(stdout, stderr), weightsCmd(stdout))
	return root
}

// version is Tide's version; a release build sets it with
// -ldflags "-X main.version=v1.2.3". Otherwise it is the module's version
// when built by go install from a tagged module, or "devel".
var version = ""

// versionString is what --version prints: the version, the commit when the
// build recorded it, and the Go toolchain that built the binary.
func versionString() string {
	v, commit := version, ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				commit = ", commit " + s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	return fmt.Sprintf("tide %s (%s %s/%s%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH, commit)
}
