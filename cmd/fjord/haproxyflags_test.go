package main

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// HAProxy's scripts/run-regtests.sh reads 'haproxy -vv' with these lines
// (v2.6.0, which the reg-tests fjord runs come from; the newer form keeps
// the first two patterns), then takes the version's third word and turns
// it into a number to compare with #REQUIRE_VERSION. fjord's -vv must
// give it the HAProxy version whose configuration fjord follows, its
// target and its feature list.
const runRegtestsParse = `
{ read HAPROXY_VERSION; read TARGET; read FEATURES; read SERVICES; } << EOF
$($HAPROXY_PROGRAM $HAPROXY_ARGS -vv | grep 'HA-\?Proxy version\|TARGET.*=\|^Feature\|^Available services' | sed 's/.* [:=] //')
EOF
HAPROXY_VERSION=$(echo $HAPROXY_VERSION | cut -d " " -f 3)
_version() {
  OLDIFS="$IFS"; IFS="."; set -- $*; IFS="$OLDIFS"
  set -- ${1%%[!0-9]*} 000${2%%[!0-9]*} 000${3%%[!0-9]*} 000${4%%[!0-9]*}
  prf2=${2%???}; prf3=${3%???}; prf4=${4%???}
  echo ${1}${2#$prf2}${3#$prf3}${4#$prf4}
}
FEATURES_PATTERN=" $FEATURES "
has() { [ -z "${FEATURES_PATTERN##* +$1 *}" ] && echo yes || echo no; }
echo "version=$HAPROXY_VERSION"
echo "number=$(_version $HAPROXY_VERSION)"
echo "target=$TARGET"
echo "services=$SERVICES"
echo "EPOLL=$(has EPOLL) OPENSSL=$(has OPENSSL) LUA=$(has LUA)"
{ read NEWER_VERSION; read NEWER_TARGET; } << EOF
$($HAPROXY_PROGRAM $HAPROXY_ARGS -vv | grep -E 'HA-?Proxy version|TARGET.*=' | sed 's/.* [:=] //')
EOF
echo "newer=$(echo $NEWER_VERSION | cut -d " " -f 3) $NEWER_TARGET"
`

func TestVerboseVersionAsRunRegtestsReadsIt(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	// With run-regtests.sh's default HAPROXY_ARGS, and with none.
	for _, args := range []string{"-dM", ""} {
		t.Run("HAPROXY_ARGS="+args, func(t *testing.T) {
			cmd := exec.Command("bash", "-c", runRegtestsParse)
			cmd.Env = append(os.Environ(), "FJORD_TEST_MAIN=1", "HAPROXY_PROGRAM="+os.Args[0], "HAPROXY_ARGS="+args)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			want := "version=2.6.0-fjord\nnumber=2006000000\ntarget=linux-go\nservices=none\n" +
				"EPOLL=yes OPENSSL=no LUA=no\nnewer=2.6.0-fjord linux-go\n"
			if string(out) != want {
				t.Errorf("run-regtests.sh reads:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

func TestVerboseVersion(t *testing.T) {
	code, stdout, stderr := runFjord(t, "-vv")
	if code != 0 || stderr != "" {
		t.Fatalf("fjord -vv: exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	// The first line says it is fjord, which one, and whose configuration
	// language it reads.
	for _, want := range []string{"HAProxy version 2.6.0-fjord ", "fjord " + version, "reads HAProxy 2.6.0 configuration files", "it is not HAProxy"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("first line %q lacks %q", lines[0], want)
		}
	}
	// Exactly one line for each pattern a parser looks for.
	for _, pat := range []string{"Proxy version", "TARGET", "Feature list", "Available services"} {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, pat) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d lines with %q, want 1:\n%s", n, pat, stdout)
		}
	}
	if !strings.Contains(stdout, "\nFeature list : +EPOLL +LINUX_SPLICE ") || !strings.Contains(stdout, " -OPENSSL ") {
		t.Errorf("feature list:\n%s", stdout)
	}
}

func TestHAProxyFlags(t *testing.T) {
	// The configuration says what it reads as the local peer's name.
	cfg := writeFile(t, t.TempDir(), "valid.cfg", ".notice \"local peer ${HAPROXY_LOCALPEER}\"\n"+validCfg)
	host, _ := os.Hostname()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // once; "": no notice about a flag
		wantPeer   string // "": not looked at
	}{
		{"-d is -db, said once", []string{"-d", "-c", "-f", cfg}, 0, "[NOTICE] -d (HAProxy's debug mode) is read as -db", host},
		{"-dM changes nothing, said once", []string{"-dM", "-c", "-f", cfg}, 0, "[NOTICE] -dM (HAProxy's memory poisoning) changes nothing", host},
		{"-L names the local peer", []string{"-L", "A", "-c", "-f", cfg}, 0, "", "A"},
		{"the local peer is the host by default", []string{"-c", "-f", cfg}, 0, "", host},
		{"-L needs a name", []string{"-c", "-f", cfg, "-L"}, 1, "flag needs an argument: -L", ""},
		{"-W refused", []string{"-W", "-c", "-f", cfg}, 1, "fjord: -W/-Ws (master-worker mode) is not supported: fjord has no master process", ""},
		{"-Ws refused", []string{"-Ws", "-f", cfg}, 1, "-W/-Ws (master-worker mode) is not supported", ""},
		{"-S refused", []string{"-S", "fd@3", "-f", cfg}, 1, "fjord: -S fd@3 (the master CLI) is not supported", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runFjord(t, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if tc.wantStderr == "" && strings.Contains(stderr, "[NOTICE] -") || tc.wantStderr != "" && strings.Count(stderr, tc.wantStderr) != 1 {
				t.Errorf("stderr, want %q once:\n%s", tc.wantStderr, stderr)
			}
			if tc.wantPeer != "" && !strings.Contains(stderr, "'local peer "+tc.wantPeer+"'") {
				t.Errorf("the configuration did not read the local peer as %q:\n%s", tc.wantPeer, stderr)
			}
		})
	}
}

// -d keeps fjord in the foreground even when the configuration says
// 'daemon', as -db does: VTest starts HAProxy so and waits for it.
func TestDebugFlagStaysInTheForeground(t *testing.T) {
	be := startBackend(t, 0)
	fe := freeAddr(t)
	cfg := httpConfig(t, t.TempDir(), fe, be.addr, "  daemon")
	fp := startFjord(t, nil, "-d", "-f", cfg)
	fp.log.wait(t, 0, "listening on", 10*time.Second)
	if err := get(&http.Client{Timeout: 5 * time.Second}, "http://"+fe+"/", "ok"); err != nil {
		t.Fatal(err)
	}
	if !alive(fp.pid()) {
		t.Fatal("fjord -d went to the background")
	}
}
