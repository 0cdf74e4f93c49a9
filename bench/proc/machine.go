package proc

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/stat's times: USER_HZ, which the kernel
// fixes at 100 on every architecture Go's linux port runs on (only
// alpha and ia64 differ, and Go runs on neither).
const userHZ = 100

// Machine is the time CPUs have spent, summed over a set of CPUs, in
// /proc/stat's ticks of 1/USER_HZ s. Ticks, not a time.Duration: the
// counters of a large machine that has been up for years add up to more
// than a Duration holds; a difference of two readings does not.
type Machine struct {
	// Busy is user + nice + system + irq + softirq + steal: every tick
	// in which the CPU ran something, or wanted to and the hypervisor
	// ran someone else. guest and guest_nice are left out because the
	// kernel already counts them in user and nice.
	Busy int64
	// Tasks is the part of Busy that tasks ran (user + nice + system),
	// without interrupts and steal: what the processes of a run and
	// everyone else's together used.
	Tasks int64
	// Total is Busy plus idle and iowait: the CPUs' wall time.
	Total int64
	// Steal is the part of Busy the hypervisor gave to other machines
	// while these CPUs had work: on a VM, the time it froze them.
	Steal int64
}

// Sub is the time spent between two readings, m after before.
func (m Machine) Sub(before Machine) Machine {
	return Machine{Busy: m.Busy - before.Busy, Tasks: m.Tasks - before.Tasks, Total: m.Total - before.Total, Steal: m.Steal - before.Steal}
}

// BusyTime is Busy as a duration (of a difference of readings).
func (m Machine) BusyTime() time.Duration { return ticks(m.Busy) }

// TasksTime is Tasks as a duration (of a difference of readings).
func (m Machine) TasksTime() time.Duration { return ticks(m.Tasks) }

// StealTime is Steal as a duration (of a difference of readings).
func (m Machine) StealTime() time.Duration { return ticks(m.Steal) }

// TotalTime is Total as a duration (of a difference of readings).
func (m Machine) TotalTime() time.Duration { return ticks(m.Total) }

func ticks(n int64) time.Duration { return time.Duration(n) * (time.Second / userHZ) }

// Share is the busy share of the CPUs' time, or 0 when no time passed.
func (m Machine) Share() float64 {
	if m.Total <= 0 {
		return 0
	}
	return float64(m.Busy) / float64(m.Total)
}

// ReadMachine reads /proc/stat: the busy time of the CPUs in cpus, or of
// every CPU (its "cpu" line) when cpus is empty.
func ReadMachine(cpus CPUSet) (Machine, error) {
	data, err := os.ReadFile(procRoot + "/stat")
	if err != nil {
		return Machine{}, err
	}
	m, err := ParseProcStat(data, cpus)
	if err != nil {
		return Machine{}, fmt.Errorf("%s/stat: %w", procRoot, err)
	}
	return m, nil
}

// ParseProcStat sums the CPU lines of /proc/stat for the CPUs in cpus
// (each "cpuN" line), or takes the "cpu" line of all CPUs when cpus is
// empty. A CPU of cpus that has no line (offline, or not on this
// machine) is an error naming it.
func ParseProcStat(data []byte, cpus CPUSet) (Machine, error) {
	var m Machine
	seen := map[string]bool{}
	// Lines, not a bufio.Scanner: the "intr" line of a machine with many
	// interrupts is longer than a Scanner's default token.
	for line := range bytes.Lines(data) {
		if !bytes.HasPrefix(line, []byte("cpu")) {
			continue
		}
		f := strings.Fields(string(line))
		if !wanted(f[0], cpus) {
			continue
		}
		if seen[f[0]] {
			return Machine{}, fmt.Errorf("two %q lines", f[0])
		}
		seen[f[0]] = true
		cpu, err := parseCPULine(f)
		if err != nil {
			return Machine{}, err
		}
		m.Busy += cpu.Busy
		m.Tasks += cpu.Tasks
		m.Total += cpu.Total
		m.Steal += cpu.Steal
	}
	switch {
	case len(cpus) == 0 && len(seen) == 0:
		return Machine{}, fmt.Errorf("no %q line", "cpu")
	case len(cpus) > 0 && len(seen) != len(cpus):
		return Machine{}, fmt.Errorf("CPUs %s: only %d of them have a line (the others are offline or absent)", cpus, len(seen))
	}
	return m, nil
}

// wanted says whether the line named name ("cpu" or "cpuN") is one to
// sum.
func wanted(name string, cpus CPUSet) bool {
	if len(cpus) == 0 {
		return name == "cpu"
	}
	num := name[len("cpu"):]
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return false // not "cpuN" (Atoi alone would take "cpu+1")
	}
	n, err := strconv.Atoi(num)
	return err == nil && slices.Contains(cpus, n)
}

// maxTicks bounds one field: 348 years of one CPU at 100 Hz, beyond any
// real counter, and small enough that the sum of 1,024 CPUs' lines
// cannot overflow.
const maxTicks = 1 << 40

// The fields of a CPU line after its name, in the kernel's order.
const (
	fUser = iota
	fNice
	fSystem
	fIdle
	fIOWait
	fIRQ
	fSoftIRQ
	fSteal
	nFields // the kernels this harness runs on (2.6.11 and later) have at least these
)

func parseCPULine(f []string) (Machine, error) {
	if len(f) < 1+nFields {
		return Machine{}, fmt.Errorf("%s: %d fields, want at least %d (user nice system idle iowait irq softirq steal)", f[0], len(f)-1, nFields)
	}
	var v [nFields]int64
	for i := range v {
		n, err := strconv.ParseInt(f[1+i], 10, 64)
		if err != nil || n < 0 || n > maxTicks {
			return Machine{}, fmt.Errorf("%s: field %d %q is not a count of ticks", f[0], i+1, f[1+i])
		}
		v[i] = n
	}
	tasks := v[fUser] + v[fNice] + v[fSystem]
	busy := tasks + v[fIRQ] + v[fSoftIRQ] + v[fSteal]
	return Machine{Busy: busy, Tasks: tasks, Total: busy + v[fIdle] + v[fIOWait], Steal: v[fSteal]}, nil
}
