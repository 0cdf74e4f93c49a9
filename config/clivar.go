package config

import "fmt"

// cliPos is where the runtime API's expressions come from, in errors.
var cliPos = Pos{File: "CLI"}

// ProcVarName reads the variable name of the runtime API's "get var" and
// "set var": only proc variables live outside a connection.
func ProcVarName(s string) (VarName, error) {
	n, err := parseVarName(s)
	if err != nil {
		return VarName{}, err
	}
	if n.Scope != ScopeProc {
		return VarName{}, fmt.Errorf("cannot use variable '%s', only scope 'proc' is permitted here", s)
	}
	return n, nil
}

// CLIVarSet reads the runtime API's "set var NAME [expr|fmt] VALUE": a
// set-var (isFmt false) or set-var-fmt of a proc variable, whose backend
// and userlist arguments name those of the running configuration cfg.
//
// HAProxy evaluates such a value in an empty session, where a fetch that
// reads a connection or a message finds nothing; fjord refuses it, as it
// does in the global section's set-var, since it could only ever be
// empty.
func CLIVarSet(cfg *Config, name string, isFmt bool, value string) (VarSet, error) {
	vs := VarSet{}
	var err error
	if vs.Name, err = ProcVarName(name); err != nil {
		return VarSet{}, err
	}
	p := newParser(Options{Resolver: noResolver{}})
	p.cfg = cfg
	if isFmt {
		vs.Format, err = p.parseFormat(cliPos, value)
	} else {
		vs.Expr, err = p.parseExpr(cliPos, value)
	}
	if err != nil {
		return VarSet{}, err
	}
	if vs.need() != 0 {
		return VarSet{}, fmt.Errorf("'%s' reads a connection or a message, which the runtime API has none of", value)
	}
	p.validatePendingNames()
	if len(p.errs) > 0 {
		return VarSet{}, p.errs[0]
	}
	return vs, nil
}
