package h1

import "testing"

func BenchmarkParseRequest(b *testing.B) {
	in := []byte(browserGET)
	var r Request
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(in, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequestMinimal(b *testing.B) {
	in := []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	var r Request
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(in, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	in := []byte(typicalResponse)
	var r Response
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseResponse(in, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeader(b *testing.B) {
	var r Request
	if _, err := ParseRequest([]byte(browserGET), &r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := r.Header("upgrade-insecure-requests"); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkParseChunkSize(b *testing.B) {
	in := []byte("1f40;name=value\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseChunkSize(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTrailers(b *testing.B) {
	in := []byte("X-Checksum: abc123\r\nExpires: never\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTrailers(in); err != nil {
			b.Fatal(err)
		}
	}
}
