package rules

import (
	"sync"

	"github.com/fjordlb/fjord/config"
)

// Vars holds variables of one scope group: a session's ("sess."), or a
// transaction's ("txn.", "req.", "res."). Values are copied in; a slot's
// buffer is kept for the next value, so that a steady state allocates
// nothing.
type Vars struct {
	slots []varSlot
}

type varSlot struct {
	name config.VarName
	// exists: the variable was created (HAProxy creates a variable even
	// when a set-var condition then refuses its value); set: it has a
	// value.
	exists, set bool
	v           Value
	buf         []byte
}

// Clear forgets every variable, keeping the buffers.
func (vs *Vars) Clear() {
	for i := range vs.slots {
		vs.slots[i].exists, vs.slots[i].set = false, false
	}
}

// slot returns n's slot, creating one when create is set (nil when it is
// not and n has none). A slot of a variable that does not exist is kept
// for the next one.
func (vs *Vars) slot(n config.VarName, create bool) *varSlot {
	var free *varSlot
	for i := range vs.slots {
		s := &vs.slots[i]
		if s.name == n {
			return s
		}
		if free == nil && !s.exists {
			free = s
		}
	}
	if !create {
		return nil
	}
	if free == nil {
		vs.slots = append(vs.slots, varSlot{})
		free = &vs.slots[len(vs.slots)-1]
	}
	free.name, free.exists, free.set = n, false, false
	return free
}

// Get returns the variable's value.
func (vs *Vars) Get(n config.VarName) (Value, bool) {
	if vs == nil {
		return Value{}, false
	}
	if s := vs.slot(n, false); s != nil && s.set {
		return s.v, true
	}
	return Value{}, false
}

// Set stores a copy of v.
func (vs *Vars) Set(n config.VarName, v Value) { vs.slot(n, true).store(v) }

func (s *varSlot) store(v Value) {
	s.exists, s.set = true, true
	if v.Type == config.TypeStr || v.Type == config.TypeBin {
		s.buf = append(s.buf[:0], v.B...)
		v.B = s.buf
	}
	s.v = v
}

// Unset removes the variable.
func (vs *Vars) Unset(n config.VarName) {
	if s := vs.slot(n, false); s != nil {
		s.exists, s.set = false, false
	}
}

// setIf is set-var(name,cond...) on a scope group: it stores v when the
// conditions (config.VarIf*) hold, as HAProxy's var_set, and reports
// whether it did. always: the variable exists even when it has no value
// (HAProxy creates proc variables when it reads the configuration).
func (vs *Vars) setIf(n config.VarName, v Value, conds int64, always bool) bool {
	s := vs.slot(n, true)
	if !s.accepts(v, conds, always) {
		return false
	}
	s.store(v)
	return true
}

// accepts checks set-var's conditions for storing v in s, creating the
// variable on the way as var_set does.
func (s *varSlot) accepts(v Value, conds int64, always bool) bool {
	exists := s.exists || always
	if exists && conds&config.VarIfNotExists != 0 || !exists && conds&config.VarIfExists != 0 {
		return false
	}
	s.exists = true
	if s.set && conds&config.VarIfNotSet != 0 || !s.set && conds&config.VarIfSet != 0 {
		return false
	}
	text := v.Type == config.TypeStr || v.Type == config.TypeBin
	switch {
	case conds&config.VarIfEmpty != 0 && (!text || len(v.B) > 0),
		conds&config.VarIfNotEmpty != 0 && text && len(v.B) == 0:
		return false
	case v.Type == config.TypeInt && s.set && s.v.Type == config.TypeInt &&
		(conds&config.VarIfGT != 0 && !(s.v.I > v.I) || conds&config.VarIfLT != 0 && !(s.v.I < v.I)):
		return false
	}
	return true
}

// procVars are the process's variables ("proc."), shared by every loop.
var procVars struct {
	sync.Mutex
	Vars
}

// getVar reads a variable of any scope. A proc variable's value is
// copied into the transaction's scratch: another loop may change it.
func (t *Txn) getVar(n config.VarName) (Value, bool) {
	switch n.Scope {
	case config.ScopeProc:
		procVars.Lock()
		defer procVars.Unlock()
		v, ok := procVars.Get(n)
		if ok && (v.Type == config.TypeStr || v.Type == config.TypeBin) {
			off := len(t.scratch)
			t.scratch = append(t.scratch, v.B...)
			v.B = t.built(off)
		}
		return v, ok
	case config.ScopeSess:
		return t.Sess.Get(n)
	}
	return t.Vars.Get(n)
}

// setVar stores a variable of any scope; a scope the Txn does not keep
// (no session variables) drops it.
func (t *Txn) setVar(n config.VarName, v Value) {
	switch n.Scope {
	case config.ScopeProc:
		procVars.Lock()
		procVars.Set(n, v)
		procVars.Unlock()
	case config.ScopeSess:
		if t.Sess != nil {
			t.Sess.Set(n, v)
		}
	default:
		if t.Vars != nil {
			t.Vars.Set(n, v)
		}
	}
}

// setVarIf is set-var(name,cond...): see Vars.setIf. A scope the Txn
// does not keep holds no variable: the conditions are checked as for a
// variable that does not exist, and nothing is kept.
func (t *Txn) setVarIf(n config.VarName, v Value, conds int64) bool {
	var vs *Vars
	switch n.Scope {
	case config.ScopeProc:
		procVars.Lock()
		defer procVars.Unlock()
		return procVars.setIf(n, v, conds, true)
	case config.ScopeSess:
		vs = t.Sess
	default:
		vs = t.Vars
	}
	if vs == nil {
		var none varSlot
		return none.accepts(v, conds, false)
	}
	return vs.setIf(n, v, conds, false)
}

func (t *Txn) unsetVar(n config.VarName) {
	switch n.Scope {
	case config.ScopeProc:
		procVars.Lock()
		procVars.Unset(n)
		procVars.Unlock()
	case config.ScopeSess:
		if t.Sess != nil {
			t.Sess.Unset(n)
		}
	default:
		if t.Vars != nil {
			t.Vars.Unset(n)
		}
	}
}
