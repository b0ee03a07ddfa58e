// Package envelope reads what an HTTP gate needs of a JSON-RPC body before
// the MCP transport decodes it: which messages are calls, their ids and
// methods. It exists because the gate runs on every request, including
// hostile ones, before anything else has looked at them:
//
//   - It is linear in the body's size and iterative, so no nesting depth
//     can overflow a stack or cost more than one pass; nesting deeper than
//     [MaxDepth] is an error, as it is for the go-sdk's decoder.
//   - It skips values it does not need without building them.
//   - It reads keys as the go-sdk does (exact case, escapes decoded), and
//     when it cannot be sure how the transport will read a message — a
//     duplicate "id" or "method", a method that is not a string — it says
//     so, and the gate treats the message as a call: the doubt always falls
//     on the side of counting work, never of letting it past.
//
// It does not validate JSON: what it cannot read is reported as an error,
// and what it can read but is invalid is left for the transport to refuse.
package envelope

import (
	"encoding/json"
	"fmt"
)

// MaxDepth is the deepest nesting of arrays and objects Scan accepts, as
// the go-sdk's decoder.
const MaxDepth = 1000

// A Message is what Scan reads of one JSON-RPC message.
type Message struct {
	// ID is the raw "id" value, nil when absent.
	ID json.RawMessage
	// Method is the decoded "method", when present and a string.
	Method    string
	HasMethod bool
	// Params is the raw "params" value, nil when absent.
	Params json.RawMessage
	// Doubtful is true when the transport might read the message
	// differently from Scan (duplicate keys, a non-string method).
	Doubtful bool
}

// IsCall reports whether m is a request that expects a response: it has a
// method and a non-null id, or is doubtful.
func (m *Message) IsCall() bool {
	if m.Doubtful {
		return true
	}
	return m.HasMethod && len(m.ID) > 0 && string(m.ID) != "null"
}

// Scan reads body, one JSON-RPC message or a batch (an array of them), and
// calls fn for each message in order. It stops at the first error,
// including one from fn.
func Scan(body []byte, fn func(Message) error) error {
	s := scanner{b: body}
	s.space()
	if s.peek() == '[' {
		s.i++
		s.space()
		if s.peek() == ']' {
			s.i++
			return s.end() // an empty batch: no message, for the transport to refuse
		}
		for {
			m, err := s.message()
			if err != nil {
				return err
			}
			if err := fn(m); err != nil {
				return err
			}
			s.space()
			switch s.next() {
			case ',':
				s.space()
			case ']':
				return s.end()
			default:
				return s.fail("expected ',' or ']' in batch")
			}
		}
	}
	m, err := s.message()
	if err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	return fn(m)
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) next() byte {
	c := s.peek()
	s.i++
	return c
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) end() error {
	s.space()
	if s.i < len(s.b) {
		return s.fail("data after the message")
	}
	return nil
}

func (s *scanner) fail(what string) error {
	return fmt.Errorf("envelope: %s at offset %d", what, min(s.i, len(s.b)))
}

// message reads one object, keeping "id" and "method".
func (s *scanner) message() (Message, error) {
	var m Message
	if s.next() != '{' {
		return m, s.fail("expected an object")
	}
	s.space()
	if s.peek() == '}' {
		s.i++
		return m, nil
	}
	var sawID bool
	for {
		s.space()
		key, err := s.key()
		if err != nil {
			return m, err
		}
		s.space()
		if s.next() != ':' {
			return m, s.fail("expected ':'")
		}
		s.space()
		start := s.i
		if err := s.skip(); err != nil {
			return m, err
		}
		raw := s.b[start:s.i]
		switch key {
		case "id":
			m.Doubtful = m.Doubtful || sawID
			sawID = true
			m.ID = raw
		case "params":
			m.Params = raw
		case "method":
			m.Doubtful = m.Doubtful || m.HasMethod
			m.HasMethod = true
			if err := json.Unmarshal(raw, &m.Method); err != nil {
				m.Doubtful = true
			}
		}
		s.space()
		switch s.next() {
		case ',':
		case '}':
			return m, nil
		default:
			return m, s.fail("expected ',' or '}'")
		}
	}
}

