// Package te is Tide's tensor-expression layer, the counterpart of TVM's
// te: data types and their rules (dtype.go, types.go), scalar expressions
// built by constructors that check types and never panic (expr.go,
// ops.go), tensors declared by placeholder and compute over iteration axes
// with reductions (tensor.go), kernels (a signature over tensors and
// symbolic sizes), structural equality and hashing of expressions
// (equal.go), rewriting (mutate.go), printing (print.go), and the
// reference evaluator (eval.go): the oracle every lowering and every
// generated program is compared with.
package te
