package balancer

import (
	"hash/crc32"
	"math/bits"

	"github.com/fjordlb/fjord/config"
)

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
		// Rotations (step0, step1 < 32), as one instruction each.
		h0, h1 = bits.RotateLeft32(h1, int(step0)), bits.RotateLeft32(h0, int(step1))
		t = (h0>>16 ^ h1) & 0xffff
		step0 = t & 0x1f
		step1 = t >> 11
	}
	return h0 ^ h1
}

// hashCRC32 is the IEEE CRC-32, computed here rather than with
// crc32.ChecksumIEEE: that calls through a function variable, which makes
// every key escape to the heap (one allocation per pick).
func hashCRC32(b []byte) uint32 {
	h := ^uint32(0)
	for _, c := range b {
		h = crcTable[byte(h)^c] ^ h>>8
	}
	return ^h
}

var crcTable = crc32.MakeTable(crc32.IEEE)

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

// keyHash is the configured key hash: a function and the avalanche
// modifier. It is a value switched on rather than a func value so that
// keys, often in a buffer on the picking goroutine's stack, do not escape.
type keyHash struct {
	function  config.HashFunction
	avalanche bool
}

// hasher returns the key hash of "hash-type ... function [avalanche]".
func hasher(function config.HashFunction, avalanche bool) keyHash {
	return keyHash{function: function, avalanche: avalanche}
}

func (k keyHash) sum(b []byte) uint32 {
	var h uint32
	switch k.function {
	case config.HashDJB2:
		h = hashDJB2(b)
	case config.HashWT6:
		h = hashWT6(b)
	case config.HashCRC32:
		h = hashCRC32(b)
	default:
		h = hashSDBM(b)
	}
	if k.avalanche {
		h = fullHash(h)
	}
	return h
}

// sourceSum hashes a client address as HAProxy's "balance source" does:
// the XOR of its big-endian 32-bit words, through the avalanche function
// when configured. The hash-type function is not used, as in HAProxy, so
// clients land on the servers an HAProxy user expects.
func (k keyHash) sourceSum(addr []byte) uint32 {
	var h uint32
	for len(addr) >= 4 {
		h ^= uint32(addr[0])<<24 | uint32(addr[1])<<16 | uint32(addr[2])<<8 | uint32(addr[3])
		addr = addr[4:]
	}
	if k.avalanche {
		return fullHash(h)
	}
	return h
}
