// Package rules evaluates HAProxy's rule language: sample fetches and
// converters, ACL matching and conditions, compiled once from config's
// typed model and evaluated without allocating per request.
//
// It knows no socket. The engine hands it a Txn: the connection's
// addresses, the request and response heads, the client's TLS session
// and the session's variables.
package rules
