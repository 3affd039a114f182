package te

// OpCount is the work a kernel declares: for each computed tensor, its
// elements times its reduction iterations times the operations of its body
// (arithmetic, logic, comparisons, popcount and the like; reads, casts and
// selects are free, and so is the index arithmetic inside a read), plus one
// for each reduction step's combine. A matmul
// counts 2*M*N*K. Float reports whether any counted operation is on floats
// (benchmarks then say GFLOP/s rather than Gop/s).
func OpCount(k *Kernel, sizes map[*Var]int64) (ops float64, float bool, err error) {
	for _, t := range PostOrder(k.Outputs) {
		if t.IsPlaceholder() {
			continue
		}
		shape, err := ShapeOf(t, sizes)
		if err != nil {
			return 0, false, err
		}
		n := float64(NumElements(shape))
		body := t.Body
		per := 0.0
		if r, ok := body.(*Reduce); ok {
			for _, iv := range r.Axes {
				ext, err := ShapeOf(&Tensor{Name: iv.Var.Name, Shape: []Expr{iv.Extent}}, sizes)
				if err != nil {
					return 0, false, err
				}
				n *= float64(ext[0])
			}
			body = r.Body
			per = 1
			float = float || r.Body.Type().IsFloat()
		}
		Walk(body, func(x Expr) bool {
			switch x := x.(type) {
			case *Read:
				return false // addressing, not work
			case *Binary:
				per++
				float = float || x.A.Type().IsFloat()
			case *Unary:
				per++
				float = float || x.X.Type().IsFloat()
			}
			return true
		})
		ops += n * per
	}
	return ops, float, nil
}
