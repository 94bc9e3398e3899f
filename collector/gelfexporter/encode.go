// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// appendJSON appends the message as one JSON object (no trailing newline). Key order is fixed:
// version, host, short_message, full_message, timestamp, level, then the additional fields in
// the order they were set. Strings are valid UTF-8 by construction (validUTF8); the string
// encoder still replaces invalid bytes so the output is always valid JSON.
func appendJSON(b []byte, m *message) []byte {
	b = append(b, `{"version":"`+gelfVersion+`","host":`...)
	b = appendString(b, m.host)
	b = append(b, `,"short_message":`...)
	b = appendString(b, m.shortMessage)
	if m.fullMessage != "" {
		b = append(b, `,"full_message":`...)
		b = appendString(b, m.fullMessage)
	}
	b = append(b, `,"timestamp":`...)
	b = append(b, m.timestamp...)
	b = append(b, `,"level":`...)
	b = strconv.AppendInt(b, m.level, 10)
	for _, f := range m.extra.fields {
		b = append(b, `,"_`...)
		b = appendStringContent(b, f.key)
		b = append(b, `":`...)
		switch f.kind {
		case kindInt:
			b = strconv.AppendInt(b, f.num, 10)
		case kindDouble:
			b = appendFloat(b, f.dbl)
		default:
			b = appendString(b, f.str)
		}
	}
	return append(b, '}')
}

// appendFloat formats like encoding/json: 'f' unless the exponent is very small or large.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendString(b, strconv.FormatFloat(f, 'g', -1, 64))
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, like encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringContent(b, s)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendStringContent appends s JSON-escaped, without quotes.
func appendStringContent(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript consumers; escape like encoding/json.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
