package rules

import (
	"math"

	"github.com/fjordlb/fjord/config"
)

// Arithmetic converters on integers, as HAProxy's sample_conv_arith_*
// (src/sample.c): results saturate at the int64 bounds instead of
// wrapping, and division by zero gives the largest integer (mod: 0). The
// input keeps its type: a boolean given to add stays a boolean, as
// HAProxy passes booleans on unchanged.

func init() {
	binary := func(op func(a, b int64) int64) convFn {
		return func(t *Txn, a []config.Arg, v Value) (Value, bool) {
			b, ok := t.operand(a[0])
			if !ok {
				return Value{}, false
			}
			v.I = op(v.I, b)
			return v, true
		}
	}
	convFns["add"] = binary(arithAdd)
	convFns["sub"] = binary(arithSub)
	convFns["mul"] = binary(arithMul)
	convFns["div"] = binary(arithDiv)
	convFns["mod"] = binary(arithMod)
	convFns["neg"] = func(_ *Txn, _ []config.Arg, v Value) (Value, bool) {
		if v.I == math.MinInt64 {
			v.I = math.MaxInt64
		} else {
			v.I = -v.I
		}
		return v, true
	}
	convFns["bool"] = func(_ *Txn, _ []config.Arg, v Value) (Value, bool) {
		return boolValue(v.I != 0), true
	}
	convFns["not"] = func(_ *Txn, _ []config.Arg, v Value) (Value, bool) {
		return boolValue(v.I == 0), true
	}
}

// operand is an arithmetic converter's argument: an integer, or a
// variable's value cast to one (an unset variable, or one that is no
// integer, gives no sample).
func (t *Txn) operand(a config.Arg) (int64, bool) {
	if a.Kind != config.ArgVar {
		return a.Int, true
	}
	v, ok := t.getVar(a.Var)
	if !ok {
		return 0, false
	}
	return v.asInt()
}

// arithAdd is HAProxy's arith_add, with the fix of HAProxy 2.6.15
// (BUG/MINOR "Fix wrong overflow detection in add/sub"): 2.6.0 gave the
// largest integer when adding two negative numbers.
func arithAdd(a, b int64) int64 {
	if a^b >= 0 { // same signs: may overflow
		if a < 0 {
			if math.MinInt64-a > b {
				return math.MinInt64
			}
		} else if math.MaxInt64-a < b {
			return math.MaxInt64
		}
	}
	return a + b
}

func arithSub(a, b int64) int64 {
	if b == math.MinInt64 { // -b does not exist: add MaxInt64, then 1
		r := arithAdd(a, math.MaxInt64)
		if r < math.MaxInt64 {
			r++
		}
		return r
	}
	return arithAdd(a, -b)
}

func arithMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a == math.MinInt64 && b == -1 {
		return math.MaxInt64
	}
	c := a * b
	if a != c/b { // overflow: saturate with the sign of the product
		if (a < 0) == (b < 0) {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return c
}

func arithDiv(a, b int64) int64 {
	switch {
	case b == 0:
		return math.MaxInt64
	case a == math.MinInt64 && b == -1:
		return math.MaxInt64
	}
	return a / b
}

func arithMod(a, b int64) int64 {
	if b == 0 || a == math.MinInt64 && b == -1 {
		return 0
	}
	return a % b
}
