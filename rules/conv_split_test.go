package rules

import (
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
)

func TestConvertersFieldWord(t *testing.T) {
	// HAProxy's reg-test http-rules/converters_ipmask_concat_strcmp_field_word.vtc,
	// and the examples of configuration.txt.
	head := getHead("/is/this/Ok/or/not?qs=Yes_It_Is", "Fieldhdr: f1_f2_f3__f5\r\n")
	s := config.TypeStr
	runSampleCases(t, head, nil, []sampleCase{
		{"hdr(fieldhdr),field(5,_)", "f5", s},
		{"path,lower,field(4,/,1)", "ok", s},
		{"str(Yes_It_Is),upper,field(2,_,2)", "IT_IS", s},
		{"hdr(fieldhdr),field(2,_,0)", "f2_f3__f5", s},
		{"hdr(fieldhdr),field(2,_,2)", "f2_f3", s},
		{"hdr(fieldhdr),field(-2,_,3)", "f2_f3_", s},
		{"hdr(fieldhdr),field(-3,_,0)", "f1_f2_f3", s},
		{"hdr(fieldhdr),field(4,_)", "", s}, // an empty field is found
		{"hdr(fieldhdr),field(6,_)", noSample, 0},
		{"hdr(fieldhdr),field(-6,_)", noSample, 0},
		{"hdr(fieldhdr),field(-5,_)", "f1", s},
		{"hdr(fieldhdr),field(2,_,9)", "f2_f3__f5", s},
		{"hdr(fieldhdr),field(2,_,)", "f2", s}, // an empty count is none
		{"hdr(fieldhdr),field(1,3_)", "f1", s}, // any delimiter
		{"hdr(fieldhdr),field(3,3_)", "f", s},
		{"hdr(fieldhdr),word(4,_)", "f5", s},
		{"path,upper,word(3,/,1)", "OK", s},
		{"str(Yes_It_Is),word(1,_,2)", "Yes_It", s},
		{"hdr(fieldhdr),word(2,_,0)", "f2_f3__f5", s},
		{"hdr(fieldhdr),word(3,_,2)", "f3__f5", s},
		{"hdr(fieldhdr),word(-2,_,3)", "f1_f2_f3", s},
		{"hdr(fieldhdr),word(-3,_,0)", "f1_f2", s},
		{"hdr(fieldhdr),word(5,_)", "", s}, // no fifth word: empty, as HAProxy
		{"str(__a__b__),word(1,_,0)", "a__b__", s},
		{"str(__a__b__),word(-1,_,0)", "__a__b", s},
		{"str(__a__b__),word(1,_,2)", "a__b", s},
		{"str(__a__b__),word(2,_)", "b", s},
	})
	// HAProxy's reg-test converter/field.vtc.
	runSampleCases(t, getHead("/foo/bar/baz"), nil, []sampleCase{{"path,field(3,/)", "bar", s}})
	runSampleCases(t, getHead("/foo"), nil, []sampleCase{{"path,field(3,/)", noSample, 0}})
	runErrorCases(t, map[string][]string{
		"path,field(0,/)":     {"argument 1 of 'field'", "not 0"},
		"path,word(0,/)":      {"argument 1 of 'word'", "not 0"},
		"path,field(1,)":      {"argument 2 of 'field'", "delimiters is empty"},
		"path,field(1)":       {"'field' takes 2 to 3 argument(s), found 1"},
		"path,word(1,/,x)":    {"argument 3 of 'word'", "'x' is not an integer"},
		"path,field(x,/)":     {"argument 1 of 'field'", "'x' is not an integer"},
		"path,field(1,/,)":    nil,
		"path,field(-1,/)":    nil,
		`path,field(1,\",\")`: nil, // a quoted comma
	})
}

// fieldsOf cuts s at every delimiter, keeping empty fields, with their
// offsets.
func fieldsOf(s, delims string) (out [][2]int) {
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(delims, s[i]) >= 0 {
			out = append(out, [2]int{start, i})
			start = i + 1
		}
	}
	return append(out, [2]int{start, len(s)})
}

// wordsOf gives the runs of non-delimiters of s.
func wordsOf(s, delims string) (out [][2]int) {
	for i := 0; i < len(s); {
		if strings.IndexByte(delims, s[i]) >= 0 {
			i++
			continue
		}
		j := i
		for j < len(s) && strings.IndexByte(delims, s[j]) < 0 {
			j++
		}
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

// field and word against a reading of their documentation: fields or
// words idx to idx+count-1 (count <= 0: all that remain), counted from
// the other end for a negative idx.
func FuzzFieldWord(f *testing.F) {
	for _, s := range []string{"f1_f2_f3__f5", "/is/this/Ok/or/not", "", "_", "__a__b__", "a", "a,b;c"} {
		for _, idx := range []int8{1, 2, 5, -1, -3, 7} {
			for _, count := range []int8{1, 0, 2, 3, -1} {
				f.Add(s, "_/", idx, count)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s, delims string, idx8, count8 int8) {
		idx, count := int(idx8), int(count8)
		if idx == 0 || delims == "" {
			return // refused by config
		}
		fields := fieldsOf(s, delims)
		got, ok := field([]byte(s), int64(idx), delims, int64(count))
		want, wantOK := "", true
		first, last := idx-1, idx-1+count-1 // as indexes, for idx > 0
		if idx < 0 {
			first, last = len(fields)+idx-(count-1), len(fields)+idx
		}
		switch {
		case idx > 0 && idx > len(fields), idx < 0 && -idx > len(fields):
			wantOK = false
		case idx > 0:
			if count <= 0 || last >= len(fields) {
				last = len(fields) - 1
			}
			want = s[fields[first][0]:fields[last][1]]
		default:
			if count <= 0 || first < 0 {
				first = 0
			}
			want = s[fields[first][0]:fields[last][1]]
		}
		if ok != wantOK || string(got) != want {
			t.Fatalf("field(%q, %d, %q, %d) = %q, %v; want %q, %v", s, idx, delims, count, got, ok, want, wantOK)
		}

		words := wordsOf(s, delims)
		gotW := string(word([]byte(s), int64(idx), delims, int64(count)))
		want = ""
		switch {
		case idx > 0 && idx > len(words), idx < 0 && -idx > len(words):
		case idx > 0:
			first, last := idx-1, idx-1+count-1
			if count <= 0 || last >= len(words) {
				want = s[words[first][0]:] // the separators after the last word too
			} else {
				want = s[words[first][0]:words[last][1]]
			}
		default:
			first, last := len(words)+idx-(count-1), len(words)+idx
			if count <= 0 || first < 0 {
				want = s[:words[last][1]]
			} else {
				want = s[words[first][0]:words[last][1]]
			}
		}
		if gotW != want {
			t.Fatalf("word(%q, %d, %q, %d) = %q; want %q", s, idx, delims, count, gotW, want)
		}
	})
}
