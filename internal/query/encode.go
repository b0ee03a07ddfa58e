package query

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// An encoder appends one non-NULL column value, as received in the MySQL
// text protocol, to a JSON buffer.
type encoder func(dst, v []byte) []byte

// maxSafeInt is the largest integer a JSON reader using IEEE doubles holds
// exactly; larger integers are sent as strings so no digit is lost.
const maxSafeInt = 1<<53 - 1

// encoderFor picks the encoding for a column from the type name the driver
// reports (go-sql-driver/mysql's DatabaseTypeName, e.g. "UNSIGNED BIGINT").
func encoderFor(typeName string) encoder {
	switch strings.TrimPrefix(typeName, "UNSIGNED ") {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR":
		return encodeInt
	case "FLOAT", "DOUBLE":
		return encodeFloat
	case "BIT", "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB", "GEOMETRY":
		return encodeBinary
	case "JSON":
		return encodeJSON
	default: // DECIMAL keeps every digit as a string; text, dates and times are strings
		return encodeString
	}
}

// rowSize is about the bytes of vals encoded as a row.
func rowSize(vals []sql.RawBytes) int {
	n := 2
	for _, v := range vals {
		n += len(v) + 3
	}
	return n + n/8
}

// appendRow appends vals encoded as a JSON array, each with its encoder.
func appendRow(dst []byte, vals []sql.RawBytes, encs []encoder) []byte {
	dst = append(dst, '[')
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		if v == nil {
			dst = append(dst, "null"...)
			continue
		}
		dst = encs[i](dst, v)
	}
	return append(dst, ']')
}

func encodeInt(dst, v []byte) []byte {
	s := string(v)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= -maxSafeInt && n <= maxSafeInt {
		return append(dst, v...)
	}
	return encodeString(dst, v)
}

func encodeFloat(dst, v []byte) []byte {
	if _, err := strconv.ParseFloat(string(v), 64); err == nil && json.Valid(v) {
		return append(dst, v...)
	}
	return encodeString(dst, v) // e.g. "inf" or "nan" from some engines
}

func encodeBinary(dst, v []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, v)
	return append(dst, '"')
}

func encodeJSON(dst, v []byte) []byte {
	if json.Valid(v) {
		return append(dst, v...)
	}
	return encodeString(dst, v)
}

const hex = "0123456789abcdef"

// encodeString appends v as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does; '<', '>' and '&' are left alone since the output is
// not HTML.
func encodeString(dst, v []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, v[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, v[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, v[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, v[start:]...)
	return append(dst, '"')
}
