package te

// MatmulShape recognizes the signature of a BLAS sgemm: float32 inputs A
// (M×K) and B (K×N), one float32 output (M×N), and returns M, N, K. It looks
// at the signature only, so a kernel may reach A·B through a packed copy of
// B or any other layout stage; whether it really computes A·B is for the
// caller to check, by comparing outputs.
func MatmulShape(k *Kernel, sizes map[*Var]int64) (m, n, kk int, ok bool) {
	if len(k.Inputs) != 2 || len(k.Outputs) != 1 {
		return 0, 0, 0, false
	}
	var shapes [3][]int
	for i, t := range []*Tensor{k.Inputs[0], k.Inputs[1], k.Outputs[0]} {
		s, err := ShapeOf(t, sizes)
		if err != nil || t.DType != Float32 || len(s) != 2 {
			return 0, 0, 0, false
		}
		shapes[i] = s
	}
	a, b, c := shapes[0], shapes[1], shapes[2]
	if a[1] != b[0] || c[0] != a[0] || c[1] != b[1] {
		return 0, 0, 0, false
	}
	return a[0], b[1], a[1], true
}
