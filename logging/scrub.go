package logging

import (
	"net/netip"
	"strconv"
	"strings"
)

// Scrub returns msg with every IP address literal in it (alone or as
// ADDR:PORT, IPv6 also as [ADDR]:PORT) anonymised. Operational messages
// are free text from many places (the engine, the stats page, fasthttp), so
// with "log-anonymize" on they are scrubbed as a whole rather than trusted
// to format addresses carefully. A nil Anonymizer returns msg unchanged.
//
// What a replacement leaves around it (punctuation, the rest of a run of
// address characters) can form another address with the replacement's
// digits, so Scrub repeats until the text no longer changes: scrubbing
// only ever removes information, and a scrubbed line scrubbed again is the
// same line.
func (a *Anonymizer) Scrub(msg string) string {
	if a == nil {
		return msg
	}
	for range maxScrubPasses {
		next := a.scrubOnce(msg)
		if next == msg {
			break
		}
		msg = next
	}
	return msg
}

// maxScrubPasses bounds Scrub's repetitions; real text needs one or two.
const maxScrubPasses = 8

func (a *Anonymizer) scrubOnce(msg string) string {
	var out []byte // nil until something changes
	last := 0      // msg[:last] is in out
	for i := 0; i < len(msg); {
		// A run of address characters starts after a non-word byte, or
		// at a ':' glued to a word ("client:10.0.0.1").
		if !addrChar(msg[i]) || (i > 0 && isAlnum(msg[i-1]) && msg[i] != ':') {
			i++
			continue
		}
		j := i
		for j < len(msg) && addrChar(msg[j]) {
			j++
		}
		if j < len(msg) && isAlnum(msg[j]) {
			i = j // glued to a word ("1.2.3.4abc"): not an address
			continue
		}
		run := msg[i:j]
		if strings.Count(run, "::") > 1 || strings.Contains(run, ":::") {
			i = j // no address has two "::": garbage, not a glued pair
			continue
		}
		// Try the run, then what follows each ':' in it ("face:1.2.3.4"),
		// each as it is and without trailing punctuation. A run that
		// starts at a ':' glued to a word is only tried after that ':':
		// "word::" is a word and punctuation (the text a hashed address
		// leaves, "h0123abcd::", included), not the address "::".
		k := i
		if msg[i] == ':' && i > 0 && isAlnum(msg[i-1]) {
			k = i + 1
		}
		for start := k; k < j; {
			// After a ':' inside the run only IPv4 is taken: an IPv6
			// replacement there would merge with the hex digits before
			// it into another address ("0:" + "0:1::"), so a second
			// scrub would change the line again.
			v4only := k > start
			tok := msg[k:j]
			repl, ok := a.scrubToken(tok, v4only)
			if !ok {
				for len(tok) > 0 && (tok[len(tok)-1] == '.' || tok[len(tok)-1] == ':') {
					tok = tok[:len(tok)-1] // sentence punctuation
				}
				repl, ok = a.scrubToken(tok, v4only)
			}
			if ok {
				// An address that is already anonymised (truncation
				// keeps it an address) stays as it is: the confirming
				// pass then returns msg itself, without copying.
				if string(repl) != tok {
					out = append(out, msg[last:k]...)
					out = append(out, repl...)
					last = k + len(tok)
				}
				break
			}
			c := k
			for c < j && msg[c] != ':' {
				c++
			}
			k = c + 1
		}
		i = j
	}
	if out == nil {
		return msg
	}
	return string(append(out, msg[last:]...))
}

// scrubToken anonymises tok if it is ADDR or ADDR:PORT (with v4only, only
// an IPv4 ADDR).
func (a *Anonymizer) scrubToken(tok string, v4only bool) ([]byte, bool) {
	if addr, err := netip.ParseAddr(tok); err == nil && (!v4only || addr.Is4()) {
		return a.AppendAddr(nil, addr), true
	}
	// IPv4:PORT; an IPv6 address with a port is written in brackets,
	// and '[' is not part of a token, so its inside is handled above.
	for k := len(tok) - 1; k > 0; k-- {
		if tok[k] != ':' {
			continue
		}
		addr, err := netip.ParseAddr(tok[:k])
		if err != nil || !addr.Is4() {
			return nil, false
		}
		port, err := strconv.ParseUint(tok[k+1:], 10, 16)
		if err != nil {
			return nil, false
		}
		return a.AppendAddrPort(nil, netip.AddrPortFrom(addr, uint16(port))), true
	}
	return nil, false
}

func addrChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
