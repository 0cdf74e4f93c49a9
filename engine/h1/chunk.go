package h1

// maxChunkLine bounds a chunk-size line, extensions included, so that a
// peer cannot make the framer wait on an endless line.
const maxChunkLine = 1024

// maxChunkDigits keeps a chunk size within an int64.
const maxChunkDigits = 15

// ParseChunkSize parses a chunk-size line "HEX[;ext...]\r\n" at the start
// of b. It returns the chunk size and the line's length including CRLF,
// ErrNeedMore when the line is a valid prefix without its CRLF yet, or
// *Error as soon as a byte is invalid or the line runs past 1024 bytes.
// Chunk extensions are checked for stray control bytes and skipped.
func ParseChunkSize(b []byte) (size int64, n int, err error) {
	i := 0
	for ; i < len(b); i++ {
		d := unhex[b[i]]
		if d == 0xff {
			break
		}
		if i == maxChunkDigits {
			return 0, 0, errAt(i, msgChunkSize)
		}
		size = size<<4 | int64(d)
	}
	if i == len(b) {
		return 0, 0, ErrNeedMore
	}
	if i == 0 {
		// Whitespace or a sign before the size is how a size gets read as
		// two different numbers.
		if b[0] == '\n' {
			return 0, 0, errAt(0, msgChunkBareLF)
		}
		return 0, 0, errAt(0, msgChunkSize)
	}

	lim := min(len(b), maxChunkLine+1)
	j := i
	// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ):
	// whitespace after the size is only allowed before a ';'.
	for j < lim && isOWS(b[j]) {
		j++
	}
	if j < lim && b[j] == ';' {
		for j < lim && vchar[b[j]] {
			j++
		}
	} else if j > i && j < lim {
		if b[j] == '\n' {
			return 0, 0, errAt(j, msgChunkBareLF)
		}
		return 0, 0, errAt(j, msgChunkSize)
	}
	if j == lim {
		if j > maxChunkLine {
			// The byte that should have been the CR.
			return 0, 0, errAt(maxChunkLine, msgChunkLineLen)
		}
		return 0, 0, ErrNeedMore
	}
	switch b[j] {
	case '\r':
	case '\n':
		return 0, 0, errAt(j, msgChunkBareLF)
	default:
		if j == i {
			return 0, 0, errAt(j, msgChunkSize)
		}
		return 0, 0, errAt(j, msgChunkExt)
	}
	if j+1 >= len(b) {
		return 0, 0, ErrNeedMore
	}
	if b[j+1] != '\n' {
		return 0, 0, errAt(j, msgBareCR)
	}
	return size, j + 2, nil
}

// ParseTrailers parses the trailer section that follows the last chunk's
// size line: zero or more header fields, each ending in CRLF, then an
// empty line. It returns the section's length including the final CRLF,
// ErrNeedMore, or *Error. The fields obey the rules of a head's fields
// and, like them, are limited to MaxHeaders; they are not returned.
func ParseTrailers(b []byte) (int, error) {
	_, n, err := parseFields(b, 0, nil)
	return n, err
}
