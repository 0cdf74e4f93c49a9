package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/sysctl"
)

const sysctlUsage = `usage: fjord sysctl [-f CONFIG]... check [FILE]
       fjord sysctl [-f CONFIG]... apply
       fjord sysctl [-f CONFIG]... persist [FILE]
       fjord sysctl release

check    show each kernel setting fjord wants: current value, wanted value,
         and why; which reserved port is whose, and which ones running
         fjord processes added; then whether FILE (default %[1]s)
         keeps them over a reboot. Exit 0 if every setting is as wanted,
         1 if not.
apply    make the changes now (root), reading each one back, the ports of
         services listening now included (until the next boot, like the
         range). Exit 0 if every setting is as wanted afterwards, 1 if
         not.
persist  write the wanted values, each with its reason, to FILE (default
         %[1]s) for 'sysctl --system' and every boot. Ports
         that services listen on now are named in a comment, not
         reserved: they may not be there at the next boot.
release  release the ports fjord reserved for processes that have ended
         (killed, or unable to release them once they dropped privileges).
         The reservations of running fjord processes and of the admin
         stay. Exit 0 once done, 1 if fjord's ledger of its reservations
         or the setting could not be used.

Reservations 'apply' makes are the admin's: a stopping fjord never
releases them.

With -f, values follow the configuration (maxconn, tune.pipesize, bind
ports and backlogs, ulimit-n); without, fjord's defaults. Values already
better than fjord's are kept. net.* settings are per network namespace:
run fjord sysctl in the namespace fjord serves from.
`

// runSysctl is 'fjord sysctl ...'; args follow the word sysctl.
func runSysctl(args []string, stdout, stderr io.Writer) int {
	var files fileList
	fs := flag.NewFlagSet("fjord sysctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&files, "f", "configuration `file` or directory the values derive from (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, sysctlUsage, sysctl.PersistPath)
		fs.PrintDefaults()
	}
	// Flags may come before or after the action word.
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(rest) == 0 {
		fmt.Fprintln(stderr, "fjord sysctl: say check, apply, persist or release")
		fs.Usage()
		return 2
	}
	action, operands := rest[0], rest[1:]
	maxOperands := 0
	if action == "check" || action == "persist" {
		maxOperands = 1
	}
	switch {
	case action != "check" && action != "apply" && action != "persist" && action != "release":
		fmt.Fprintf(stderr, "fjord sysctl: unknown action %q: say check, apply, persist or release\n", action)
		return 2
	case len(operands) > maxOperands:
		fmt.Fprintf(stderr, "fjord sysctl %s: unexpected argument %q\n", action, operands[maxOperands])
		return 2
	}
	file := sysctl.PersistPath
	if len(operands) == 1 {
		file = operands[0]
	}

	if action == "release" {
		return releaseCommand(stdout, stderr)
	}

	cfg, source := defaultConfig(), "fjord's defaults (no configuration given)"
	if len(files) > 0 {
		var ok bool
		if cfg, ok = load(files, config.Options{}, stderr); !ok {
			return 2
		}
		source = strings.Join(files, ", ")
	}
	tu := sysctlTuner()
	needs, warnings := kernelNeeds(cfg, tu, nil)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "[WARNING] %s\n", w)
	}
	settings := sysctl.Profile(needs)

	switch action {
	case "check":
		results := tu.Check(settings)
		printResults(stdout, results)
		reportLedger(stdout, tu)
		reportPersisted(stdout, file, sysctl.PersistProfile(needs))
		return exitCode(sysctl.AllOK(results))
	case "apply":
		results := tu.Apply(settings)
		printResults(stdout, results)
		disown(results, stderr)
		return exitCode(sysctl.AllOK(results))
	default: // persist
		// What listens now is not what every boot must reserve: the
		// file names those ports instead (PersistProfile). 'apply'
		// reserves them, like the range it widens, until the next boot.
		results := tu.Check(sysctl.PersistProfile(needs))
		if err := sysctl.WriteConf(file, results, source); err != nil {
			fmt.Fprintf(stderr, "fjord sysctl persist: %v\n", err)
			return 1
		}
		written := 0
		for _, r := range results {
			if r.Status == sysctl.Unavailable {
				fmt.Fprintf(stderr, "[WARNING] %s not written: %v\n", r.Key, r.Err)
				continue
			}
			written++
		}
		fmt.Fprintf(stdout, "wrote %d settings to %s; 'sysctl --system' (or 'fjord sysctl apply') applies them now\n", written, file)
		return 0
	}
}

// disown makes the reserved ports and the port range 'apply' put in place
// the admin's: a running fjord that reserved or widened them first must
// not take them back when it stops.
func disown(results []sysctl.Result, stderr io.Writer) {
	ports, portRange := "", false
	for _, r := range results {
		switch {
		case !r.InPlace():
		case r.Key == sysctl.ReservedPortsKey:
			ports = r.Setting.Want
		case r.Key == sysctl.PortRangeKey:
			portRange = true
		}
	}
	if ports == "" && !portRange {
		return
	}
	ledger, err := sysctlTuner().NewLedger()
	if err == nil {
		err = ledger.Disown(ports, portRange)
	}
	if err != nil {
		fmt.Fprintf(stderr, "[WARNING] %s: %v: a running fjord that reserved some of %s, or widened the port range, may take them back when it stops\n", sysctl.ReservedPortsKey, err, orDash(ports))
	}
}

