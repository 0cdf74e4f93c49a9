package rules

import (
	"encoding/binary"
	"math/bits"
)

// xxh32 is XXH32, the 32-bit xxHash (Yann Collet's specification,
// github.com/Cyan4973/xxHash doc/xxhash_spec.md), which HAProxy's xxh32
// converter gives. No well-kept Go module offers it with a seed (the ones
// that have it keep it internal), and it is short.

const (
	xxh32P1 uint32 = 0x9E3779B1
	xxh32P2 uint32 = 0x85EBCA77
	xxh32P3 uint32 = 0xC2B2AE3D
	xxh32P4 uint32 = 0x27D4EB2F
	xxh32P5 uint32 = 0x165667B1
)

func xxh32Round(acc, lane uint32) uint32 {
	acc += lane * xxh32P2
	return bits.RotateLeft32(acc, 13) * xxh32P1
}

// xxh32 hashes b with seed.
func xxh32(b []byte, seed uint32) uint32 {
	n := uint32(len(b))
	var h uint32
	if len(b) >= 16 {
		v1 := seed + xxh32P1 + xxh32P2
		v2 := seed + xxh32P2
		v3 := seed
		v4 := seed - xxh32P1
		for len(b) >= 16 {
			v1 = xxh32Round(v1, binary.LittleEndian.Uint32(b[0:]))
			v2 = xxh32Round(v2, binary.LittleEndian.Uint32(b[4:]))
			v3 = xxh32Round(v3, binary.LittleEndian.Uint32(b[8:]))
			v4 = xxh32Round(v4, binary.LittleEndian.Uint32(b[12:]))
			b = b[16:]
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = seed + xxh32P5
	}
	h += n
	for len(b) >= 4 {
		h += binary.LittleEndian.Uint32(b) * xxh32P3
		h = bits.RotateLeft32(h, 17) * xxh32P4
		b = b[4:]
	}
	for _, c := range b {
		h += uint32(c) * xxh32P5
		h = bits.RotateLeft32(h, 11) * xxh32P1
	}
	h ^= h >> 15
	h *= xxh32P2
	h ^= h >> 13
	h *= xxh32P3
	h ^= h >> 16
	return h
}
