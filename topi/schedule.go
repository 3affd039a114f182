package topi

import (
	"fmt"

	"tide/schedule"
	"tide/te"
)

// Targets are the targets topi has schedules for (llvmgen's preset names).
var Targets = []string{"x86-64", "cortex-a53"}

// Schedule makes the default schedule of the operators computing outs for
// a target.
func Schedule(target string, outs ...*te.Tensor) (*schedule.Schedule, error) {
	switch target {
	case "x86-64", "cortex-a53":
	default:
		return nil, fmt.Errorf("topi: no schedules for target %q; the targets are x86-64 and cortex-a53", target)
	}
	return schedule.New(outs...), nil
}
