package config

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
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

// checkAddItem is smp_check_add_item: the second argument, when given,
// is a variable's name; the second and the third may not both be empty.
func checkAddItem(_ *exprContext, args []Arg) error {
	if args[1].Str != "" {
		v, err := parseVarName(args[1].Str)
		if err != nil {
			return fmt.Errorf("argument 2 of 'add_item': %v", err)
		}
		args[1].Kind, args[1].Var = ArgVar, v
	}
	if args[1].Str == "" && (len(args) < 3 || args[2].Str == "") {
		return fmt.Errorf("'add_item': one of the optional arguments has to be nonempty")
	}
	return nil
}

// checkURLEnc is sample_conv_url_enc_check: the only type is "query",
// the default.
func checkURLEnc(_ *exprContext, args []Arg) error {
	if len(args) > 0 && args[0].Str != "" && args[0].Str != "query" {
		return fmt.Errorf("argument 1 of 'url_enc': unexpected encode type '%s'. Allowed value is 'query'", args[0].Str)
	}
	return nil
}

// checkBe2dec is sample_conv_be2dec_check: a chunk of 1 to 8 bytes, a
// truncate flag of 0 or 1.
func checkBe2dec(_ *exprContext, args []Arg) error {
	var chunk, trunc int64
	if len(args) > 1 {
		chunk = args[1].Int
	}
	if len(args) > 2 {
		trunc = args[2].Int
	}
	if chunk <= 0 || chunk > 8 {
		return fmt.Errorf("argument 2 of 'be2dec': chunk_size out of [1..8] range (%d)", chunk)
	}
	if trunc != 0 && trunc != 1 {
		return fmt.Errorf("argument 3 of 'be2dec': unsupported truncate value (%d)", trunc)
	}
	return nil
}

// checkBe2hex is sample_conv_be2hex_check: a separator or the truncate
// flag need a positive chunk size; the flag is 0 or 1.
func checkBe2hex(_ *exprContext, args []Arg) error {
	var sep string
	var chunk, trunc int64
	if len(args) > 0 {
		sep = args[0].Str
	}
	if len(args) > 1 {
		chunk = args[1].Int
	}
	if len(args) > 2 {
		trunc = args[2].Int
	}
	if chunk <= 0 && (sep != "" || trunc != 0) {
		return fmt.Errorf("argument 2 of 'be2hex': chunk_size needs to be positive (%d)", chunk)
	}
	if trunc != 0 && trunc != 1 {
		return fmt.Errorf("argument 3 of 'be2hex': unsupported truncate value (%d)", trunc)
	}
	return nil
}

// checkJSONQuery is sample_check_json_query: the path is not empty; the
// output type, when given, is "int" (then Int is 1).
func checkJSONQuery(_ *exprContext, args []Arg) error {
	if args[0].Str == "" {
		return fmt.Errorf("argument 1 of 'json_query': json_path must not be empty")
	}
	if len(args) > 1 && args[1].Str != "" {
		if args[1].Str != "int" {
			return fmt.Errorf("argument 2 of 'json_query': output_type only supports \"int\" as argument")
		}
		args[1].Int = 1
	}
	return nil
}

// Digest is a message digest algorithm of digest() and hmac(), in the
// Int of their first argument.
type Digest int64

const (
	DigestMD5 Digest = iota
	DigestSHA1
	DigestSHA224
	DigestSHA256
	DigestSHA384
	DigestSHA512
	DigestSHA512_224
	DigestSHA512_256
)

// digestNames are OpenSSL's names of the digests Go's standard library
// has (EVP_get_digestbyname, which ignores case in OpenSSL 3).
var digestNames = map[string]Digest{
	"md5": DigestMD5, "sha1": DigestSHA1, "sha224": DigestSHA224, "sha256": DigestSHA256,
	"sha384": DigestSHA384, "sha512": DigestSHA512, "sha512-224": DigestSHA512_224,
	"sha512-256": DigestSHA512_256, "sha2-224": DigestSHA224, "sha2-256": DigestSHA256,
	"sha2-384": DigestSHA384, "sha2-512": DigestSHA512, "sha2-512/224": DigestSHA512_224,
	"sha2-512/256": DigestSHA512_256, "sha512/224": DigestSHA512_224, "sha512/256": DigestSHA512_256,
}

// checkSHA2 is smp_check_sha2: 224, 256 (the default), 384 or 512 bits.
func checkSHA2(_ *exprContext, args []Arg) error {
	if len(args) == 0 {
		return nil
	}
	switch args[0].Int {
	case 224, 256, 384, 512:
		return nil
	}
	return fmt.Errorf("argument 1 of 'sha2': unsupported number of bits: '%d' (224, 256, 384 or 512)", args[0].Int)
}

// checkDigest is check_crypto_digest: a digest's name.
func checkDigest(_ *exprContext, args []Arg) error {
	d, ok := digestNames[strings.ToLower(args[0].Str)]
	if !ok {
		return fmt.Errorf("argument 1 of '%s': algorithm '%s' must be a valid OpenSSL message digest name (md5, sha1, sha224, sha256, sha384, sha512, sha512-224, sha512-256)", "digest", args[0].Str)
	}
	args[0].Int = int64(d)
	return nil
}

// checkHMAC is check_crypto_hmac: a digest's name, and a key that is a
// variable's name or else base64 (decoded here into Bytes). A variable's
// value is base64-decoded at each evaluation.
func checkHMAC(ctx *exprContext, args []Arg) error {
	if err := checkDigest(ctx, args); err != nil {
		return fmt.Errorf("%s", strings.Replace(err.Error(), "'digest'", "'hmac'", 1))
	}
	k := args[1].Str
	if k == "" {
		return nil
	}
	if v, err := parseVarName(k); err == nil {
		args[1].Kind, args[1].Var = ArgVar, v
		return nil
	}
	key, err := base64.StdEncoding.DecodeString(k)
	if len(k)%4 != 0 || err != nil {
		return fmt.Errorf("argument 2 of 'hmac': failed to parse key: argument needs to be base64 encoded, and can either be a string or a variable")
	}
	args[1].Bytes = key
	return nil
}
