package rules

import (
	"hash/crc32"
	"math/bits"

	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"

	"github.com/fjordlb/fjord/config"
)

// Hashes of the input's bytes, as HAProxy's (src/hash.c, XXH64): the
// 32-bit ones are the hash-based balancing algorithms' and give an
// unsigned 32-bit integer, optionally through the avalanche function
// when their argument is not 0; xxh64 gives its 64 bits as a signed
// integer. xxh32 gives its unsigned 32 bits and xxh3 (XXH3_64bits) its
// 64 bits as a signed integer, both with an optional seed.

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
	convFns["crc32c"] = hash32(crc32cChecksum)
	convFns["wt6"] = hash32(hashWT6)
	convFns["xxh32"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		var seed uint32
		if len(a) > 0 {
			seed = uint32(a[0].Int) // HAProxy's unsigned int
		}
		return intValue(int64(xxh32(v.B, seed))), true
	}
	convFns["xxh3"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		var seed uint64
		if len(a) > 0 {
			seed = uint64(a[0].Int)
		}
		return intValue(int64(xxh3.HashSeed(v.B, seed))), true
	}
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

// castagnoli is the CRC-32C table (hash/crc32 uses the CPU's
// instruction when it has one).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cChecksum is HAProxy's hash_crc32c: CRC-32C, as in iSCSI and the
// PROXY protocol's checksum.
func crc32cChecksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// hashWT6 is HAProxy's hash_wt6 (Willy Tarreau's hash, 2012): two 32-bit
// halves that mix each byte in with rotations whose counts the data
// chooses.
func hashWT6(b []byte) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	step0, step1 := 6, 18
	for _, c := range b {
		t := uint32(c)
		h0 = ^(h0 ^ t)
		h1 = ^(h1 + t)
		t = bits.RotateLeft32(h1, step0)
		h1 = bits.RotateLeft32(h0, step1)
		h0 = t
		t = (h0>>16 ^ h1) & 0xffff
		step0 = int(t & 0x1f)
		step1 = int(t >> 11)
	}
	return h0 ^ h1
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
