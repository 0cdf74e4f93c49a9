package hello

import (
	"crypto/tls"
	"testing"
)

// The engine parses each time more of a hello arrives: what a whole one
// costs, in one record and in many.
func BenchmarkParse(b *testing.B) {
	stream := clientHello(b, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}})
	for _, bc := range []struct {
		name   string
		stream []byte
	}{
		{"one record", stream},
		{"records of 100 bytes", even(b, stream, 100)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.stream)))
			for b.Loop() {
				if _, err := Parse(bc.stream); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
