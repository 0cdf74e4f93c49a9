package balancer

import (
	"github.com/fjordlb/fjord/config"

	"bytes"
	"hash/crc32"
	"math/bits"
	"testing"
)

// Known answers, computed outside Go from HAProxy's formulas in src/hash.c
// (hash_sdbm, hash_djb2, hash_wt6, hash_crc32 over unsigned bytes).
var hashVectors = []struct {
	in                     string
	sdbm, djb2, wt6, crc32 uint32
}{
	{"", 0x00000000, 0x00001505, 0xf99a0360, 0x00000000},
	{"a", 0x00000061, 0x0002b606, 0x714bf225, 0xe8b7be43},
	{"abc", 0x3025f862, 0x0b885c8b, 0x940028e8, 0x352441c2},
	{"123456789", 0x68a07035, 0x35cdbb82, 0x84a16c1d, 0xcbf43926},
	{"/index.html", 0x33242976, 0xe114b9cf, 0x3101077e, 0xea224b42},
	{"www.example.com", 0xa204b186, 0xa9788331, 0x248109f7, 0x2ed642bb},
	{"\x7f\x00\x00\x01", 0x14e18ec2, 0x7ca2b3a5, 0x85a8e301, 0x651f5f40},
	{"\xff\x80\x00\x7f", 0x9751af40, 0x7ceb0523, 0xb5332d41, 0xdeceaec0},
	{"The quick brown fox jumps over the lazy dog", 0x8ca77173, 0x34cc38de, 0xe4e7b045, 0x414fa339},
}

// Bob Jenkins' full avalanche hash, HAProxy's full_hash().
var fullHashVectors = []struct{ in, out uint32 }{
	{0x00000000, 0x6b4ed927},
	{0x00000001, 0xb48681b6},
	{0x00000002, 0xe267b84c},
	{0xdeadbeef, 0x7ff0eada},
	{0xffffffff, 0xfe64c182},
	{0x00001505, 0x9db17387},
}

func TestHashKnownAnswers(t *testing.T) {
	for _, v := range hashVectors {
		in := []byte(v.in)
		for _, c := range []struct {
			name      string
			got, want uint32
		}{
			{"sdbm", hashSDBM(in), v.sdbm},
			{"djb2", hashDJB2(in), v.djb2},
			{"wt6", hashWT6(in), v.wt6},
			{"crc32", hashCRC32(in), v.crc32},
		} {
			if c.got != c.want {
				t.Errorf("%s(%q) = %#08x, want %#08x", c.name, v.in, c.got, c.want)
			}
		}
	}
	if got := hashDJB2(nil); got != 5381 {
		t.Errorf("djb2(\"\") = %d, want 5381", got)
	}
	for _, v := range fullHashVectors {
		if got := fullHash(v.in); got != v.out {
			t.Errorf("fullHash(%#x) = %#08x, want %#08x", v.in, got, v.out)
		}
	}
}

// Reference implementations written independently of hash.go, for
// random inputs.
func refSDBM(b []byte) uint32 {
	var h uint32
	for _, c := range b {
		h = h*65599 + uint32(c) // (h<<6)+(h<<16)-h == h*65599
	}
	return h
}

func refDJB2(b []byte) uint32 {
	h := uint32(5381)
	for _, c := range b {
		h = (h << 5) + h + uint32(c)
	}
	return h
}

func refWT6(b []byte) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	s0, s1 := 6, 18
	for _, c := range b {
		h0 = ^(h0 ^ uint32(c))
		h1 = ^(h1 + uint32(c))
		h0, h1 = bits.RotateLeft32(h1, s0), bits.RotateLeft32(h0, s1)
		t := (h0>>16 ^ h1) & 0xffff
		s0, s1 = int(t&0x1f), int(t>>11)
	}
	return h0 ^ h1
}

func refCRC32(b []byte) uint32 {
	h := ^uint32(0)
	for _, c := range b {
		h ^= uint32(c)
		for range 8 {
			if h&1 != 0 {
				h = h>>1 ^ 0xedb88320
			} else {
				h >>= 1
			}
		}
	}
	return ^h
}

func refFullHash(a uint32) uint32 {
	x := uint64(a)
	const m = 1<<32 - 1
	x = (x + 0x7ed55d16 + x<<12) & m
	x = (x ^ 0xc761c23c ^ x>>19) & m
	x = (x + 0x165667b1 + x<<5) & m
	x = ((x + 0xd3a2646c) ^ x<<9) & m
	x = (x + 0xfd7046c5 + x<<3) & m
	x = (x ^ 0xb55a4f09 ^ x>>16) & m
	return uint32(x)
}

func TestHashReference(t *testing.T) {
	buf := make([]byte, 300)
	for i := range buf {
		buf[i] = byte(i*131 + i>>3)
	}
	for n := range len(buf) {
		in := buf[:n]
		if got, want := hashSDBM(in), refSDBM(in); got != want {
			t.Fatalf("sdbm len %d: %#x, want %#x", n, got, want)
		}
		if got, want := hashDJB2(in), refDJB2(in); got != want {
			t.Fatalf("djb2 len %d: %#x, want %#x", n, got, want)
		}
		if got, want := hashWT6(in), refWT6(in); got != want {
			t.Fatalf("wt6 len %d: %#x, want %#x", n, got, want)
		}
		if got, want := hashCRC32(in), refCRC32(in); got != want {
			t.Fatalf("crc32 len %d: %#x, want %#x", n, got, want)
		}
		if got, want := hashCRC32(in), crc32.ChecksumIEEE(in); got != want {
			t.Fatalf("crc32 len %d: %#x, hash/crc32 says %#x", n, got, want)
		}
	}
	for a := uint32(0); a < 1<<20; a += 7 {
		x := a * 2654435761
		if got, want := fullHash(x), refFullHash(x); got != want {
			t.Fatalf("fullHash(%#x) = %#x, want %#x", x, got, want)
		}
	}
}

