package rules

import (
	"crypto/rand"
	"net/netip"

	"github.com/fjordlb/fjord/config"
)

// Layer 4, constants, names and variables.

func init() {
	fetchFns["src"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) { return addrOf(t.Src) }
	fetchFns["src_port"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) { return portOf(t.Src) }
	fetchFns["dst"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return addrOf(t.dst())
	}
	fetchFns["dst_port"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return portOf(t.dst())
	}
	fetchFns["fc_src"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) { return addrOf(t.ConnSrc) }
	fetchFns["fc_src_port"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) { return portOf(t.ConnSrc) }
	fetchFns["fc_dst"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) { return addrOf(t.connDst()) }
	fetchFns["fc_dst_port"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) { return portOf(t.connDst()) }
	fetchFns["ipv4"] = func(_ *Txn, a []config.Arg, _ *iter) (Value, bool) { return addrValue(a[0].Addr), true }
	fetchFns["ipv6"] = func(_ *Txn, a []config.Arg, _ *iter) (Value, bool) { return addrValue(a[0].Addr), true }
	fetchFns["always_true"] = func(*Txn, []config.Arg, *iter) (Value, bool) { return boolValue(true), true }
	fetchFns["always_false"] = func(*Txn, []config.Arg, *iter) (Value, bool) { return boolValue(false), true }
	fetchFns["int"] = func(_ *Txn, a []config.Arg, _ *iter) (Value, bool) { return intValue(a[0].Int), true }
	fetchFns["str"] = func(_ *Txn, a []config.Arg, _ *iter) (Value, bool) { return strValue(strBytes(a[0].Str)), true }
	fetchFns["bool"] = func(_ *Txn, a []config.Arg, _ *iter) (Value, bool) { return boolValue(a[0].Int != 0), true }
	fetchFns["fe_name"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return strValue(strBytes(t.Frontend)), t.Frontend != ""
	}
	fetchFns["be_name"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return strValue(strBytes(t.Backend)), t.Backend != ""
	}
	fetchFns["srv_name"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return strValue(strBytes(t.Server)), t.Server != ""
	}
	// bin(hex): constant bytes, read by config.
	fetchFns["bin"] = func(_ *Txn, a []config.Arg, _ *iter) (Value, bool) { return binValue(a[0].Bytes), true }
	fetchFns["fe_id"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return intValue(int64(t.FrontendID)), t.FrontendID != 0
	}
	fetchFns["be_id"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return intValue(int64(t.BackendID)), t.BackendID != 0
	}
	fetchFns["srv_id"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return intValue(int64(t.ServerID)), t.ServerID != 0
	}
	// last_rule_file, last_rule_line: where the stream's last final
	// rule stands (HAProxy's s->last_rule_file and line), the file as
	// the configuration was named on the command line.
	fetchFns["last_rule_file"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.LastRule == nil {
			return Value{}, false
		}
		return strValue(strBytes(t.LastRule.File)), true
	}
	fetchFns["last_rule_line"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		if t.LastRule == nil || t.LastRule.Line == 0 {
			return Value{}, false
		}
		return intValue(int64(t.LastRule.Line)), true
	}
	fetchFns["so_name"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		return strValue(strBytes(t.BindName)), t.BindName != ""
	}
	fetchFns["var"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
		if v, ok := t.getVar(a[0].Var); ok {
			return v, true
		}
		if len(a) > 1 { // the default, as HAProxy 2.6's second argument
			return strValue(strBytes(a[1].Str)), true
		}
		return Value{}, false
	}
	// uuid: a random (version 4) UUID, the only version HAProxy 2.6 makes.
	fetchFns["uuid"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
		if len(a) > 0 && a[0].Int != 4 {
			return Value{}, false
		}
		var u [16]byte
		_, _ = rand.Read(u[:])
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		off := len(t.scratch)
		for i, b := range u {
			if i == 4 || i == 6 || i == 8 || i == 10 {
				t.scratch = append(t.scratch, '-')
			}
			t.scratch = append(t.scratch, hexDigits[b>>4], hexDigits[b&15])
		}
		return strValue(t.built(off)), true
	}
	fetchFns["nbsrv"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
		be := t.Backend
		if len(a) > 0 {
			be = a[0].Str
		}
		if t.Env == nil || be == "" {
			return Value{}, false
		}
		n := t.Env.UsableServers(be)
		return intValue(int64(n)), n >= 0
	}
}

const hexDigits = "0123456789abcdef"

// addrOf is an address fetch's sample: IPv4-mapped addresses as IPv4.
func addrOf(ap netip.AddrPort) (Value, bool) {
	a := ap.Addr()
	return addrValue(a.Unmap()), a.IsValid()
}

// portOf is a port fetch's sample. HAProxy's src_port fails on port 0
// (and on a Unix socket's client, which has no port).
func portOf(ap netip.AddrPort) (Value, bool) {
	return intValue(int64(ap.Port())), ap.IsValid() && ap.Port() != 0
}
