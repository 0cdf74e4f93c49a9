package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/fjordlb/fjord/config"
)

// refuseTLSUntilServed refuses a configuration with TLS on any bind or
// server, printing one alert for each, and reports whether it did.
//
// The configuration side of TLS is read and checked (config), but the
// data path that serves it is not in this build yet: started, fjord
// would listen in plaintext where TLS was meant, or speak plaintext to
// servers that expect TLS. Both 'fjord -c' and a start refuse it here,
// at each line. This file goes away, in one commit, when the engine
// serves TLS.
func refuseTLSUntilServed(cfg *config.Config, stderr io.Writer) bool {
	refused := false
	for _, px := range cfg.Proxies {
		done := map[*config.BindTLS]bool{}
		for _, b := range px.Binds {
			if b.TLS == nil || done[b.TLS] {
				continue
			}
			done[b.TLS] = true // the binds of one line share it
			addr := b.Addr.String()
			if b.Inherited {
				addr = "fd@" + strconv.Itoa(b.FD)
			}
			fmt.Fprintf(stderr, "[ALERT] %s: %s: 'bind %s ssl': TLS termination is parsed but this build of fjord does not serve it yet\n", b.Pos, px, addr)
			refused = true
		}
		for _, s := range px.Servers {
			switch {
			case s.TLS == nil:
				continue
			case s.TLS.Traffic:
				fmt.Fprintf(stderr, "[ALERT] %s: %s: 'server %s ssl': TLS to servers is parsed but this build of fjord does not speak it yet\n", s.Pos, px, s.Name)
			default:
				fmt.Fprintf(stderr, "[ALERT] %s: %s: 'server %s check-ssl': TLS health checks are parsed but this build of fjord does not run them yet\n", s.Pos, px, s.Name)
			}
			refused = true
		}
	}
	return refused
}
