package balancer

import "hash/crc32"

// The hash functions of HAProxy's "hash-type", so that keys land where an
// HAProxy user expects with map-based hashing.

func hashSDBM(b []byte) uint32 {
	var h uint32
	for _, c := range b {
		h = uint32(c) + (h << 6) + (h << 16) - h
	}
	return h
}

func hashDJB2(b []byte) uint32 {
	h := uint32(5381)
	for _, c := range b {
		h = h*33 + uint32(c)
	}
	return h
}

func hashWT6(b []byte) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	step0, step1 := uint32(6), uint32(18)
	for _, c := range b {
		t := uint32(c)
		h0 = ^(h0 ^ t)
		h1 = ^(h1 + t)
		t = h1<<step0 | h1>>(32-step0)
		h1 = h0<<step1 | h0>>(32-step1)
		h0 = t
		t = (h0>>16 ^ h1) & 0xffff
		step0 = t & 0x1f
		step1 = t >> 11
	}
	return h0 ^ h1
}

func hashCRC32(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// fullHash is Bob Jenkins' full avalanche integer hash, HAProxy's
// "avalanche" modifier.
func fullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a
}

// hasher returns the configured key hash.
func hasher(function string, avalanche bool) func([]byte) uint32 {
	f := hashSDBM
	switch function {
	case "djb2":
		f = hashDJB2
	case "wt6":
		f = hashWT6
	case "crc32":
		f = hashCRC32
	}
	if avalanche {
		return func(b []byte) uint32 { return fullHash(f(b)) }
	}
	return f
}
