package config

import "testing"

// An fcgi-app section is read and checked as HAProxy reads it, with a
// notice that it changes nothing; the proxies around it are unaffected.
func TestFCGIAppSection(t *testing.T) {
	cfg := mustParse(t, httpFE()+lines(
		"fcgi-app php",
		"  docroot /var/www/html",
		"  index index.php",
		"  path-info ^(/.+\\.php)(/.*)?$",
		"  acl is_post method POST",
		"  set-param REDIRECT_STATUS 200",
		"  set-param POST_ONLY %[req.hdr(host)] if is_post",
		"  pass-header x-real-ip unless { src 10.0.0.0/8 }",
		"  option keep-conn",
		"  no option get-values",
		"  option mpxs-conns",
		"  option max-reqs 10",
		"  log-stderr global",
		"backend be2",
		"  mode http",
	))
	if n := len(diags(cfg, "fcgi-app 'php': fjord does not speak FastCGI")); n != 1 {
		t.Errorf("%d notices about the section, want 1: %v", n, cfg.Diagnostics)
	}
	for _, px := range cfg.Proxies {
		if px.Section == "fcgi-app" {
			t.Errorf("the fcgi-app section became a proxy: %v", px)
		}
	}
	if proxy(t, cfg, "backend", "be2").Mode != ModeHTTP {
		t.Error("the section after fcgi-app was not read")
	}
	// max-reqs without multiplexing is ignored, as HAProxy warns.
	cfg = mustParse(t, httpFE()+lines("fcgi-app php", "  docroot /srv", "  option max-reqs 4"))
	if ds := diags(cfg, "multiplexing not supported, ignore the option 'max-reqs'"); len(ds) != 1 || ds[0].Severity != Warning || ds[0].Pos != at(10) {
		t.Errorf("want a warning about max-reqs at line 10: %v", cfg.Diagnostics)
	}
}

func TestFCGIAppErrors(t *testing.T) {
	app := func(l ...string) string { return httpFE() + lines(append([]string{"fcgi-app php"}, l...)...) }
	runErrorCases(t, testResolver(), []errCase{
		{"no docroot", httpFE() + lines("fcgi-app php #ERR", "  index index.php"), []string{"fcgi-app 'php': no docroot configured"}},
		{"no name", httpFE() + lines("fcgi-app #ERR", "  docroot /srv"), []string{"'fcgi-app' expects a name"}},
		{"two names", httpFE() + lines("fcgi-app a b #ERR", "  docroot /srv"), []string{"'fcgi-app a': unexpected argument 'b'"}},
		{"bad name", httpFE() + lines("fcgi-app a/b #ERR", "  docroot /srv"), []string{"invalid character '/' in fcgi-app name 'a/b'"}},
		{"same name", httpFE() + lines("fcgi-app php", "  docroot /srv", "fcgi-app php #ERR", "  docroot /srv"), []string{"fcgi-app section 'php' has the same name as another one declared at test.cfg:8"}},
		{"unknown keyword", app("  docroot /srv", "  server s 127.0.0.1:9000 #ERR"), []string{"unknown keyword 'server' in 'fcgi-app' section"}},
		{"docroot without a path", app("  docroot #ERR", "  docroot /srv"), []string{"'docroot' expects a path"}},
		{"bad path-info", app("  docroot /srv", "  path-info ^(/.+\\.php #ERR"), []string{"'path-info': invalid regular expression"}},
		{"acl or", app("  docroot /srv", "  acl or path /x #ERR"), []string{"acl name 'or' will never match"}},
		{"acl without criterion", app("  docroot /srv", "  acl a #ERR"), []string{"'acl' expects a name, a criterion and values"}},
		{"set-param without value", app("  docroot /srv", "  set-param NAME #ERR"), []string{"'set-param' expects a parameter name and a value"}},
		{"set-param bad format", app("  docroot /srv", "  set-param NAME %[nope] #ERR"), []string{"'set-param NAME'", "unknown sample fetch 'nope'"}},
		{"pass-header bad condition", app("  docroot /srv", "  pass-header x-a when x #ERR"), []string{"'pass-header x-a': expected 'if' or 'unless'"}},
		{"undefined ACL", app("  docroot /srv", "  pass-header x-a if nope #ERR"), []string{"fcgi-app 'php': condition refers to undefined ACL 'nope'"}},
		{"option without name", app("  docroot /srv", "  option #ERR"), []string{"'option' expects an option name"}},
		{"unknown option", app("  docroot /srv", "  option keepalive #ERR"), []string{"unknown option 'keepalive'"}},
		{"option with an argument", app("  docroot /srv", "  option keep-conn yes #ERR"), []string{"'option keep-conn' takes no argument"}},
		{"max-reqs zero", app("  docroot /srv", "  option max-reqs 0 #ERR"), []string{"option 'max-reqs' expects a strictly positive integer argument (found '0')"}},
		{"no max-reqs", app("  docroot /srv", "  no option max-reqs #ERR"), []string{"negation is not supported for option 'max-reqs'"}},
		{"bad log-stderr", app("  docroot /srv", "  log-stderr #ERR"), []string{"'log-stderr'"}},
		{"use-fcgi-app", lines("frontend fe", "  mode http", "  bind 127.0.0.1:8000", "  default_backend be", "backend be", "  mode http", "  use-fcgi-app php #ERR"), []string{"unknown keyword 'use-fcgi-app'"}},
	})
}
