// Package llvmgen turns loop IR (package lower) into LLVM IR for a target
// with github.com/llir/llvm, which writes LLVM-14 IR: targets and their
// presets (target.go), scalar and vector expressions (expr.go, vector.go;
// AVX2's byte popcounts by nibble tables, popcount.go),
// parallel loops outlined for the GNU OpenMP runtime (parallel.go), a
// network's module with its constants and workspace (network.go), the
// module split into parts compiled in parallel (split.go), fast-math
// flags (fastmath.go) and the C header (header.go).
package llvmgen
