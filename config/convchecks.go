package config

import (
	"fmt"
	"regexp"
)

// The checks of converters' arguments, HAProxy's per-converter check
// functions (src/sample.c): run once the arguments are read, they refuse
// what the converter cannot use and complete the arguments for rules.

// JSONMode is json()'s input decoding, in its argument's Int.
type JSONMode int64

const (
	JSONASCII  JSONMode = iota // every byte a character
	JSONUTF8                   // UTF-8; fail on any error
	JSONUTF8S                  // UTF-8; drop what is wrong
	JSONUTF8P                  // UTF-8 accepting overlong forms; fail on other errors
	JSONUTF8PS                 // UTF-8 accepting overlong forms; drop other errors
)

var jsonModes = map[string]JSONMode{
	"": JSONASCII, "ascii": JSONASCII, "utf8": JSONUTF8, "utf8s": JSONUTF8S,
	"utf8p": JSONUTF8P, "utf8ps": JSONUTF8PS,
}

func checkJSON(_ *exprContext, args []Arg) error {
	if len(args) == 0 {
		return nil
	}
	m, ok := jsonModes[args[0].Str]
	if !ok {
		return fmt.Errorf("argument 1 of 'json': unknown input code '%s' (valid: ascii, utf8, utf8s, utf8p, utf8ps)", args[0].Str)
	}
	args[0].Int = int64(m)
	return nil
}

// checkField is HAProxy's sample_conv_field_check, for field and word.
func checkField(name string) func(*exprContext, []Arg) error {
	return func(_ *exprContext, args []Arg) error {
		if args[0].Int == 0 {
			return fmt.Errorf("argument 1 of '%s': the index counts from 1 (or from -1 at the end), not 0", name)
		}
		if args[1].Str == "" {
			return fmt.Errorf("argument 2 of '%s': the list of delimiters is empty", name)
		}
		return nil
	}
}

// Regsub flags, in the Int of regsub's third argument.
const (
	RegsubICase  = 1 << iota // "i": the expression ignores case
	RegsubGlobal             // "g": every match is replaced, not the first
)

// checkRegsub is sample_conv_regsub_check: the flags are 'i' and 'g'; 'i'
// recompiles the expression to ignore case. The substitution is checked
// as HAProxy's exp_replace reads it: a backslash must be followed by a
// character, "\x" by two.
func checkRegsub(_ *exprContext, args []Arg) error {
	if len(args) > 2 {
		for i := 0; i < len(args[2].Str); i++ {
			switch c := args[2].Str[i]; c {
			case 'i':
				args[2].Int |= RegsubICase
			case 'g':
				args[2].Int |= RegsubGlobal
			default:
				return fmt.Errorf("argument 3 of 'regsub': invalid regex flag '%c', only 'i' and 'g' are supported", c)
			}
		}
		if args[2].Int&RegsubICase != 0 {
			re, err := regexp.Compile("(?i)" + args[0].Str)
			if err != nil {
				return fmt.Errorf("argument 1 of 'regsub': invalid regular expression '%s': %v", args[0].Str, err)
			}
			args[0].Regexp = re
		}
	}
	if err := CheckSubstitution(args[1].Str); err != nil {
		return fmt.Errorf("argument 2 of 'regsub': %v", err)
	}
	return nil
}

// CheckSubstitution checks a regsub or map_regm substitution as HAProxy's
// exp_replace reads it: "\N" is the text of group N (one digit), "\xHH" a
// byte, a backslash before anything else that character; a backslash at
// the end, or "\x" without two characters after it, make exp_replace fail.
func CheckSubstitution(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		switch {
		case i+1 == len(s):
			return fmt.Errorf("the substitution '%s' ends with a lone backslash", s)
		case s[i+1] == 'x' && i+3 >= len(s):
			return fmt.Errorf("the substitution '%s' ends with an incomplete '\\x' escape (two characters must follow)", s)
		case s[i+1] == 'x':
			i += 3
		default:
			i++
		}
	}
	return nil
}

// checkConcat is smp_check_concat: the second argument, when given, is a
// variable's name (its Kind becomes ArgVar).
func checkConcat(_ *exprContext, args []Arg) error {
	if len(args) < 2 || args[1].Str == "" {
		return nil
	}
	v, err := parseVarName(args[1].Str)
	if err != nil {
		return fmt.Errorf("argument 2 of 'concat': %v", err)
	}
	args[1].Kind, args[1].Var = ArgVar, v
	return nil
}

// The conditions of set-var(name,cond...), in the Int of each condition
// argument (HAProxy's VF_COND_*).
const (
	VarIfExists    = 1 << iota // the variable exists already
	VarIfNotExists             // it does not
	VarIfEmpty                 // the sample is an empty string or bytes
	VarIfNotEmpty              // it is not empty (scalars are never empty)
	VarIfSet                   // the variable has a value
	VarIfNotSet                // it has none
	VarIfGT                    // its integer value is greater than the sample's
	VarIfLT                    // its integer value is less than the sample's
)

var varConds = map[string]int64{
	"ifexists": VarIfExists, "ifnotexists": VarIfNotExists, "ifempty": VarIfEmpty,
	"ifnotempty": VarIfNotEmpty, "ifset": VarIfSet, "ifnotset": VarIfNotSet,
	"ifgt": VarIfGT, "iflt": VarIfLT,
}

// checkSetVar is conv_check_var: the arguments after the name are
// conditions.
func checkSetVar(_ *exprContext, args []Arg) error {
	for i := 1; i < len(args); i++ {
		c, ok := varConds[args[i].Str]
		if !ok {
			return fmt.Errorf("argument %d of 'set-var': unknown condition \"%s\" (valid: ifexists, ifnotexists, ifempty, ifnotempty, ifset, ifnotset, ifgt, iflt)", i+1, args[i].Str)
		}
		args[i].Int = c
	}
	return nil
}
