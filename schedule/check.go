package schedule

import (
	"fmt"
	"slices"
	"strings"
)

// CheckError is a problem only the finished schedule shows (an annotation or
// an attachment that later primitives made illegal). Axis is the annotated
// loop at fault, or nil when the attachment of Stage is.
type CheckError struct {
	Stage *Stage
	Axis  *Axis
	Msg   string
}

func (e *CheckError) Error() string { return e.Msg }

// Check verifies the whole schedule and returns every problem found.
func (s *Schedule) Check() []*CheckError {
	var errs []*CheckError
	add := func(st *Stage, ax *Axis, format string, args ...any) {
		errs = append(errs, &CheckError{Stage: st, Axis: ax, Msg: fmt.Sprintf(format, args...)})
	}
	for _, st := range s.Stages {
		for _, pf := range st.Prefetches {
			pre := fmt.Sprintf("prefetch(%s, %s)", pf.Tensor.Name, pf.Axis.Name())
			switch {
			case st.Attach == Inline:
				add(st, pf.Axis, "%s: %s is computed inline and has no loops of its own", pre, st.Name())
			case !slices.Contains(st.Leaf, pf.Axis):
				add(st, pf.Axis, "%s: %s is no longer a loop of %s (split or fused after the prefetch); the loops are %s", pre, pf.Axis.Name(), st.Name(), names(st.Leaf))
			case pf.Axis.Ann == Vectorized:
				add(st, pf.Axis, "%s: %s is vectorized; prefetch at a loop outside the vector's lanes", pre, pf.Axis.Name())
			}
		}
		if st.Attach == Inline {
			for _, a := range st.Leaf {
				if a.Ann != Serial {
					add(st, a, "%s(%s): %s is computed inline and has no loops of its own", verb(a.Ann), a.Name(), st.Name())
				}
			}
			continue
		}
		firstReduce := slices.IndexFunc(st.Leaf, func(a *Axis) bool { return a.Reduce })
		for i, a := range st.Leaf {
			switch a.Ann {
			case Vectorized:
				if i != len(st.Leaf)-1 {
					inside := st.Leaf[i+1:]
					verb := map[bool]string{true: "is", false: "are"}[len(inside) == 1]
					add(st, a, "vectorize(%s): %s must be the innermost loop of %s, but %s %s inside it; reorder it last",
						a.Name(), a.Name(), st.Name(), names(inside), verb)
					continue
				}
				if a.Reduce {
					for _, b := range st.Leaf[firstReduce:] {
						if !b.Reduce {
							add(st, a, "vectorize(%s): a vectorized reduction keeps one vector accumulator for all reduction loops, so they must be innermost; %s is a data loop inside reduction loop %s (reorder the reduction loops last)",
								a.Name(), b.Name(), st.Leaf[firstReduce].Name())
							break
						}
					}
				}
			case Parallel:
				for _, b := range st.Leaf[:i] {
					if b.Ann == Parallel {
						add(st, a, "parallel(%s): %s is inside parallel loop %s; parallel loops do not nest (fuse them into one)", a.Name(), a.Name(), b.Name())
					}
				}
				if outer := enclosingParallel(st); outer != "" {
					add(st, a, "parallel(%s): %s is computed inside parallel loop %s; parallel loops do not nest (keep one of the two parallel annotations)", a.Name(), st.Name(), outer)
				}
			}
		}
		if st.Attach != AtAxis {
			continue
		}
		c, ax := st.AttachStage, st.AttachAxis
		switch {
		case c.Attach == Inline:
			add(st, nil, "compute_at(%s, %s): %s is computed inline and has no loops; compute %s elsewhere", c.Name(), ax.Name(), c.Name(), st.Name())
		case !slices.Contains(c.Leaf, ax):
			add(st, nil, "compute_at(%s, %s): %s was split, fused or replaced afterwards; the loops of %s are now %s",
				c.Name(), ax.Name(), ax.Name(), c.Name(), names(c.Leaf))
		case ax.Ann == Vectorized:
			add(st, nil, "compute_at(%s, %s): %s is a vectorized loop; compute %s at a loop outside it (the loops of %s are %s)",
				c.Name(), ax.Name(), ax.Name(), st.Name(), c.Name(), names(c.Leaf))
		}
		if r := readerOutside(st, c); r != nil {
			add(st, nil, "compute_at(%s, %s): %s is also read by %s, which is not computed inside %s; compute %s at the root or inline",
				c.Name(), ax.Name(), st.Name(), r.Name(), c.Name(), st.Name())
		}
		seen := map[*Stage]bool{}
		for p := st; p != nil && p.Attach == AtAxis; p = p.AttachStage {
			if seen[p] {
				var chain []string
				for q := range seen {
					chain = append(chain, q.Name())
				}
				slices.Sort(chain)
				add(st, nil, "compute_at: the stages %s are computed inside each other (a cycle)", strings.Join(chain, ", "))
				break
			}
			seen[p] = true
		}
	}
	return errs
}

// enclosingParallel names a parallel loop that st is computed inside of, or "".
func enclosingParallel(st *Stage) string {
	seen := map[*Stage]bool{}
	for st.Attach == AtAxis && !seen[st] {
		seen[st] = true
		c := st.AttachStage
		i := slices.Index(c.Leaf, st.AttachAxis)
		for _, a := range c.Leaf[:i+1] {
			if a.Ann == Parallel {
				return c.Name() + "." + a.Name()
			}
		}
		st = c
	}
	return ""
}

func verb(a Ann) string {
	return map[Ann]string{Parallel: "parallel", Vectorized: "vectorize", Unrolled: "unroll"}[a]
}

// readerOutside is a stage that reads st other than c, directly or through
// stages computed inline (which become part of their readers), or nil.
func readerOutside(st, c *Stage) *Stage {
	for _, r := range st.Consumers() {
		switch {
		case r == c, insideAfter(r, c, st.AttachAxis):
		case r.Attach == Inline:
			if o := readerOutside(r, c); o != nil {
				return o
			}
		default:
			return r
		}
	}
	return nil
}

// insideAfter reports whether r is computed inside stage c (at one of its
// loops, or inside a stage computed there) at or inside loop ax, so after
// a stage computed at ax.
func insideAfter(r, c *Stage, ax *Axis) bool {
	for a := r; a != nil && a.Attach == AtAxis; a = a.AttachStage {
		if a.AttachStage == c {
			return slices.Index(c.Leaf, a.AttachAxis) >= slices.Index(c.Leaf, ax)
		}
	}
	return false
}
