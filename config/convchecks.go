package config

import (
	"fmt"
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
