package rules

import "github.com/fjordlb/fjord/config"

// The client's TLS session (ssl_fc*, ssl_c_*) and the ClientHello peeked
// in tcp mode (req.ssl_*).

func init() {
	tlsStr := func(get func(TLSSession) string) fetchFn {
		return func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
			if t.TLS == nil {
				return Value{}, false
			}
			s := get(t.TLS)
			return strValue(strBytes(s)), s != ""
		}
	}
	fetchFns["ssl_fc"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return boolValue(t.TLS != nil), true
	}
	fetchFns["ssl_fc_sni"] = tlsStr(TLSSession.SNI)
	fetchFns["ssl_fc_protocol"] = tlsStr(TLSSession.Protocol)
	fetchFns["ssl_fc_cipher"] = tlsStr(TLSSession.Cipher)
	fetchFns["ssl_fc_alpn"] = tlsStr(TLSSession.ALPN)
	fetchFns["ssl_c_s_dn"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.TLS == nil || !t.TLS.HasPeerCert() {
			return Value{}, false
		}
		return strValue(strBytes(t.TLS.PeerSubjectDN())), true
	}
	fetchFns["ssl_c_used"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return boolValue(t.TLS != nil && t.TLS.HasPeerCert()), t.TLS != nil
	}
	fetchFns["ssl_c_verify"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		// A value on every TLS connection, 0 without a certificate, as
		// HAProxy's (OpenSSL's SSL_get_verify_result).
		if t.TLS == nil {
			return Value{}, false
		}
		return intValue(t.TLS.VerifyResult()), true
	}

	fetchFns["req.ssl_sni"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Hello == nil || t.Hello.SNI == "" {
			return Value{}, false
		}
		return strValue(strBytes(t.Hello.SNI)), true
	}
	fetchFns["req.ssl_hello_type"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Hello == nil {
			return Value{}, false
		}
		return intValue(t.Hello.HelloType), true
	}
	fetchFns["req.ssl_ver"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Hello == nil {
			return Value{}, false
		}
		return intValue(t.Hello.Version), true
	}
	fetchFns["req.ssl_ec_ext"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Hello == nil || !t.Hello.Ext {
			return Value{}, false
		}
		return boolValue(t.Hello.ECExt), true
	}
	fetchFns["req.ssl_st_ext"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.Hello == nil || !t.Hello.Ext {
			return Value{}, false
		}
		return intValue(t.Hello.STExt), true
	}
	// Every protocol the client offers, one a value in an ACL; the
	// first one elsewhere.
	fetchFns["req.ssl_alpn"] = func(t *Txn, _ []config.Arg, it *iter) (Value, bool) {
		if t.Hello == nil || it.h >= len(t.Hello.ALPN) {
			return Value{}, false
		}
		p := t.Hello.ALPN[it.h]
		it.h++
		it.more = it.all && it.h < len(t.Hello.ALPN)
		return strValue(strBytes(p)), true
	}
}
