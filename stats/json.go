package stats

import (
	"encoding/json"
	"strconv"
)

// textColumns are the CSV columns whose values are text; every other
// column holds an integer and is written as a JSON number.
var textColumns = map[string]bool{"pxname": true, "svname": true, "status": true, "check_status": true}

// appendJSON writes rows as a JSON array of objects whose keys are the CSV
// column names, in CSV order, with only the fields the CSV fills. (This is
// not HAProxy's ";json", a typed per-field format; it is the CSV as
// objects, which is what scripts usually want.)
func appendJSON(b []byte, rows []Row) []byte {
	b = append(b, '[')
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n', '{')
		f := rows[i].fields()
		first := true
		for _, col := range csvColumns {
			v, ok := f[col]
			if !ok || v == "" {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = strconv.AppendQuote(b, col) // column names are plain ASCII
			b = append(b, ':')
			b = appendJSONValue(b, col, v)
		}
		b = append(b, '}')
	}
	return append(b, '\n', ']', '\n')
}

func appendJSONValue(b []byte, col, v string) []byte {
	if !textColumns[col] {
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return append(b, v...)
		}
	}
	q, err := json.Marshal(v) // escapes what JSON needs, and <, >, & too
	if err != nil {
		return append(b, `""`...)
	}
	return append(b, q...)
}
