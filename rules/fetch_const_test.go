package rules

import (
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

// env() reads the environment config reads "$NAME" from, once.
func TestFetchEnv(t *testing.T) {
	env := map[string]string{"DC": "paris", "EMPTY": ""}
	text := "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
		"frontend fe\n  bind 127.0.0.1:8080\n" +
		"  acl dc env(DC) -m found\n  acl empty env(EMPTY) -m found\n  acl unset env(UNSET) -m found\n  acl peer env(HAPROXY_LOCALPEER) -m found\n" +
		"  use_backend be if dc empty unset peer\n  default_backend be\nbackend be\n  server s1 127.0.0.1:8081\n"
	cfg, err := config.Parse("env.cfg", []byte(text), config.Options{
		Resolver:  config.NoResolver,
		LookupEnv: func(name string) (string, bool) { v, ok := env[name]; return v, ok },
		LocalPeer: "lb1",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"paris", "", noSample, "lb1"}
	for i, ct := range cfg.Frontends()[0].UseBackends[0].Cond.Or[0] {
		v, ok := NewCompiler().Expr(ct.ACL.Terms[0].Expr).Eval(&Txn{})
		if got := sampleText(v, ok); got != want[i] {
			t.Errorf("%s: got %q, want %q", ct.ACL.Terms[0].Expr.Text, got, want[i])
		}
	}
	runErrorCases(t, map[string][]string{"env": {"'env' takes 1 argument(s), found 0"}, "env()": {"'env' takes 1 argument(s), found 0"}})
}

func TestFetchDateRand(t *testing.T) {
	now := func(tx *Txn) { tx.Now = time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC) }
	i := config.TypeInt
	runSampleCases(t, "", now, []sampleCase{
		{"date", "1767323045", i},
		{"date(10)", "1767323055", i},
		{"date(-5,s)", "1767323040", i},
		{"date(0,ms)", "1767323045678", i},
		{"date(-1000,ms)", "1767323044678", i},
		{"date(1,us)", "1767323045678902", i},
		{"rand(1)", "0", i},
		{"rand(0)", "0", i},
	})
	// Without a time from the engine, date is the clock's.
	v, ok := compileSample(t, "date").Eval(&Txn{})
	if d := time.Now().Unix() - v.I; !ok || d < 0 || d > 5 {
		t.Errorf("date without Txn.Now: %d, %v", v.I, ok)
	}
	e := compileSample(t, "rand(6)")
	seen := map[int64]bool{}
	for range 1000 {
		v, ok := e.Eval(&Txn{})
		if !ok || v.I < 0 || v.I >= 6 {
			t.Fatalf("rand(6) = %d, %v", v.I, ok)
		}
		seen[v.I] = true
	}
	if len(seen) != 6 {
		t.Errorf("rand(6) gave %d distinct values in 1000", len(seen))
	}
	if v, _ := compileSample(t, "rand").Eval(&Txn{}); v.I < 0 || v.I > 1<<32-1 {
		t.Errorf("rand = %d, not a 32-bit unsigned integer", v.I)
	}
	runErrorCases(t, map[string][]string{
		"date(0,m)":    {"argument 2 of 'date'", "'m' is not a time unit (s, ms or us)"},
		"date(,ms)":    {"argument 1 of 'date' is empty", "'ms' would be ignored"},
		"date(x)":      {"argument 1 of 'date'", "'x' is not an integer"},
		"rand(x)":      {"argument 1 of 'rand'", "not an integer"},
		"date(5,)":     {"argument 2 of 'date'", "'' is not a time unit"},
		"date(3600)":   nil,
		"rand(100)":    nil,
		"rand()":       nil,
		"date(0,us)":   nil,
		"env(A),lower": nil,
	})
}
