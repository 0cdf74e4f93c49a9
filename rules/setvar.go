package rules

import "github.com/fjordlb/fjord/config"

// VarSet is a compiled set-var, set-var-fmt or unset-var.
type VarSet struct {
	name  config.VarName
	expr  *Expr
	fmt   *Format
	conds []config.VarCond
	unset bool
}

func compileVarSet(vs config.VarSet, unset bool) *VarSet {
	return &VarSet{name: vs.Name, expr: compileOptExpr(vs.Expr), fmt: compileFormat(vs.Format), conds: vs.Conds, unset: unset}
}

// Apply carries out the action on t.
func (vs *VarSet) Apply(t *Txn) {
	if vs.unset {
		t.unsetVar(vs.name)
		return
	}
	var v Value
	if vs.fmt != nil {
		v = strValue(vs.fmt.render(t))
	} else {
		var ok bool
		if v, ok = vs.expr.Eval(t); !ok {
			return // no sample: the variable is left as it is, as in HAProxy
		}
	}
	if len(vs.conds) > 0 && !vs.allowed(t, v) {
		return
	}
	t.setVar(vs.name, v)
}

// allowed checks set-var's conditions (HAProxy 2.6's vars.c).
func (vs *VarSet) allowed(t *Txn, v Value) bool {
	old, set := t.getVar(vs.name)
	// A proc variable exists from the start: HAProxy creates them all
	// while parsing the configuration.
	exists := set || vs.name.Scope == config.ScopeProc
	empty := (v.Type == config.TypeStr || v.Type == config.TypeBin) && len(v.B) == 0
	for _, c := range vs.conds {
		ok := true
		switch c {
		case config.VarIfExists:
			ok = exists
		case config.VarIfNotExists:
			ok = !exists
		case config.VarIfEmpty:
			ok = empty
		case config.VarIfNotEmpty:
			ok = !empty
		case config.VarIfSet:
			ok = set
		case config.VarIfNotSet:
			ok = !set
		case config.VarIfGt, config.VarIfLt:
			// Only two integers compare; otherwise the check holds.
			if set && old.Type == config.TypeInt && v.Type == config.TypeInt {
				ok = old.I > v.I
				if c == config.VarIfLt {
					ok = old.I < v.I
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// InitProcVars runs the global section's set-var and set-var-fmt lines,
// once, before any connection: their expressions read constants, the
// environment and other proc variables.
func InitProcVars(list []config.VarSet) {
	var t Txn
	for _, vs := range list {
		compileVarSet(vs, false).Apply(&t)
	}
}

// VarSet compiles a variable action of a tcp-request rule.
func (cp *Compiler) VarSet(vs config.VarSet, unset bool) *VarSet { return compileVarSet(vs, unset) }
