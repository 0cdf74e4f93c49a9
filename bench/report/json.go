package report

import (
	"encoding/json"
	"io"
)

// JSON writes the results for machines: every round of every peer, the
// medians, and the spectra.
func JSON(w io.Writer, res *Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
