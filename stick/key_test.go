package stick

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseKeyType(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want KeyType
		used int
		err  string
	}{
		{"ip", []string{"ip", "size", "1m"}, KeyType{KeyIPv4, 4}, 1, ""},
		{"ipv6", []string{"ipv6"}, KeyType{KeyIPv6, 16}, 1, ""},
		{"integer", []string{"integer"}, KeyType{KeyInteger, 4}, 1, ""},
		{"string keeps 31 characters by default as HAProxy's 32-byte C string", []string{"string"}, KeyType{KeyString, 31}, 1, ""},
		{"string len N keeps N characters", []string{"string", "len", "40"}, KeyType{KeyString, 40}, 3, ""},
		{"binary keeps 32 bytes by default", []string{"binary", "size", "10"}, KeyType{KeyBinary, 32}, 1, ""},
		{"binary len N", []string{"binary", "len", "6"}, KeyType{KeyBinary, 6}, 3, ""},
		{"len after ip is left to the caller", []string{"ip", "len", "6"}, KeyType{KeyIPv4, 4}, 1, ""},
		{"unknown kind named", []string{"ipv4"}, KeyType{}, 0, `"ipv4"`},
		{"missing kind", nil, KeyType{}, 0, "missing key type"},
		{"len zero", []string{"string", "len", "0"}, KeyType{}, 0, `invalid len "0"`},
		{"len not a number", []string{"string", "len", "abc"}, KeyType{}, 0, `invalid len "abc"`},
		{"len missing", []string{"binary", "len"}, KeyType{}, 0, "needs a length"},
		{"len too big", []string{"string", "len", "65537"}, KeyType{}, 0, "65537"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kt, used, err := ParseKeyType(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || kt != tt.want || used != tt.used {
				t.Fatalf("got %+v, %d, %v; want %+v, %d", kt, used, err, tt.want, tt.used)
			}
		})
	}
}

func mustKeyType(t testing.TB, kind KeyKind, n int) KeyType {
	t.Helper()
	kt, err := NewKeyType(kind, n)
	if err != nil {
		t.Fatal(err)
	}
	return kt
}

func TestKeyEncoding(t *testing.T) {
	str := mustKeyType(t, KeyString, 5)
	bin := mustKeyType(t, KeyBinary, 4)
	integer := mustKeyType(t, KeyInteger, 0)
	tests := []struct {
		name string
		got  func() ([]byte, error)
		want []byte
	}{
		{"string truncated to len", func() ([]byte, error) { return str.AppendString(nil, []byte("abcdefgh")) }, []byte("abcde")},
		{"string stops at NUL like a C string", func() ([]byte, error) { return str.AppendString(nil, []byte("ab\x00cd")) }, []byte("ab")},
		{"short string kept whole", func() ([]byte, error) { return str.AppendString(nil, []byte("ab")) }, []byte("ab")},
		{"binary zero-padded to len", func() ([]byte, error) { return bin.AppendBinary(nil, []byte{1, 2}) }, []byte{1, 2, 0, 0}},
		{"binary truncated to len", func() ([]byte, error) { return bin.AppendBinary(nil, []byte{1, 2, 3, 4, 5}) }, []byte{1, 2, 3, 4}},
		{"integer keeps the low 32 bits", func() ([]byte, error) { return integer.AppendInt(nil, 1<<32+7) }, []byte{0, 0, 0, 7}},
		{"negative integer wraps to unsigned", func() ([]byte, error) { return integer.AppendInt(nil, -1) }, []byte{0xff, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := str.AppendIPv4(nil, [4]byte{}); !errors.Is(err, ErrKeyKind) {
		t.Errorf("an IPv4 key for a string table: err = %v, want ErrKeyKind", err)
	}
}

func TestParseAndShowKey(t *testing.T) {
	tests := []struct {
		name string
		kt   KeyType
		text string
		show string
		err  string
	}{
		{"ip", mustKeyType(t, KeyIPv4, 0), "127.0.0.1", "127.0.0.1", ""},
		{"ipv6", mustKeyType(t, KeyIPv6, 0), "2001:db8::1", "2001:db8::1", ""},
		{"integer shown unsigned", mustKeyType(t, KeyInteger, 0), "4294967295", "4294967295", ""},
		{"string escaped as dump_text", mustKeyType(t, KeyString, 0), "a b=c\\\t\x01", `a\ b\=c\\\t\x01`, ""},
		{"ip refuses ipv6", mustKeyType(t, KeyIPv4, 0), "::1", "", `invalid ip key "::1"`},
		{"ipv6 refuses ip", mustKeyType(t, KeyIPv6, 0), "10.0.0.1", "", `invalid ipv6 key "10.0.0.1"`},
		{"integer refuses negative", mustKeyType(t, KeyInteger, 0), "-1", "", `invalid integer key "-1"`},
		{"integer refuses 2^32", mustKeyType(t, KeyInteger, 0), "4294967296", "", "4294967296"},
		{"binary is not given as text", mustKeyType(t, KeyBinary, 0), "00", "", "binary key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.kt.ParseKey(nil, tt.text)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tt.kt.AppendKeyText(nil, k)); got != tt.show {
				t.Errorf("shown as %q, want %q", got, tt.show)
			}
		})
	}
	bin := mustKeyType(t, KeyBinary, 3)
	k, _ := bin.AppendBinary(nil, []byte{0xab, 0x01})
	if got := string(bin.AppendKeyText(nil, k)); got != "AB0100" {
		t.Errorf("binary key shown as %q, want upper-case hex AB0100", got)
	}
}