// TestHasher checks that hash-type picks the function and the avalanche
// modifier.
func TestHasher(t *testing.T) {
	in := []byte("/some/key")
	tests := []struct {
		function  config.HashFunction
		avalanche bool
		want      uint32
	}{
		{config.HashSDBM, false, refSDBM(in)},
		{config.HashDJB2, false, refDJB2(in)},
		{config.HashWT6, false, refWT6(in)},
		{config.HashCRC32, false, refCRC32(in)},
		{config.HashSDBM, true, refFullHash(refSDBM(in))},
		{config.HashDJB2, true, refFullHash(refDJB2(in))},
		{config.HashWT6, true, refFullHash(refWT6(in))},
		{config.HashCRC32, true, refFullHash(refCRC32(in))},
	}
	for _, tt := range tests {
		if got := hasher(tt.function, tt.avalanche).sum(in); got != tt.want {
			t.Errorf("hasher(%v, %v) = %#x, want %#x", tt.function, tt.avalanche, got, tt.want)
		}
	}
}

// within reports whether sub is a subslice of of: the same backing array,
// inside of's length.
func within(sub, of []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if cap(sub) > cap(of) || len(of) == 0 {
		return false
	}
	// A subslice ends its capacity where of does.
	if &sub[:cap(sub)][cap(sub)-1] != &of[:cap(of)][cap(of)-1] {
		return false
	}
	off := cap(of) - cap(sub)
	return off+len(sub) <= len(of) && bytes.Equal(of[off:off+len(sub)], sub)
}

func FuzzKey(f *testing.F) {
	f.Add([]byte("/a/b/c?x=1&user=bob"), "user", 0, 0, false)
	f.Add([]byte("/a/b/c?x=1"), "x", 4, 2, true)
	f.Add([]byte("www.example.com:8080"), "", 0, 1, false)
	f.Add([]byte("[::1]:80"), "a", -1, -1, true)
	f.Add([]byte("?=&=&a="), "", 1, 9, false)
	f.Add([]byte(".."), "", 0, 0, false)
	f.Fuzz(func(t *testing.T, in []byte, name string, maxLen, depth int, whole bool) {
		orig := bytes.Clone(in)
		k := uriKey(in, maxLen, depth, whole)
		if !within(k, in) {
			t.Fatalf("uriKey(%q) = %q, not a subslice", in, k)
		}
		if maxLen > 0 && len(k) > maxLen {
			t.Fatalf("uriKey(%q, len %d) = %q, too long", in, maxLen, k)
		}
		if !bytes.HasPrefix(in, k) {
			t.Fatalf("uriKey(%q) = %q, not a prefix", in, k)
		}
		if !whole && bytes.IndexByte(k, '?') >= 0 {
			t.Fatalf("uriKey(%q) = %q keeps the query", in, k)
		}
		if depth > 0 && bytes.Count(k, []byte("/")) > depth {
			t.Fatalf("uriKey(%q, depth %d) = %q", in, depth, k)
		}
		v, ok := urlParam(in, name)
		if !within(v, in) {
			t.Fatalf("urlParam(%q, %q) = %q, not a subslice", in, name, v)
		}
		if ok != (len(v) > 0) {
			t.Fatalf("urlParam(%q, %q) = %q, %v", in, name, v, ok)
		}
		if ok && !bytes.Contains(in, append([]byte(name+"="), v...)) {
			t.Fatalf("urlParam(%q, %q) = %q, not a value of that name", in, name, v)
		}
		d := domainOnly(in)
		if !within(d, in) {
			t.Fatalf("domainOnly(%q) = %q, not a subslice", in, d)
		}
		if !bytes.Equal(in, orig) {
			t.Fatalf("input modified: %q, was %q", in, orig)
		}
	})
}

// TestSourceSumAsHAProxy checks "balance source" hashes addresses as
// HAProxy's get_server_sh: XOR of big-endian 32-bit words, then avalanche.
func TestSourceSumAsHAProxy(t *testing.T) {
	tests := []struct {
		addr      []byte
		avalanche bool
		want      uint32
	}{
		{[]byte{10, 0, 0, 1}, false, 0x0a000001},
		{[]byte{192, 168, 1, 200}, false, 0xc0a801c8},
		{[]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false, 0x20010db8 ^ 1},
		{[]byte{10, 0, 0, 1}, true, fullHash(0x0a000001)},
	}
	for _, tt := range tests {
		if got := hasher(config.HashSDBM, tt.avalanche).sourceSum(tt.addr); got != tt.want {
			t.Errorf("sourceSum(%v, avalanche=%v) = %#x, want %#x", tt.addr, tt.avalanche, got, tt.want)
		}
	}
}
