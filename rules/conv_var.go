package rules

import (
	"github.com/fjordlb/fjord/config"
)

// Converters that read or write variables: concat and set-var.

func init() {
	// concat([start][,var][,end]) appends start, the variable's value
	// as a string (nothing when it is not set) and end.
	convFns["concat"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		var x Value
		found := false
		if len(a) > 1 && a[1].Kind == config.ArgVar {
			// Before building: reading a proc variable writes a copy
			// into the scratch.
			x, found = t.getVar(a[1].Var)
		}
		off := len(t.scratch)
		t.scratch = append(t.scratch, v.B...)
		t.scratch = append(t.scratch, a[0].Str...)
		if found {
			t.scratch = appendAsStr(t.scratch, x)
		}
		if len(a) > 2 {
			t.scratch = append(t.scratch, a[2].Str...)
		}
		return strValue(t.built(off)), true
	}
	// set-var(name[,cond...]) stores the sample, of any type, and passes
	// it on; when a condition refuses it, nothing is stored and there is
	// no sample, as in HAProxy.
	convFns["set-var"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		var conds int64
		for _, c := range a[1:] {
			conds |= c.Int
		}
		if conds == 0 {
			t.setVar(a[0].Var, v)
			return v, true
		}
		return v, t.setVarIf(a[0].Var, v, conds)
	}
}

// appendAsStr appends v cast to a string (see Txn.castStr).
func appendAsStr(dst []byte, v Value) []byte {
	if v.Type == config.TypeBin {
		for i, c := range v.B {
			if c == 0 {
				return append(dst, v.B[:i]...)
			}
		}
	}
	return v.appendText(dst)
}
