package te

// MatmulShape recognizes C[i, j] = sum(A[i, k] * B[k, j], axis=k) over
// float32 placeholders A and B (either operand order), the shape a BLAS
// sgemm computes, and returns M, N, K.
func MatmulShape(k *Kernel, sizes map[*Var]int64) (m, n, kk int, ok bool) {
	if len(k.Outputs) != 1 {
		return 0, 0, 0, false
	}
	c := k.Outputs[0]
	r, isRed := c.Body.(*Reduce)
	if !isRed || r.Op != Sum || len(r.Axes) != 1 || len(c.Axis) != 2 || c.DType != Float32 {
		return 0, 0, 0, false
	}
	if lo, isConst := r.Axes[0].Min.(*IntImm); !isConst || lo.Value != 0 {
		return 0, 0, 0, false
	}
	mul, isMul := r.Body.(*Binary)
	if !isMul || mul.Op != Mul {
		return 0, 0, 0, false
	}
	i, j, red := c.Axis[0].Var, c.Axis[1].Var, r.Axes[0].Var
	is := func(e Expr, a, b *Var) bool {
		rd, ok := e.(*Read)
		return ok && rd.Tensor.IsPlaceholder() && len(rd.Indices) == 2 && rd.Indices[0] == Expr(a) && rd.Indices[1] == Expr(b)
	}
	if !(is(mul.A, i, red) && is(mul.B, red, j)) && !(is(mul.B, i, red) && is(mul.A, red, j)) {
		return 0, 0, 0, false
	}
	shape, err := ShapeOf(c, sizes)
	if err != nil {
		return 0, 0, 0, false
	}
	ext, err := ShapeOf(&Tensor{Name: red.Name, Shape: []Expr{r.Axes[0].Extent}}, sizes)
	if err != nil {
		return 0, 0, 0, false
	}
	return shape[0], shape[1], ext[0], true
}
