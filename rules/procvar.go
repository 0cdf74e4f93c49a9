package rules

import "github.com/fjordlb/fjord/config"

// ProcVar reads a proc variable for the runtime API's "get var": a copy
// of its value, which another loop may change meanwhile.
func ProcVar(n config.VarName) (Value, bool) {
	var t Txn
	return t.getVar(n)
}

// SetProcVar carries out the runtime API's "set var": as a global
// set-var line would, outside any connection; env answers nbsrv().
func SetProcVar(vs config.VarSet, env Env) {
	compileVarSet(vs, false).Apply(&Txn{Env: env})
}

// TypeName is the name HAProxy gives the value's type in the runtime
// API's answers (src/sample.c, smp_to_type).
func (v Value) TypeName() string {
	switch v.Type {
	case config.TypeBool:
		return "bool"
	case config.TypeInt:
		return "sint"
	case config.TypeStr:
		return "str"
	case config.TypeBin:
		return "bin"
	case config.TypeAddr:
		if v.A.Is4() {
			return "ipv4"
		}
		return "ipv6"
	}
	return "any"
}

// Text is the value cast to a string as HAProxy casts it for display:
// bytes end at their first NUL (c_bin2str).
func (v Value) Text() string {
	if v.Type == config.TypeBin {
		b := v.B
		for i, c := range b {
			if c == 0 {
				b = b[:i]
				break
			}
		}
		return string(b)
	}
	return string(v.appendText(nil))
}
