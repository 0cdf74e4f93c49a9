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
		{key + ",crc32(0)", "688229491", i},
		{key + ",crc32(2)", "4230317029", i}, // any non-zero argument
		// Known values: CRC-32 of "123456789", the empty input.
		{"str(123456789),crc32", "3421780262", i},
		{"str(),crc32", "0", i},
		{"str(),djb2", "5381", i},
		{"str(),xxh64", "-1205034819632174695", i}, // 0xef46db3751d8e999
		{"int(1),crc32", "304476159", i},           // the 8 bytes of the integer
	})
	runErrorCases(t, map[string][]string{
		"path,crc32(true)": {"argument 1 of 'crc32'", "'true' is not an integer"},
		"path,xxh64(1,2)":  {"'xxh64' takes 0 to 1 argument(s), found 2"},
		"path,sdbm(1)":     nil,
	})
}

// Hashing allocates nothing, with a seed or without.
func TestHashAllocs(t *testing.T) {
	req := mustRequest(t, getHead("/", "Host: example.com\r\n"))
	for _, expr := range []string{"req.hdr(host),xxh64(7)", "req.hdr(host),xxh64", "req.hdr(host),crc32(1)", "req.hdr(host),djb2"} {
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
