package proc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CPUSet is a set of CPU numbers, kept sorted and without duplicates. The
// empty set means "not pinned".
type CPUSet []int

// ParseCPUSet reads a CPU list in the kernel's format, as taskset -c and
// /proc/PID/status's Cpus_allowed_list write it: "0-3,6,8-9".
func ParseCPUSet(s string) (CPUSet, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var set CPUSet
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := cpuNumber(lo)
		if err != nil {
			return nil, fmt.Errorf("CPU list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = cpuNumber(hi); err != nil {
				return nil, fmt.Errorf("CPU list %q: %w", s, err)
			}
			if b < a {
				return nil, fmt.Errorf("CPU list %q: range %q ends before it starts", s, part)
			}
		}
		for c := a; c <= b; c++ {
			set = append(set, c)
		}
	}
	slices.Sort(set)
	return slices.Compact(set), nil
}

func cpuNumber(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a CPU number", s)
	}
	// unix.CPUSet holds 1024 CPUs; a larger number is a typo.
	if n >= 1024 {
		return 0, fmt.Errorf("CPU %d is beyond the 1024 this harness can pin to", n)
	}
	return n, nil
}

// String writes the set back in the kernel's list format.
func (s CPUSet) String() string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j == i {
			b.WriteString(strconv.Itoa(s[i]))
		} else {
			fmt.Fprintf(&b, "%d-%d", s[i], s[j])
		}
		i = j + 1
	}
	return b.String()
}

func (s CPUSet) unix() *unix.CPUSet {
	var u unix.CPUSet
	for _, c := range s {
		u.Set(c)
	}
	return &u
}

// Allowed is the set of CPUs this process may run on.
func Allowed() (CPUSet, error) {
	var u unix.CPUSet
	if err := unix.SchedGetaffinity(0, &u); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var s CPUSet
	for c := 0; c < 1024; c++ {
		if u.IsSet(c) {
			s = append(s, c)
		}
	}
	return s, nil
}

// PinSelf pins every thread this process has now to cpus. Threads the Go
// runtime starts later inherit the affinity of the thread that starts them,
// which is one of these, so the whole process stays on cpus.
func PinSelf(cpus CPUSet) error {
	if len(cpus) == 0 {
		return nil
	}
	tids, err := tasks(unix.Getpid())
	if err != nil {
		return err
	}
	for _, tid := range tids {
		if err := unix.SchedSetaffinity(tid, cpus.unix()); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pinning thread %d to CPUs %s: %w", tid, cpus, err)
		}
	}
	return nil
}

// CPUsOf reads the CPUs process pid may run on from /proc/PID/status.
func CPUsOf(pid int) (CPUSet, error) {
	v, err := statusField(pid, "Cpus_allowed_list")
	if err != nil {
		return nil, err
	}
	return ParseCPUSet(v)
}
