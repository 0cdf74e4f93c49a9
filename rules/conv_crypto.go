package rules

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"

	"github.com/fjordlb/fjord/config"
)

// The cryptographic converters of HAProxy's src/sample.c and
// src/ssl_sample.c: sha1, sha2, digest and hmac with Go's standard
// digests, and secure_memcmp. Digests are computed on the stack and HMAC
// in the scratch: nothing is allocated.

func init() {
	convFns["sha1"] = func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
		return digestValue(t, config.DigestSHA1, v.B), true
	}
	convFns["sha2"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		d := config.DigestSHA256
		if len(a) > 0 {
			switch a[0].Int {
			case 224:
				d = config.DigestSHA224
			case 384:
				d = config.DigestSHA384
			case 512:
				d = config.DigestSHA512
			}
		}
		return digestValue(t, d, v.B), true
	}
	convFns["digest"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		return digestValue(t, config.Digest(a[0].Int), v.B), true
	}
	// hmac(algo,key): the key is base64, given (decoded by config) or in
	// a variable, decoded here; a variable not set or not base64 gives
	// no sample.
	convFns["hmac"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		key := a[1].Bytes
		if a[1].Kind == config.ArgVar {
			x, ok := t.getVar(a[1].Var)
			if !ok {
				return Value{}, false
			}
			x = t.castStr(x)
			off := len(t.scratch)
			if t.scratch, ok = appendBase64Decode(t.scratch, x.B); !ok {
				t.scratch = t.scratch[:off]
				return Value{}, false
			}
			key = t.built(off)
		}
		off := len(t.scratch)
		t.scratch = appendHMAC(t.scratch, config.Digest(a[0].Int), key, v.B)
		return binValue(t.built(off)), true
	}
	// secure_memcmp(var): the input and the variable as bytes are equal,
	// compared in constant time when their lengths are.
	convFns["secure_memcmp"] = func(t *Txn, a []config.Arg, v Value) (Value, bool) {
		x, ok := t.getVar(a[0].Var)
		if !ok {
			return Value{}, false
		}
		if x.Type != config.TypeStr && x.Type != config.TypeBin {
			x = t.castBin(x)
		}
		return boolValue(len(x.B) == len(v.B) && subtle.ConstantTimeCompare(v.B, x.B) == 1), true
	}
}

// digestValue gives the digest of b, as bytes.
func digestValue(t *Txn, d config.Digest, b []byte) Value {
	off := len(t.scratch)
	t.scratch = appendDigest(t.scratch, d, b)
	return binValue(t.built(off))
}

// appendDigest appends the digest d of b.
func appendDigest(dst []byte, d config.Digest, b []byte) []byte {
	switch d {
	case config.DigestMD5:
		s := md5.Sum(b)
		return append(dst, s[:]...)
	case config.DigestSHA1:
		s := sha1.Sum(b)
		return append(dst, s[:]...)
	case config.DigestSHA224:
		s := sha256.Sum224(b)
		return append(dst, s[:]...)
	case config.DigestSHA256:
		s := sha256.Sum256(b)
		return append(dst, s[:]...)
	case config.DigestSHA384:
		s := sha512.Sum384(b)
		return append(dst, s[:]...)
	case config.DigestSHA512:
		s := sha512.Sum512(b)
		return append(dst, s[:]...)
	case config.DigestSHA512_224:
		s := sha512.Sum512_224(b)
		return append(dst, s[:]...)
	case config.DigestSHA512_256:
		s := sha512.Sum512_256(b)
		return append(dst, s[:]...)
	}
	return dst
}

// digestBlock is the block size of a digest, which HMAC pads the key to.
func digestBlock(d config.Digest) int {
	switch d {
	case config.DigestSHA384, config.DigestSHA512, config.DigestSHA512_224, config.DigestSHA512_256:
		return 128
	}
	return 64
}

// appendHMAC appends HMAC (RFC 2104) of msg with key and the digest d:
// H((K^opad) || H((K^ipad) || msg)), built in dst past its end, which is
// cut back to hold only the result.
func appendHMAC(dst []byte, d config.Digest, key, msg []byte) []byte {
	start := len(dst)
	block := digestBlock(d)
	if len(key) > block {
		dst = appendDigest(dst, d, key)
		key = dst[start:]
	}
	// The padded key, then the inner message.
	var k [128]byte
	copy(k[:], key)
	dst = dst[:start]
	in := len(dst)
	for i := 0; i < block; i++ {
		dst = append(dst, k[i]^0x36)
	}
	dst = append(dst, msg...)
	mid := len(dst)
	dst = appendDigest(dst, d, dst[in:mid])
	inner := len(dst)
	for i := 0; i < block; i++ {
		dst = append(dst, k[i]^0x5c)
	}
	dst = append(dst, dst[mid:inner]...)
	end := len(dst)
	dst = appendDigest(dst, d, dst[inner:end])
	n := copy(dst[start:], dst[end:])
	return dst[:start+n]
}
