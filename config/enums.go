package config

import (
	"strconv"
	"strings"
)

// Configuration values that are one of a fixed set of words are typed
// constants, parsed once here, so that no other package compares strings
// on the data path. Each type's words live in one table, which serves both
// parsing and String.

// words lists the configuration words of an enumerated type's values,
// indexed by value.
type words[T ~uint8] []string

func (w words[T]) parse(word string) (T, bool) {
	for i, s := range w {
		if s == word && s != "" {
			return T(i), true
		}
	}
	return 0, false
}

func (w words[T]) name(v T) string {
	if int(v) < len(w) && w[v] != "" {
		return w[v]
	}
	return strconv.Itoa(int(v))
}

// alternatives is the list of words for an error message: "a, b or c".
func (w words[T]) alternatives() string {
	var ws []string
	for _, s := range w {
		if s != "" {
			ws = append(ws, s)
		}
	}
	if len(ws) < 2 {
		return strings.Join(ws, "")
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " or " + ws[len(ws)-1]
}

// BalanceAlgorithm is a "balance" algorithm.
type BalanceAlgorithm uint8

const (
	BalanceRoundRobin BalanceAlgorithm = iota // the default
	BalanceStaticRR
	BalanceLeastConn
	BalanceFirst
	BalanceSource
	BalanceURI
	BalanceURLParam
	BalanceHdr
	BalanceRandom
)

var balanceWords = words[BalanceAlgorithm]{"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param", "hdr", "random"}

func (a BalanceAlgorithm) String() string { return balanceWords.name(a) }

// Hashed reports whether the algorithm maps a key of the request to a
// server (source, uri, url_param, hdr).
func (a BalanceAlgorithm) Hashed() bool {
	return a == BalanceSource || a == BalanceURI || a == BalanceURLParam || a == BalanceHdr
}

// NeedsHTTP reports whether the algorithm reads the HTTP request.
func (a BalanceAlgorithm) NeedsHTTP() bool {
	return a == BalanceURI || a == BalanceURLParam || a == BalanceHdr
}

// HashMethod is how "hash-type" maps a hash to a server.
type HashMethod uint8

const (
	HashMapBased   HashMethod = iota // the default
	HashConsistent                   // consistent hashing: keys move little when servers change
)

var hashMethodWords = words[HashMethod]{"map-based", "consistent"}

func (m HashMethod) String() string { return hashMethodWords.name(m) }

// HashFunction is the hash function of "hash-type".
type HashFunction uint8

const (
	HashSDBM HashFunction = iota // the default
	HashDJB2
	HashWT6
	HashCRC32
)

var hashFunctionWords = words[HashFunction]{"sdbm", "djb2", "wt6", "crc32"}

func (f HashFunction) String() string { return hashFunctionWords.name(f) }

// ObserveMode is a server's "observe": what live traffic tells the health
// checks.
type ObserveMode uint8

const (
	ObserveNone   ObserveMode = iota // passive checks off (the default)
	ObserveLayer4                    // failed connections count as errors
	ObserveLayer7                    // so do invalid responses and 5xx statuses
)

// "observe none" turns off what a default-server line turned on.
var observeWords = words[ObserveMode]{"none", "layer4", "layer7"}

func (m ObserveMode) String() string { return observeWords.name(m) }

// OnErrorAction is a server's "on-error": what reaching "error-limit" does.
type OnErrorAction uint8

const (
	OnErrorFailCheck   OnErrorAction = iota // count a failed check (the default)
	OnErrorFastInter                        // check at fastinter
	OnErrorSuddenDeath                      // as if all but one check failed
	OnErrorMarkDown                         // mark the server down at once
)

var onErrorWords = words[OnErrorAction]{"fail-check", "fastinter", "sudden-death", "mark-down"}

func (a OnErrorAction) String() string { return onErrorWords.name(a) }

// APILevel is a runtime API socket's "level": what its commands may do.
// The levels are ordered: a higher one may do what a lower one may.
type APILevel uint8

const (
	LevelUser     APILevel = iota + 1 // read-only commands
	LevelOperator                     // also clearing counters (HAProxy's default)
	LevelAdmin                        // everything, changing servers included
)

var apiLevelWords = words[APILevel]{"", "user", "operator", "admin"}

func (l APILevel) String() string { return apiLevelWords.name(l) }

// ExpectKind is what "http-check expect" matches.
type ExpectKind uint8

const (
	ExpectStatus  ExpectKind = iota // the status code, in a list of codes and ranges
	ExpectRStatus                   // the status code, against a regular expression
	ExpectString                    // the body contains a string
	ExpectRString                   // the body matches a regular expression
)

var expectWords = words[ExpectKind]{"status", "rstatus", "string", "rstring"}

func (k ExpectKind) String() string { return expectWords.name(k) }

// ReadsBody reports whether the match needs the response body.
func (k ExpectKind) ReadsBody() bool { return k == ExpectString || k == ExpectRString }

// LogFormat is a log target's "format".
type LogFormat uint8

const (
	LogRFC3164 LogFormat = iota // BSD syslog (the default)
	LogRFC5424
	LogRaw
	LogShort
	LogJSON // fjord addition
)

var logFormatWords = words[LogFormat]{"rfc3164", "rfc5424", "raw", "short", "json"}

func (f LogFormat) String() string { return logFormatWords.name(f) }

// RedirectKind is what a "redirect" rule builds its Location from.
type RedirectKind uint8

const (
	RedirectLocation RedirectKind = iota // "location": the target as written
	RedirectPrefix                       // "prefix": the target, then the request's path and query
	RedirectScheme                       // "scheme": the target, "://", the Host field, then the path and query
)

var redirectKindWords = words[RedirectKind]{"location", "prefix", "scheme"}

func (k RedirectKind) String() string { return redirectKindWords.name(k) }

// RedirectFlags are a "redirect" rule's options.
type RedirectFlags uint8

const (
	// RedirectDropQuery ("drop-query") leaves the query string out of a
	// prefix or scheme redirect's Location.
	RedirectDropQuery RedirectFlags = 1 << iota
	// RedirectAppendSlash ("append-slash") ends a prefix or scheme
	// redirect's Location with '/' when it does not already.
	RedirectAppendSlash
	// RedirectIgnoreEmpty ("ignore-empty") is accepted as HAProxy
	// accepts it; it acts only on log-format locations, which the
	// classic keyword does not have.
	RedirectIgnoreEmpty
)

// RedirectReason is the reason phrase HAProxy sends with a redirect's
// status code (http_apply_redirect_rule), or "" for a code a redirect
// cannot have.
func RedirectReason(code int) string { return redirectReasons[code] }

var redirectReasons = map[int]string{
	301: "Moved Permanently",
	302: "Found",
	303: "See Other",
	307: "Temporary Redirect",
	308: "Permanent Redirect",
}

// SockmapMode is the fjord addition 'tune.sockmap': whether established
// mode tcp sessions and HTTP tunnels are forwarded by the kernel (a BPF
// sockmap) instead of the event loops.
type SockmapMode uint8

const (
	SockmapOff  SockmapMode = iota // the event loops forward every session (the default)
	SockmapAuto                    // the kernel forwards where the BPF program loads, else the loops
	SockmapOn                      // the kernel forwards; fjord refuses to start where the program does not load
)

var sockmapWords = words[SockmapMode]{"off", "auto", "on"}

func (m SockmapMode) String() string { return sockmapWords.name(m) }
