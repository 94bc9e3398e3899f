// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// This file holds the pure part of the exporter: an OTel log record (plus its resource) →
// a GELF 1.1 message. No I/O. See README.md ("GELF mapping") for the table.

const (
	gelfVersion = "1.1"
	// stacktraceAttribute becomes full_message (and is not repeated as an additional field).
	stacktraceAttribute = "exception.stacktrace"
	// defaultLevel is syslog "informational", used when a record carries no usable severity.
	defaultLevel = 6
)

// defaultHostAttributes are the resource attributes tried for the GELF host field.
var defaultHostAttributes = []string{"host.name", "service.instance.id", "service.name"}

type fieldKind uint8

const (
	kindString fieldKind = iota
	kindInt
	kindDouble
)

// field is one GELF additional field. key is the sanitised name WITHOUT the leading `_`
// (the encoder adds it), so clean attribute names need no allocation.
type field struct {
	key  string
	str  string
	num  int64
	dbl  float64
	kind fieldKind
}

func (f field) value() any {
	switch f.kind {
	case kindInt:
		return f.num
	case kindDouble:
		return f.dbl
	default:
		return f.str
	}
}

// fieldSet is an ordered set of additional fields; a later field with the same name replaces
// an earlier one (record attributes override resource attributes; the exporter's own
// _trace_id, _span_id, ... override both).
type fieldSet struct {
	fields []field
	index  map[string]int
}

func newFieldSet() *fieldSet { return &fieldSet{index: make(map[string]int, 32)} }

func (fs *fieldSet) reset() {
	fs.fields = fs.fields[:0]
	clear(fs.index)
}

func (fs *fieldSet) set(f field) {
	if i, ok := fs.index[f.key]; ok {
		fs.fields[i] = f
		return
	}
	fs.index[f.key] = len(fs.fields)
	fs.fields = append(fs.fields, f)
}

// message is a GELF message before encoding.
type message struct {
	host         string
	shortMessage string
	fullMessage  string
	// timestamp is seconds since the epoch as a JSON number literal.
	timestamp string
	level     int64
	extra     *fieldSet
}

// toMap returns the message as the JSON object it encodes to (timestamp as json.Number).
func (m *message) toMap() map[string]any {
	out := map[string]any{
		"version":       gelfVersion,
		"host":          m.host,
		"short_message": m.shortMessage,
		"timestamp":     json.Number(m.timestamp),
		"level":         m.level,
	}
	if m.fullMessage != "" {
		out["full_message"] = m.fullMessage
	}
	for _, f := range m.extra.fields {
		out["_"+f.key] = f.value()
	}
	return out
}

// matcher matches flattened attribute names: exact entries, or prefixes for entries ending in `*`.
type matcher struct {
	exact    map[string]struct{}
	prefixes []string
}

func newMatcher(entries []string) *matcher {
	if len(entries) == 0 {
		return nil
	}
	m := &matcher{exact: map[string]struct{}{}}
	for _, e := range entries {
		if p, ok := strings.CutSuffix(e, "*"); ok {
			m.prefixes = append(m.prefixes, p)
		} else {
			m.exact[e] = struct{}{}
		}
	}
	return m
}

