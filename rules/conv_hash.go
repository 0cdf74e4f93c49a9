package rules

import (
	"hash/crc32"

	"github.com/cespare/xxhash/v2"

	"github.com/fjordlb/fjord/config"
)

// Hashes of the input's bytes, as HAProxy's (src/hash.c, XXH64): the
// 32-bit ones are the hash-based balancing algorithms' and give an
// unsigned 32-bit integer, optionally through the avalanche function
// when their argument is not 0; xxh64 gives its 64 bits as a signed
// integer.

func init() {
	hash32 := func(h func([]byte) uint32) convFn {
		return func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
			n := h(v.B)
			if len(a) > 0 && a[0].Int != 0 {
				n = fullHash(n)
			}
			return intValue(int64(n)), true
		}
	}
	convFns["crc32"] = hash32(crc32.ChecksumIEEE)
	convFns["djb2"] = hash32(hashDJB2)
	convFns["sdbm"] = hash32(hashSDBM)
	convFns["xxh64"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		if len(a) == 0 || a[0].Int == 0 {
			return intValue(int64(xxhash.Sum64(v.B))), true
		}
		var d xxhash.Digest
		d.ResetWithSeed(uint64(a[0].Int))
		d.Write(v.B)
		return intValue(int64(d.Sum64())), true
	}
}

// hashDJB2 is HAProxy's hash_djb2.
func hashDJB2(b []byte) uint32 {
	h := uint32(5381)
	for _, c := range b {
		h = h<<5 + h + uint32(c)
	}
	return h
}

// hashSDBM is HAProxy's hash_sdbm.
func hashSDBM(b []byte) uint32 {
	var h uint32
	for _, c := range b {
		h = uint32(c) + h<<6 + h<<16 - h
	}
	return h
}

// fullHash is HAProxy's full_hash: Bob Jenkins' full avalanche hash of a
// 32-bit integer, times a prime near 3/4 of 2^32.
func fullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + a<<12
	a = (a ^ 0xc761c23c) ^ a>>19
	a = (a + 0x165667b1) + a<<5
	a = (a + 0xd3a2646c) ^ a<<9
	a = (a + 0xfd7046c5) + a<<3
	a = (a ^ 0xb55a4f09) ^ a>>16
	return a * 3221225473
}
