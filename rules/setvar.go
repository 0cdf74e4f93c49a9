package rules

import "github.com/fjordlb/fjord/config"

// VarSet is a compiled set-var, set-var-fmt or unset-var.
type VarSet struct {
	name  config.VarName
	expr  *Expr
	fmt   *Format
	conds int64 // the config.VarIf* bits
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
	if vs.conds == 0 {
		t.setVar(vs.name, v)
		return
	}
	t.setVarIf(vs.name, v, vs.conds)
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
