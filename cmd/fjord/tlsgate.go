package main

import (
	"fmt"
	"io"

	"github.com/fjordlb/fjord/config"
)

// refuseTLSChecksUntilRun refuses a configuration whose health checks
// speak TLS ('check-ssl', or 'ssl' on a server whose checks go to its own
// address), printing one alert for each such server, and reports
// whether it did. TLS on binds and to servers is served; health checks
// over TLS are not run yet, and running them in clear against a TLS port
// would mark every server DOWN. This file goes away when they are.
func refuseTLSChecksUntilRun(cfg *config.Config, stderr io.Writer) bool {
	refused := false
	for _, px := range cfg.Proxies {
		for _, s := range px.Servers {
			if s.TLS == nil || !s.TLS.Checks || !s.Check {
				continue
			}
			fmt.Fprintf(stderr, "[ALERT] %s: %s: 'server %s': health checks over TLS (check-ssl, or ssl with check) are parsed but this build of fjord does not run them yet; use 'no-check-ssl' for plain checks on another 'port', or no 'check'\n", s.Pos, px, s.Name)
			refused = true
		}
	}
	return refused
}
