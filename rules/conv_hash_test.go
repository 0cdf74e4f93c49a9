package rules

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

// The bytes 0 to 255, in base64: the key of HAProxy's reg-test
// sample_fetches/hashes.vtc.
const allBytesB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=="

func TestConvertersHashes(t *testing.T) {
	key := "str(" + allBytesB64 + "),b64dec"
	i, s := config.TypeInt, config.TypeStr
	// The expectations of hashes.vtc.
	runSampleCases(t, "", nil, []sampleCase{
		{key + ",length", "0", i}, // bytes cast to a string end at the first NUL
		{key + ",bytes(1),length", "255", i},
		{key + ",base64", allBytesB64, s},
		{key + ",crc32", "688229491", i},
		{key + ",crc32(1)", "4230317029", i},
		{key + ",djb2", "2589693061", i},
		{key + ",djb2(1)", "600622701", i},
		{key + ",sdbm", "905707648", i},
		{key + ",sdbm(1)", "3103804144", i},
		{key + ",xxh64", "2282408585429094475", i},
		{key + ",xxh64(1)", "-4689339368900765961", i},
		{key + ",crc32c", "2621708363", i},
		{key + ",crc32c(1)", "2242979626", i},
		{key + ",wt6", "4090277559", i},
		{key + ",wt6(1)", "1192658767", i},
		{key + ",xxh3", "-7779787747613135503", i},
		{key + ",xxh3(1)", "5930632130106562027", i},
		{key + ",xxh32", "1497633363", i},
		{key + ",xxh32(1)", "1070421674", i},
		{key + ",crc32(0)", "688229491", i},
		{key + ",crc32(2)", "4230317029", i}, // any non-zero argument
		// Known values: CRC-32 of "123456789", the empty input.
		{"str(123456789),crc32", "3421780262", i},
		{"str(),crc32", "0", i},
		{"str(),djb2", "5381", i},
		{"str(),xxh64", "-1205034819632174695", i}, // 0xef46db3751d8e999
		{"int(1),crc32", "304476159", i},           // the 8 bytes of the integer
		// CRC-32C's check value (RFC 3720's polynomial).
		{"str(123456789),crc32c", "3808858755", i}, // 0xe3069283
		{"str(),crc32c", "0", i},
		{"str(),wt6", "4187620192", i}, // 0xa53c965a ^ 0x5ca6953a
		// XXH32's and XXH3's reference values (xxHash's sanity checks).
		{"str(),xxh32", "46947589", i},           // 0x02cc5d05
		{"str(abc),xxh32", "852579327", i},       // 0x32d153ff
		{"str(),xxh3", "3244421341483603138", i}, // 0x2d06800538d394c2
	})
	runErrorCases(t, map[string][]string{
		"path,crc32(true)": {"argument 1 of 'crc32'", "'true' is not an integer"},
		"path,xxh64(1,2)":  {"'xxh64' takes 0 to 1 argument(s), found 2"},
		"path,sdbm(1)":     nil,
	})
}

// xxh32's seed is HAProxy's unsigned int: -1 is 0xffffffff, and a seed
// changes the hash.
func TestXXH32Seed(t *testing.T) {
	in := []byte("abc")
	if a, b := xxh32(in, uint32(0xffffffff)), hashOf(t, "str(abc),xxh32(-1)"); int64(a) != b {
		t.Errorf("xxh32(-1) = %d, want %d", b, a)
	}
	if hashOf(t, "str(abc),xxh32(1)") == hashOf(t, "str(abc),xxh32") {
		t.Error("the seed changes nothing")
	}
}

func hashOf(t *testing.T, expr string) int64 {
	t.Helper()
	var tx Txn
	v, ok := compileSample(t, expr).Eval(&tx)
	if !ok {
		t.Fatalf("%s: no sample", expr)
	}
	return v.I
}

// Hashing allocates nothing, with a seed or without.
func TestHashAllocs(t *testing.T) {
	req := mustRequest(t, getHead("/", "Host: example.com\r\n"))
	for _, expr := range []string{"req.hdr(host),xxh64(7)", "req.hdr(host),xxh64", "req.hdr(host),crc32(1)", "req.hdr(host),djb2",
		"req.hdr(host),crc32c(1)", "req.hdr(host),wt6", "req.hdr(host),xxh32(3)", "req.hdr(host),xxh3(3)"} {
		e := compileSample(t, expr)
		var tx Txn
		var m Msg
		if allocs := testing.AllocsPerRun(100, func() {
			fillTxn(&tx, &m, v4Client, req)
			e.Eval(&tx)
		}); allocs != 0 {
			t.Errorf("%s: %v allocations per evaluation", expr, allocs)
		}
	}
}