// key reads an object key and returns it decoded. Keys other than the two
// wanted come back as "" unless they need decoding to tell.
func (s *scanner) key() (string, error) {
	if s.peek() != '"' {
		return "", s.fail("expected a string key")
	}
	start := s.i
	escaped, err := s.str()
	if err != nil {
		return "", err
	}
	raw := s.b[start:s.i]
	if !escaped {
		return keyString(raw[1 : len(raw)-1]), nil
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", s.fail("invalid key")
	}
	return k, nil
}

// keyString is the key b, without a copy for the keys of JSON-RPC and MCP
// envelopes.
func keyString(b []byte) string {
	switch string(b) {
	case "jsonrpc":
		return "jsonrpc"
	case "id":
		return "id"
	case "method":
		return "method"
	case "params":
		return "params"
	case "name":
		return "name"
	case "arguments":
		return "arguments"
	case "_meta":
		return "_meta"
	case "requestId":
		return "requestId"
	}
	return string(b)
}

// str skips a string starting at the opening quote and reports whether it
// holds escapes.
func (s *scanner) str() (escaped bool, err error) {
	s.i++ // the opening quote
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			s.i++
			return escaped, nil
		case '\\':
			escaped = true
			s.i += 2
		default:
			s.i++
		}
	}
	return false, s.fail("unterminated string")
}

// skip passes over one value of any kind, iteratively.
func (s *scanner) skip() error {
	depth := 0
	for {
		s.space()
		switch c := s.peek(); c {
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return s.fail(fmt.Sprintf("nested deeper than %d", MaxDepth))
			}
			s.i++
			continue
		case '}', ']':
			if depth == 0 {
				return s.fail("unexpected closing bracket")
			}
			depth--
			s.i++
		case '"':
			if _, err := s.str(); err != nil {
				return err
			}
		case ',', ':':
			if depth == 0 {
				return s.fail("expected a value")
			}
			s.i++
			continue
		case 0:
			if s.i >= len(s.b) {
				return s.fail("unexpected end")
			}
			return s.fail("invalid character")
		default:
			if !s.literal() {
				return s.fail("invalid character")
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// literal passes over a number, true, false or null.
func (s *scanner) literal() bool {
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			s.i++
			continue
		}
		break
	}
	return s.i > start
}

// RawField returns the raw value of key in the JSON object obj, matching
// the key exactly as the go-sdk does. ok is false when obj is not an
// object, or the key is absent or repeated.
func RawField(obj []byte, key string) (value json.RawMessage, ok bool) {
	err := fields(obj, func(k string, raw []byte) bool {
		if k != key {
			return true
		}
		if ok {
			ok = false
			return false // repeated
		}
		value, ok = raw, true
		return true
	})
	if err != nil {
		return nil, false
	}
	return value, ok
}

// StringField returns the string value of key in the JSON object obj,
// matching the key exactly as the go-sdk does. ok is false when obj is not
// an object, the key is absent or repeated, or its value is not a string.
func StringField(obj []byte, key string) (value string, ok bool) {
	raw, ok := RawField(obj, key)
	if !ok {
		return "", false
	}
	if s, plain := plainString(raw); plain {
		return s, true
	}
	if json.Unmarshal(raw, &value) != nil {
		return "", false
	}
	return value, true
}

// plainString reads a JSON string of printable ASCII without escapes, which
// every decoder reads alike.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	for _, c := range raw[1 : len(raw)-1] {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(raw[1 : len(raw)-1]), true
}

// Each calls fn with each key of the JSON object obj (decoded, exact case,
// as the go-sdk reads them) and its raw value, until fn returns false. It
// reports whether obj is an object that fn read to its end. Values are not
// validated.
func Each(obj []byte, fn func(key string, raw []byte) bool) bool {
	return fields(obj, fn) == nil
}

// fields calls fn with each key of the object obj and its raw value, until
// fn returns false.
func fields(obj []byte, fn func(key string, raw []byte) bool) error {
	s := scanner{b: obj}
	s.space()
	if s.next() != '{' {
		return s.fail("expected an object")
	}
	s.space()
	if s.peek() == '}' {
		return nil
	}
	for {
		s.space()
		k, err := s.key()
		if err != nil {
			return err
		}
		s.space()
		if s.next() != ':' {
			return s.fail("expected ':'")
		}
		s.space()
		start := s.i
		if err := s.skip(); err != nil {
			return err
		}
		if !fn(k, s.b[start:s.i]) {
			return s.fail("repeated key")
		}
		s.space()
		switch s.next() {
		case ',':
		case '}':
			return nil
		default:
			return s.fail("expected ',' or '}'")
		}
	}
}