// releaseCommand is 'fjord sysctl release'.
func releaseCommand(stdout, stderr io.Writer) int {
	tu := sysctlTuner()
	ledger, err := tu.NewLedger()
	if err != nil {
		fmt.Fprintf(stderr, "fjord sysctl release: %v\n", err)
		return 1
	}
	tu.Ledger = ledger
	r := tu.Release()
	if r.Note != "" {
		fmt.Fprintf(stderr, "[WARNING] %s: %s\n", r.Key, r.Note)
	}
	if r.RangeRestored != "" {
		fmt.Fprintf(stdout, "%s: put back to %s, as it was before fjord widened it\n", sysctl.PortRangeKey, r.RangeRestored)
	}
	switch {
	case !r.InPlace():
		fmt.Fprintf(stderr, "fjord sysctl release: %v\n", r.Err)
		return 1
	case r.Released == "":
		fmt.Fprintf(stdout, "%s: nothing to release (%s)\n", r.Key, orDash(r.Current))
	default:
		fmt.Fprintf(stdout, "%s: released %s; now %s\n", r.Key, r.Released, orDash(r.After))
	}
	return 0
}

func exitCode(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

// printResults prints the table: setting, current value, wanted value (or
// the value read back after a change), status, reason; then where the
// items of a list come from (which reserved port is whose); then the
// errors.
func printResults(w io.Writer, results []sysctl.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tCURRENT\tWANTED\tSTATUS\tREASON")
	for _, r := range results {
		wanted := r.Wanted
		if r.Status == sysctl.Applied {
			wanted = r.After
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Key, orDash(r.Current), orDash(wanted), r.Status, r.Reason)
	}
	tw.Flush()
	for _, r := range results {
		if r.Detail != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Key, r.Detail)
		}
	}
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(w, "%s: %v\n", r.Key, r.Err)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// reportLedger says which reserved ports running fjord processes added
// and will release, and which ended ones left.
func reportLedger(w io.Writer, tu sysctl.Tuner) {
	ledger, err := tu.NewLedger()
	if err != nil {
		fmt.Fprintf(w, "%s: %v\n", sysctl.ReservedPortsKey, err)
		return
	}
	desc, err := ledger.Describe()
	switch {
	case err != nil:
		fmt.Fprintf(w, "%s: %v\n", sysctl.ReservedPortsKey, err)
	case desc != "":
		fmt.Fprintf(w, "%s: %s\n", sysctl.ReservedPortsKey, desc)
	}
}

// reportPersisted says whether the persisted file keeps the settings over
// a reboot.
func reportPersisted(w io.Writer, file string, settings []sysctl.Setting) {
	f, err := os.Open(file)
	if err != nil {
		fmt.Fprintf(w, "not persisted (%v): 'fjord sysctl persist' keeps these settings over a reboot\n", err)
		return
	}
	defer f.Close()
	conf, err := sysctl.ParseConf(f)
	if err != nil {
		fmt.Fprintf(w, "%s: %v\n", file, err)
		return
	}
	if gaps := sysctl.Unpersisted(settings, conf); len(gaps) > 0 {
		fmt.Fprintf(w, "%s does not keep %s over a reboot: run 'fjord sysctl persist' again\n", file, strings.Join(gaps, ", "))
		return
	}
	fmt.Fprintf(w, "%s keeps every setting over a reboot\n", file)
}

// checkHost is what 'fjord -c' checks of the host: that the user and group
// to drop to exist (HAProxy's -c fails on an unknown user too), and, as
// notices, where fjord's handling of the host differs from HAProxy's.
func checkHost(cfg *config.Config, stderr io.Writer) bool {
	g := &cfg.Global
	if _, err := resolveCredentials(g); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n[ALERT] Fatal errors found in configuration.\n", err)
		return false
	}
	if g.TuneSockmap == config.SockmapOn {
		// As fjord would at startup: 'on' means the kernel forwards, or
		// fjord does not start.
		if err := probeKernel(); err != nil {
			fmt.Fprintf(stderr, "[ALERT] global: 'tune.sockmap on': %v; use 'auto' or 'off'\n[ALERT] Fatal errors found in configuration.\n", err)
			return false
		}
	}
	if g.Sysctl == config.SysctlOn {
		fmt.Fprintln(stderr, "[NOTICE] 'tune.sysctl on' (the default): started as root, fjord raises kernel settings for a load balancer and logs each change, where HAProxy leaves the kernel alone; 'fjord sysctl check' lists them, 'tune.sysctl check' or 'off' keeps the kernel as it is")
	}
	if (g.User != "" || g.UID >= 0) && g.Group == "" && g.GID < 0 {
		fmt.Fprintln(stderr, "[NOTICE] 'user'/'uid' without 'group'/'gid': fjord also takes the user's own group and supplementary groups, where HAProxy keeps the group it started with (root's)")
	}
	return true
}
