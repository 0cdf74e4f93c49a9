package main

import (
	"fmt"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/ktls"
)

// The TLS record layer in use, and why. Where the kernel has kTLS
// (TCP_ULP "tls", then TLS_TX/TLS_RX), established sessions are handed
// to it and the loops splice their plaintext; elsewhere, and under
// 'tune.ssl.ktls off', the loops seal and open records in user space
// (tls/record). 'tune.ssl.maxrecord' keeps sessions in user space: the
// kernel seals full records, and a limit it would not apply is not
// quietly dropped.

// probeKTLS is ktls.Probe, replaceable by tests.
var probeKTLS = ktls.Probe

// recordLayer says which record layer serves TLS under g's
// 'tune.ssl.ktls' and record limits, in words, and whether the kernel's:
// or why fjord cannot start with it.
func recordLayer(g *config.Global) (desc string, kernel bool, err error) {
	mode := g.TuneSSLKTLS
	const user = "TLS records are sealed and opened in user space on the event loops"
	if mode == config.KTLSOff {
		return user + " ('tune.ssl.ktls off')", false, nil
	}
	perr := probeKTLS()
	limited := maxRecord(g) > 0
	switch {
	case mode == config.KTLSOn && perr != nil:
		return "", false, fmt.Errorf("'tune.ssl.ktls on': the kernel has no kTLS: %v; use 'auto' or 'off'", perr)
	case mode == config.KTLSOn && limited:
		return "", false, fmt.Errorf("'tune.ssl.ktls on' and 'tune.ssl.maxrecord' (or 'tune.ssl.hard-maxrecord'): the kernel seals full records and would not apply the limit; drop one of them")
	case perr != nil:
		return user + " (the kernel has no kTLS: " + perr.Error() + ")", false, nil
	case limited:
		return user + " (the kernel has kTLS, but 'tune.ssl.maxrecord' or 'tune.ssl.hard-maxrecord' limits records, which kTLS would not)", false, nil
	}
	return "the kernel seals and opens TLS records (kTLS) and the event loops splice plaintext; a session whose cipher the kernel lacks stays in user space", true, nil
}