func (m *matcher) matches(name string) bool {
	if _, ok := m.exact[name]; ok {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// mapper turns log records into GELF messages according to a MappingConfig.
type mapper struct {
	hostAttributes  []string
	include         *matcher
	exclude         *matcher
	includeResource bool
	maxValueLen     int
	fallbackHost    string
	now             func() time.Time
}

func newMapper(cfg MappingConfig, fallbackHost string) *mapper {
	hostAttrs := cfg.HostAttributes
	if len(hostAttrs) == 0 {
		hostAttrs = defaultHostAttributes
	}
	if strings.TrimSpace(fallbackHost) == "" {
		fallbackHost = "unknown"
	}
	return &mapper{
		hostAttributes:  hostAttrs,
		include:         newMatcher(cfg.IncludeAttributes),
		exclude:         newMatcher(cfg.ExcludeAttributes),
		includeResource: cfg.IncludeResourceAttributes,
		maxValueLen:     cfg.MaxAttributeValueLength,
		fallbackHost:    fallbackHost,
		now:             time.Now,
	}
}

// ToGELF maps one log record and its resource to a GELF 1.1 message, returned as the JSON
// object it is sent as. It is the pure function behind the exporter; fallbackHost is used for
// `host` when no host attribute is set.
func ToGELF(resource pcommon.Resource, record plog.LogRecord, cfg MappingConfig, fallbackHost string) map[string]any {
	m := newMapper(cfg, fallbackHost)
	rc := m.resourceContext(resource)
	msg := m.record(rc, record, newFieldSet())
	return msg.toMap()
}

// resourceContext is what every record of one resource shares.
type resourceContext struct {
	host   string
	fields []field
}

func (m *mapper) resourceContext(res pcommon.Resource) resourceContext {
	rc := resourceContext{host: m.fallbackHost}
	attrs := res.Attributes()
	for _, k := range m.hostAttributes {
		if v, ok := attrs.Get(k); ok {
			if s := strings.TrimSpace(validUTF8(valueString(v))); s != "" {
				rc.host = s
				break
			}
		}
	}
	if m.includeResource {
		fs := newFieldSet()
		m.addAttributes(fs, attrs, "")
		rc.fields = append([]field(nil), fs.fields...)
	}
	return rc
}

// record maps one log record; fs is reused scratch space (reset here) that the returned
// message refers to.
func (m *mapper) record(rc resourceContext, lr plog.LogRecord, fs *fieldSet) message {
	fs.reset()
	for _, f := range rc.fields {
		fs.set(f)
	}
	msg := message{host: rc.host, level: level(lr.SeverityNumber(), lr.SeverityText()), extra: fs}

	attrs := lr.Attributes()
	if v, ok := attrs.Get(stacktraceAttribute); ok {
		msg.fullMessage = validUTF8(valueString(v))
	}
	m.addAttributes(fs, attrs, "")

	body := lr.Body()
	if body.Type() == pcommon.ValueTypeStr {
		msg.shortMessage = validUTF8(body.Str())
	} else if body.Type() != pcommon.ValueTypeEmpty {
		msg.shortMessage = validUTF8(valueString(body))
	}
	if strings.TrimSpace(msg.shortMessage) == "" {
		msg.shortMessage = "-"
		if ev := strings.TrimSpace(lr.EventName()); ev != "" {
			msg.shortMessage = validUTF8(ev)
		}
	}

	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	if ts == 0 {
		ts = pcommon.NewTimestampFromTime(m.now())
	}
	msg.timestamp = formatTimestamp(uint64(ts))

	if tid := lr.TraceID(); !tid.IsEmpty() {
		fs.set(field{key: "trace_id", str: hex.EncodeToString(tid[:])})
	}
	if sid := lr.SpanID(); !sid.IsEmpty() {
		fs.set(field{key: "span_id", str: hex.EncodeToString(sid[:])})
	}
	if st := lr.SeverityText(); st != "" {
		fs.set(field{key: "severity_text", str: m.truncate(validUTF8(st))})
	}
	if ev := lr.EventName(); ev != "" {
		fs.set(field{key: "event_name", str: m.truncate(validUTF8(ev))})
	}
	return msg
}

// addAttributes flattens attrs (maps with dots) into fs, applying include/exclude.
func (m *mapper) addAttributes(fs *fieldSet, attrs pcommon.Map, prefix string) {
	for k, v := range attrs.All() {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if prefix == "" && k == stacktraceAttribute {
			continue // sent as full_message
		}
		if v.Type() == pcommon.ValueTypeMap {
			m.addAttributes(fs, v.Map(), name)
			continue
		}
		if m.include != nil && !m.include.matches(name) || m.exclude != nil && m.exclude.matches(name) {
			continue
		}
		key := fieldName(name)
		if key == "" {
			continue
		}
		f := field{key: key}
		switch v.Type() {
		case pcommon.ValueTypeEmpty:
			continue
		case pcommon.ValueTypeStr:
			f.str = m.truncate(validUTF8(v.Str()))
		case pcommon.ValueTypeInt:
			f.kind, f.num = kindInt, v.Int()
		case pcommon.ValueTypeDouble:
			d := v.Double()
			if math.IsNaN(d) || math.IsInf(d, 0) {
				f.str = nonFiniteString(d) // JSON has no NaN/Inf
			} else {
				f.kind, f.dbl = kindDouble, d
			}
		case pcommon.ValueTypeBool:
			// GELF additional fields are strings or numbers.
			f.str = strconv.FormatBool(v.Bool())
		default: // slices as JSON, bytes as base64
			f.str = m.truncate(validUTF8(valueString(v)))
		}
		fs.set(f)
	}
}

// valueString is pcommon's Value.AsString, except that NaN and ±Inf doubles inside maps and slices
// become the strings "NaN", "Infinity" and "-Infinity": AsString cannot write them as JSON numbers and
// returns "" for the whole value.
func valueString(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return marshalJSON(finiteRaw(v.Map().AsRaw()))
	case pcommon.ValueTypeSlice:
		return marshalJSON(finiteRaw(v.Slice().AsRaw()))
	default:
		return v.AsString()
	}
}

// nonFiniteString names NaN and ±Inf as pcommon's AsString does.
func nonFiniteString(d float64) string {
	switch {
	case math.IsNaN(d):
		return "NaN"
	case d > 0:
		return "Infinity"
	default:
		return "-Infinity"
	}
}

// finiteRaw replaces NaN and ±Inf in a value from AsRaw (maps, slices, scalars) by nonFiniteString.
func finiteRaw(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nonFiniteString(x)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = finiteRaw(e)
		}
	case []any:
		for i, e := range x {
			x[i] = finiteRaw(e)
		}
	}
	return v
}

