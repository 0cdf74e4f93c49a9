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
	set  bool
	v    Value
	buf  []byte
}

// Clear unsets every variable, keeping the buffers.
func (vs *Vars) Clear() {
	for i := range vs.slots {
		vs.slots[i].set = false
	}
}

// Get returns the variable's value.
func (vs *Vars) Get(n config.VarName) (Value, bool) {
	if vs == nil {
		return Value{}, false
	}
	for i := range vs.slots {
		if s := &vs.slots[i]; s.set && s.name == n {
			return s.v, true
		}
	}
	return Value{}, false
}

// Set stores a copy of v.
func (vs *Vars) Set(n config.VarName, v Value) {
	var s *varSlot
	for i := range vs.slots {
		if vs.slots[i].name == n {
			s = &vs.slots[i]
			break
		}
	}
	if s == nil {
		for i := range vs.slots {
			if !vs.slots[i].set {
				s = &vs.slots[i]
				s.name = n
				break
			}
		}
	}
	if s == nil {
		vs.slots = append(vs.slots, varSlot{name: n})
		s = &vs.slots[len(vs.slots)-1]
	}
	s.set = true
	if v.Type == config.TypeStr || v.Type == config.TypeBin {
		s.buf = append(s.buf[:0], v.B...)
		v.B = s.buf
	}
	s.v = v
}

// Unset removes the variable.
func (vs *Vars) Unset(n config.VarName) {
	for i := range vs.slots {
		if vs.slots[i].name == n {
			vs.slots[i].set = false
		}
	}
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
