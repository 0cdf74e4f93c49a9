package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// procRoot is where /proc is; tests point it at a fake tree.
var procRoot = "/proc"

// Usage is what a process tree holds and has used at one moment.
type Usage struct {
	Pids int           // processes in the tree
	CPU  time.Duration // CPU time of every thread of every process
	RSS  int64         // sum of VmRSS, bytes
	FDs  int           // open descriptors
}

// Sample measures the process pid and all its descendants (nginx's and
// HAProxy's workers, a shell's children). CPU comes from the first field of
// /proc/PID/task/*/schedstat, the nanoseconds each thread ran:
// /proc/PID/schedstat alone is the main thread's. RSS is the sum of each
// process's VmRSS, so pages that a master and its workers share count once
// per process, as ps shows them.
func Sample(pid int) (Usage, error) {
	pids, err := Tree(pid)
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Pids: len(pids)}
	for _, p := range pids {
		cpu, err := CPU(p)
		if err != nil {
			if p == pid {
				return Usage{}, err
			}
			continue // a child that just exited
		}
		u.CPU += cpu
		if v, err := statusField(p, "VmRSS"); err == nil {
			kb, err := parseKB(v)
			if err != nil {
				return Usage{}, fmt.Errorf("/proc/%d/status: %w", p, err)
			}
			u.RSS += kb
		}
		if ents, err := os.ReadDir(fmt.Sprintf("%s/%d/fd", procRoot, p)); err == nil {
			u.FDs += len(ents)
		}
	}
	return u, nil
}

// CPU is the CPU time all threads of process pid have used.
func CPU(pid int) (time.Duration, error) {
	tids, err := tasks(pid)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, tid := range tids {
		data, err := os.ReadFile(fmt.Sprintf("%s/%d/task/%d/schedstat", procRoot, pid, tid))
		if err != nil {
			continue // the thread just exited
		}
		ns, err := ParseSchedstat(data)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/task/%d/schedstat: %w", pid, tid, err)
		}
		sum += ns
	}
	return sum, nil
}

// ParseSchedstat returns the first field of a schedstat line: the time the
// task has spent on a CPU, in nanoseconds.
func ParseSchedstat(data []byte) (time.Duration, error) {
	f := bytes.Fields(data)
	if len(f) == 0 {
		return 0, errors.New("empty schedstat")
	}
	ns, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil || ns < 0 {
		return 0, fmt.Errorf("schedstat run time %q is not a count of nanoseconds", f[0])
	}
	return time.Duration(ns), nil
}

// Tree is pid followed by all its descendants, found by reading the parent
// of every process in /proc.
func Tree(pid int) ([]int, error) {
	if _, err := os.Stat(fmt.Sprintf("%s/%d", procRoot, pid)); err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, p))
		if err != nil {
			continue
		}
		st, err := ParseStat(data)
		if err != nil {
			continue
		}
		children[st.PPid] = append(children[st.PPid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// Stat is the part of /proc/PID/stat the harness uses.
type Stat struct {
	Comm  string
	State byte
	PPid  int
	PGrp  int
}

// ParseStat reads /proc/PID/stat. The command name is in parentheses and
// may itself hold spaces and parentheses, so the fields after it are found
// from the last ')'.
func ParseStat(data []byte) (Stat, error) {
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return Stat{}, errors.New("stat: no (comm)")
	}
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return Stat{}, errors.New("stat: too few fields after (comm)")
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return Stat{}, fmt.Errorf("stat: ppid %q or pgrp %q is not a number", f[1], f[2])
	}
	return Stat{Comm: string(data[open+1 : end]), State: f[0][0], PPid: ppid, PGrp: pgrp}, nil
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		return false
	}
	st, err := ParseStat(data)
	return err == nil && st.State != 'Z' && st.State != 'X'
}

func tasks(pid int) ([]int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("%s/%d/task", procRoot, pid))
	if err != nil {
		return nil, fmt.Errorf("threads of process %d: %w", pid, err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if t, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, t)
		}
	}
	return tids, nil
}

func statusField(pid int, name string) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("%s/%d/status", procRoot, pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", fmt.Errorf("/proc/%d/status has no %s", pid, name)
}

func parseKB(v string) (int64, error) {
	f := strings.Fields(v)
	if len(f) != 2 || f[1] != "kB" {
		return 0, fmt.Errorf("%q is not a size in kB", v)
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || kb < 0 {
		return 0, fmt.Errorf("%q is not a size in kB", v)
	}
	return kb << 10, nil
}