// marshalJSON writes v as compact JSON without HTML escaping, like pcommon's AsString.
func marshalJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func (m *mapper) truncate(s string) string {
	if m.maxValueLen <= 0 || len(s) <= m.maxValueLen {
		return s
	}
	cut := m.maxValueLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func isFieldChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// fieldName returns the additional-field name for an attribute name, without the leading
// `_`: characters outside [A-Za-z0-9_.-] become `_`, and "id" becomes "_id" so the field is
// `__id` (GELF forbids `_id`). Empty names return "".
func fieldName(name string) string {
	clean := true
	for i := 0; i < len(name); i++ {
		if !isFieldChar(name[i]) {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		b.Grow(len(name))
		for _, r := range name {
			if r < utf8.RuneSelf && isFieldChar(byte(r)) {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		name = b.String()
	}
	if name == "id" {
		return "_id"
	}
	return name
}

// level maps an OTel severity to a syslog level (0-7) as GELF expects.
func level(num plog.SeverityNumber, text string) int64 {
	switch {
	case num >= plog.SeverityNumberTrace && num <= plog.SeverityNumberDebug4:
		return 7
	case num >= plog.SeverityNumberInfo && num <= plog.SeverityNumberInfo4:
		return 6
	case num >= plog.SeverityNumberWarn && num <= plog.SeverityNumberWarn4:
		return 4
	case num >= plog.SeverityNumberError && num <= plog.SeverityNumberError4:
		return 3
	case num >= plog.SeverityNumberFatal && num <= plog.SeverityNumberFatal4:
		return 2
	}
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "emerg", "emergency", "panic":
		return 0
	case "alert":
		return 1
	case "crit", "critical", "fatal":
		return 2
	case "err", "error":
		return 3
	case "warn", "warning":
		return 4
	case "notice":
		return 5
	case "info", "informational", "information":
		return 6
	case "debug", "trace":
		return 7
	}
	return defaultLevel
}

// formatTimestamp renders nanoseconds since the epoch as seconds with up to 6 decimals
// (microseconds), trailing zeros trimmed.
func formatTimestamp(ns uint64) string {
	sec := ns / 1e9
	micros := (ns % 1e9) / 1e3
	b := strconv.AppendUint(make([]byte, 0, 24), sec, 10)
	if micros != 0 {
		frac := strconv.AppendUint(make([]byte, 0, 6), micros+1e6, 10)[1:] // zero-padded
		frac = []byte(strings.TrimRight(string(frac), "0"))
		b = append(b, '.')
		b = append(b, frac...)
	}
	return string(b)
}
