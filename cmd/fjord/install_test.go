package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// makeInstall runs `make install` of this repository with the variables
// given, and returns its output.
func makeInstall(t *testing.T, vars ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not in PATH")
	}
	args := append([]string{"-C", filepath.Join("..", ".."), "install", "GO=" + goBin}, vars...)
	out, err := exec.CommandContext(ctx, "make", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestMakeInstall(t *testing.T) {
	dest := t.TempDir()
	makeInstall(t, "DESTDIR="+dest)

	bin := filepath.Join(dest, "usr/local/sbin/fjord")
	st, err := os.Stat(bin)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("binary: %v %v", st, err)
	}
	if out, err := exec.Command(bin, "-v").Output(); err != nil || !strings.HasPrefix(string(out), "fjord version ") {
		t.Fatalf("installed fjord -v: %q %v", out, err)
	}
	cfg := filepath.Join(dest, "etc/fjord/fjord.cfg")
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "fjord.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(cfg); err != nil || !bytes.Equal(got, example) {
		t.Fatalf("installed configuration differs from examples/fjord.cfg (%v)", err)
	}
	// What ExecStartPre runs must pass on what was installed.
	if out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput(); err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("fjord -c on the installed configuration: %v\n%s", err, out)
	}
	unit, err := os.ReadFile(filepath.Join(dest, "usr/local/lib/systemd/system/fjord.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Environment=CONFIG=/etc/fjord/fjord.cfg\n",
		"ExecStartPre=/usr/local/sbin/fjord -c -f ${CONFIG}\n",
		"ExecStart=/usr/local/sbin/fjord -db -f ${CONFIG}\n",
		"ExecReload=/bin/kill -HUP $MAINPID\n",
		"Type=notify\n", "NotifyAccess=all\n", "Restart=on-failure\n",
		"WantedBy=multi-user.target\n",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	if bytes.Contains(unit, []byte("@")) || bytes.Contains(unit, []byte(dest)) {
		t.Errorf("unit has a placeholder or the staging directory left:\n%s", unit)
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/local/share/doc/fjord/process.md")); err != nil {
		t.Errorf("docs: %v", err)
	}
	// The socket unit is an example: installed as a unit, it would be
	// started with fjord.service and take the ports a configuration with
	// addresses binds.
	if _, err := os.Stat(filepath.Join(dest, "usr/local/share/doc/fjord/fjord.socket")); err != nil {
		t.Errorf("socket unit example: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/local/lib/systemd/system/fjord.socket")); err == nil {
		t.Error("the socket unit was installed as a unit")
	}

	// Installing again (an upgrade) keeps the configuration the user
	// wrote, and replaces the binary.
	mine := []byte("# mine\n" + string(example))
	if err := os.WriteFile(cfg, mine, 0o640); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, []byte("old"), 0o755)
	out := makeInstall(t, "DESTDIR="+dest)
	if got, _ := os.ReadFile(cfg); !bytes.Equal(got, mine) {
		t.Fatal("make install overwrote an existing fjord.cfg")
	}
	if !strings.Contains(out, "kept "+cfg) {
		t.Errorf("make install did not say it kept the configuration:\n%s", out)
	}
	if got, _ := os.ReadFile(bin); string(got) == "old" {
		t.Error("make install did not replace the binary")
	}
}

// TestMakeInstallPrefix installs into a real (temporary) prefix, so that
// the unit's paths exist and systemd can check the unit.
func TestMakeInstallPrefix(t *testing.T) {
	root := t.TempDir()
	makeInstall(t, "PREFIX="+root+"/opt", "SYSCONFDIR="+root+"/etc")
	unitPath := filepath.Join(root, "opt/lib/systemd/system/fjord.service")
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStartPre=" + root + "/opt/sbin/fjord -c -f ${CONFIG}\n",
		"Environment=CONFIG=" + root + "/etc/fjord/fjord.cfg\n",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit's syntax is not checked")
	}
	out, err := exec.Command(analyze, "verify", unitPath).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
