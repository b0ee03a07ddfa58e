package sqlguard

import "strings"

// SafeCharset reports whether name, a connection character set as the
// server reports it in @@character_set_client or
// @@character_set_connection, is one whose reading of a statement Check
// models: utf8, utf8mb3 or utf8mb4 (any case). Statements must not be sent
// over a connection with any other character set.
//
// Check reads the statement as UTF-8, and the server reads it in the
// connection's character set. They agree only if that set is UTF-8:
//
//   - In a multi-byte set such as gbk, big5, sjis, cp932 or gb18030 the
//     second byte of a character may be 0x5C, the backslash. The last UTF-8
//     byte of '中' and a following '\' form one such character, so in
//
//     SELECT '中\' , SLEEP(2) AS slept -- '
//
//     the backslash that Check sees escaping a quote is swallowed, the
//     string ends early and the server runs SLEEP.
//
//   - In a single-byte set such as latin1 every byte is a character of its
//     own, and some bytes of multi-byte UTF-8 characters are spaces or
//     punctuation there: 0xA0, the second byte of 'à', is a space in
//     latin1. "SELECT 1 xàINTO @a" is one name followed by "@a" to Check and
//     an alias followed by INTO @a to the server, which assigns @a. ascii and
//     binary are refused too: Check reads every byte above 0x7F as part of
//     a UTF-8 letter, which they do not promise.
func SafeCharset(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "utf8", "utf8mb3", "utf8mb4":
		return true
	}
	return false
}
