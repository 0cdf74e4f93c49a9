// Package certs is the certificate store for TLS termination: it loads
// certificates the way HAProxy 2.6 does ("crt" files, directories and
// multi-cert bundles, "crt-list" files, the sidecar files of
// "ssl-load-extra-files all") and picks one per handshake by SNI, with
// HAProxy's rules (exact names, one-label wildcards, crt-list filters,
// ECDSA before RSA when the client supports it, the first certificate as
// the default, strict-sni). It also reads the revocation lists of
// "crl-file", version 1 as well as version 2 (ParseCRL, ParseCRLs,
// CheckCRL).
//
// It knows nothing of sockets nor of the configuration language: the
// caller hands it paths and the bases of "crt-base" and "ca-base", and
// installs Store.GetCertificate in a tls.Config. docs/tls.md describes the
// formats and rules, and where fjord differs from HAProxy.
package certs
