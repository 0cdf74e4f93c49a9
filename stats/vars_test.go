package stats

import (
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// The runtime API reads and sets proc variables as HAProxy's does: "get
// var" at operator level, "set var" only in experimental mode, which only
// an admin can turn on, and only for its own connection.
func TestProcVarCommands(t *testing.T) {
	src := testSources(t)
	admin := &API{Src: src, Level: config.LevelAdmin}
	for _, step := range []struct{ cmd, want string }{
		{"get var proc.clitest_x", "Variable not found.\n"},
		{"get var", "Missing process-wide variable identifier.\n"},
		{"get var txn.x", "'get var': cannot use variable 'txn.x', only scope 'proc' is permitted here.\n"},
		{"set var proc.clitest_x int(7)", "This command is restricted to experimental mode only.\n"},
		{"experimental-mode", "experimental-mode is OFF\n"},
		{"experimental-mode on", ""},
		{"experimental-mode", "experimental-mode is ON\n"},
		{"set var proc.clitest_x int(7)", ""},
		{"get var proc.clitest_x", "proc.clitest_x: type=sint value=<7>"},
		{"set var proc.clitest_x expr int(7),add(1)", ""},
		{"get var proc.clitest_x", "proc.clitest_x: type=sint value=<8>"},
		{`set var proc.clitest_s fmt x%[var(proc.clitest_x)]\ y`, ""},
		{"get var proc.clitest_s", "proc.clitest_s: type=str value=<x8 y>"},
		{"set var proc.clitest_b expr bin(41000102)", ""},
		{"get var proc.clitest_b", "proc.clitest_b: type=bin value=<A>"}, // a NUL ends bytes shown as text
		{"set var proc.clitest_a str(10.0.0.1),ipmask(8)", ""},
		{"get var proc.clitest_a", "proc.clitest_a: type=ipv4 value=<10.0.0.0>"},
		{"set var proc.clitest_x", "Missing either 'expr', 'fmt' or expression.\n"},
		{"set var proc.clitest_x str x", "'set var': arg type must be either 'expr' or 'fmt' but got 'str'.\n"},
		{"set var txn.x int(1)", "'set var': cannot use variable 'txn.x', only scope 'proc' is permitted here.\n"},
		{"set var proc.clitest_x src", "'set var': 'src' reads a connection or a message, which the runtime API has none of.\n"},
		{"set var proc.clitest_x nbsrv(web)", ""},
		{"get var proc.clitest_x", "proc.clitest_x: type=sint value=<2>"},
		{"set var proc.clitest_x nbsrv(nope)", "'set var': parsing [CLI] : no backend 'nope'.\n"},
		{"experimental-mode maybe", "'experimental-mode' expects 'on' or 'off', not 'maybe'.\n"},
		{"experimental-mode off", ""},
		{"set var proc.clitest_x int(1)", "This command is restricted to experimental mode only.\n"},
	} {
		if got := admin.Exec(step.cmd); got != step.want {
			t.Errorf("%s:\n got %q\nwant %q", step.cmd, got, step.want)
		}
	}

	// The mode belongs to a connection, and is an admin's to turn on.
	op := &API{Src: src, Level: config.LevelOperator}
	if got := op.Exec("experimental-mode on"); got != "Permission denied\n" {
		t.Errorf("operator turning experimental mode on: %q", got)
	}
	if got := op.Exec("get var proc.clitest_s"); got != "proc.clitest_s: type=str value=<x8 y>" {
		t.Errorf("operator reading a variable: %q", got)
	}
	other := &API{Src: src, Level: config.LevelAdmin}
	if got := other.Exec("set var proc.clitest_x int(1)"); !strings.Contains(got, "experimental mode only") {
		t.Errorf("another connection inherited experimental mode: %q", got)
	}
	if help := other.Exec("help"); strings.Contains(help, "set var") || !strings.Contains(help, "get var") {
		t.Errorf("help outside experimental mode lists set var, or not get var:\n%s", help)
	}
}
