// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func defaultMapping() MappingConfig { return createDefaultConfig().(*Config).Mapping }

func newRecord() (pcommon.Resource, plog.LogRecord) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	return rl.Resource(), lr
}

// encodeDecode runs the exporter's own encoder and parses the result with encoding/json.
func encodeDecode(t *testing.T, res pcommon.Resource, lr plog.LogRecord, cfg MappingConfig) map[string]any {
	t.Helper()
	m := newMapper(cfg, "collector-host")
	msg := m.record(m.resourceContext(res), lr, newFieldSet())
	raw := appendJSON(nil, &msg)
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var out map[string]any
	require.NoError(t, dec.Decode(&out), string(raw))
	return out
}

func TestLevelFromSeverity(t *testing.T) {
	for _, tc := range []struct {
		num  plog.SeverityNumber
		text string
		want int64
	}{
		{plog.SeverityNumberFatal, "", 2},
		{plog.SeverityNumberFatal4, "", 2},
		{plog.SeverityNumberError, "", 3},
		{plog.SeverityNumberError3, "", 3},
		{plog.SeverityNumberWarn, "", 4},
		{plog.SeverityNumberWarn2, "", 4},
		{plog.SeverityNumberInfo, "", 6},
		{plog.SeverityNumberInfo4, "", 6},
		{plog.SeverityNumberDebug, "", 7},
		{plog.SeverityNumberTrace, "", 7},
		{plog.SeverityNumberTrace4, "", 7},
		{plog.SeverityNumberInfo, "ERROR", 6}, // the number wins
		{plog.SeverityNumberUnspecified, "", 6},
		{plog.SeverityNumberUnspecified, "nonsense", 6},
		{plog.SeverityNumberUnspecified, "Warning", 4},
		{plog.SeverityNumberUnspecified, "error", 3},
		{plog.SeverityNumberUnspecified, "CRITICAL", 2},
		{plog.SeverityNumberUnspecified, "notice", 5},
		{plog.SeverityNumberUnspecified, "alert", 1},
		{plog.SeverityNumberUnspecified, "emerg", 0},
		{plog.SeverityNumberUnspecified, "debug", 7},
	} {
		assert.Equal(t, tc.want, level(tc.num, tc.text), "%v %q", tc.num, tc.text)
	}
}

func TestHostFallback(t *testing.T) {
	for _, tc := range []struct {
		name  string
		attrs map[string]any
		cfg   func(*MappingConfig)
		want  string
	}{
		{"host.name", map[string]any{"host.name": "h1", "service.instance.id": "i1", "service.name": "s1"}, nil, "h1"},
		{"instance id", map[string]any{"service.instance.id": "i1", "service.name": "s1"}, nil, "i1"},
		{"service name", map[string]any{"service.name": "s1"}, nil, "s1"},
		{"blank host.name skipped", map[string]any{"host.name": "  ", "service.name": "s1"}, nil, "s1"},
		{"nothing: collector host", map[string]any{}, nil, "collector-host"},
		{"configured list", map[string]any{"k8s.pod.name": "pod-1", "host.name": "h1"},
			func(c *MappingConfig) { c.HostAttributes = []string{"k8s.pod.name", "host.name"} }, "pod-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, lr := newRecord()
			require.NoError(t, res.Attributes().FromRaw(tc.attrs))
			lr.Body().SetStr("x")
			cfg := defaultMapping()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			assert.Equal(t, tc.want, ToGELF(res, lr, cfg, "collector-host")["host"])
		})
	}
	res, lr := newRecord()
	assert.Equal(t, "unknown", ToGELF(res, lr, defaultMapping(), "")["host"], "host is never empty")
}

func TestRequiredFields(t *testing.T) {
	res, lr := newRecord()
	require.NoError(t, res.Attributes().FromRaw(map[string]any{"host.name": "ml-host-1", "service.name": "svc"}))
	lr.Body().SetStr("Prediction exception.")
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.SetSeverityText("ERROR")
	lr.SetEventName("ml.prediction.exception")
	lr.SetTimestamp(pcommon.Timestamp(1731000000123456789))
	lr.SetObservedTimestamp(pcommon.Timestamp(1731000099000000000))
	lr.SetTraceID(pcommon.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c})
	lr.SetSpanID(pcommon.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31})
	require.NoError(t, lr.Attributes().FromRaw(map[string]any{
		"exception.stacktrace":     "Traceback...\n  line 1\n",
		"exception.type":           "ValueError",
		"ml.prediction.latency_ms": 12.5,
		"ml.prediction.input.age":  42,
	}))

	got := encodeDecode(t, res, lr, defaultMapping())
	assert.Equal(t, map[string]any{
		"version":                   "1.1",
		"host":                      "ml-host-1",
		"short_message":             "Prediction exception.",
		"full_message":              "Traceback...\n  line 1\n",
		"timestamp":                 json.Number("1731000000.123456"),
		"level":                     json.Number("3"),
		"_host.name":                "ml-host-1",
		"_service.name":             "svc",
		"_exception.type":           "ValueError",
		"_ml.prediction.latency_ms": json.Number("12.5"),
		"_ml.prediction.input.age":  json.Number("42"),
		"_trace_id":                 "0af7651916cd43dd8448eb211c80319c",
		"_span_id":                  "b7ad6b7169203331",
		"_severity_text":            "ERROR",
		"_event_name":               "ml.prediction.exception",
	}, got)
}

func TestShortMessageAndTimestampFallbacks(t *testing.T) {
	res, lr := newRecord()
	lr.SetObservedTimestamp(pcommon.Timestamp(1731000000500000000))
	lr.SetEventName("ml.prediction.requested")
	got := ToGELF(res, lr, defaultMapping(), "h")
	assert.Equal(t, "ml.prediction.requested", got["short_message"])
	assert.Equal(t, json.Number("1731000000.5"), got["timestamp"], "observed time when time is unset")

	res, lr = newRecord()
	lr.Body().SetStr("   ")
	got = ToGELF(res, lr, defaultMapping(), "h")
	assert.Equal(t, "-", got["short_message"])
	ts, err := got["timestamp"].(json.Number).Float64()
	require.NoError(t, err)
	assert.InDelta(t, float64(time.Now().Unix()), ts, 5, "now when no time at all")

	res, lr = newRecord()
	lr.Body().SetEmptyMap().PutStr("k", "v")
	assert.Equal(t, `{"k":"v"}`, ToGELF(res, lr, defaultMapping(), "h")["short_message"], "map bodies as JSON")

	res, lr = newRecord()
	lr.SetTimestamp(pcommon.Timestamp(1731000000000000000))
	assert.Equal(t, json.Number("1731000000"), ToGELF(res, lr, defaultMapping(), "h")["timestamp"])
}

func TestAttributeNames(t *testing.T) {
	res, lr := newRecord()
	require.NoError(t, res.Attributes().FromRaw(map[string]any{"id": "resource-id", "shared": "from resource"}))
	require.NoError(t, lr.Attributes().FromRaw(map[string]any{
		"_id":          "underscore-id",
		"user id":      "u1",
		"päth/x:y":     "p",
		"ok.name-1_2":  "fine",
		"shared":       "from record",
		"trace_id":     "overridden by the record's trace id",
		"":             "empty names are skipped",
		"nested":       map[string]any{"a": map[string]any{"b": 1}, "id": "nid"},
		"list":         []any{"a", 1, true},
		"flag":         true,
		"nan":          0.0,
		"bytes":        []byte{0xff, 0x00},
		"invalid.utf8": string([]byte{'a', 0xff, 'b'}),
	}))
	lr.Attributes().PutEmpty("nothing")
	lr.SetTraceID(pcommon.TraceID{1})
	got := encodeDecode(t, res, lr, defaultMapping())

	assert.NotContains(t, got, "_id", "GELF forbids _id")
	assert.Equal(t, "underscore-id", got["__id"], "record attributes override resource ones")
	assert.Equal(t, "u1", got["_user_id"])
	assert.Equal(t, "p", got["_p_th_x_y"])
	assert.Equal(t, "fine", got["_ok.name-1_2"])
	assert.Equal(t, "from record", got["_shared"])
	assert.Equal(t, "01000000000000000000000000000000", got["_trace_id"])
	assert.Equal(t, json.Number("1"), got["_nested.a.b"])
	assert.Equal(t, "nid", got["_nested.id"])
	assert.Equal(t, `["a",1,true]`, got["_list"])
	assert.Equal(t, "true", got["_flag"])
	assert.Equal(t, "/wA=", got["_bytes"])
	assert.Equal(t, "a\uFFFDb", got["_invalid.utf8"])
	assert.NotContains(t, got, "_nothing")
	assert.NotContains(t, got, "_")
	for k := range got {
		assert.Regexp(t, `^[\w\.\-]*$`, k)
	}
}

func TestFieldName(t *testing.T) {
	for in, want := range map[string]string{
		"ml.model.name": "ml.model.name",
		"id":            "_id",
		"_id":           "_id",
		"a b":           "a_b",
		"ü":             "_",
		"x\x00y":        "x_y",
	} {
		assert.Equal(t, want, fieldName(in), in)
	}
}

func TestIncludeExcludeAndTruncation(t *testing.T) {
	res, lr := newRecord()
	require.NoError(t, res.Attributes().FromRaw(map[string]any{"host.name": "h", "ml.resource": "r"}))
	require.NoError(t, lr.Attributes().FromRaw(map[string]any{
		"ml.model.name":           "m",
		"ml.prediction.input.age": 42,
		"ml.prediction.input.sex": "f",
		"exception.type":          "E",
		"other":                   "o",
		"long":                    strings.Repeat("é", 10), // 20 bytes
		"exception.stacktrace":    strings.Repeat("x", 100),
	}))
	cfg := defaultMapping()
	cfg.IncludeAttributes = []string{"ml.*", "long", "host.name"}
	cfg.ExcludeAttributes = []string{"ml.prediction.input.*", "ml.resource"}
	cfg.MaxAttributeValueLength = 5
	got := ToGELF(res, lr, cfg, "h")
	assert.Equal(t, "m", got["_ml.model.name"])
	assert.Equal(t, "h", got["_host.name"])
	assert.Equal(t, "éé", got["_long"], "truncated at 5 bytes on a rune boundary")
	assert.Equal(t, strings.Repeat("x", 100), got["full_message"], "full_message is not truncated nor filtered")
	for _, k := range []string{"_ml.prediction.input.age", "_ml.prediction.input.sex", "_exception.type", "_other", "_ml.resource", "_exception.stacktrace"} {
		assert.NotContains(t, got, k)
	}

	cfg = defaultMapping()
	cfg.IncludeResourceAttributes = false
	got = ToGELF(res, lr, cfg, "fallback")
	assert.Equal(t, "h", got["host"], "host still comes from the resource")
	assert.NotContains(t, got, "_host.name")
}

func TestJSONEncoderMatchesMap(t *testing.T) {
	res, lr := newRecord()
	require.NoError(t, res.Attributes().FromRaw(map[string]any{"service.name": "svc"}))
	lr.SetTimestamp(pcommon.Timestamp(1731000000000001000))
	lr.Body().SetStr("quote \" backslash \\ newline \n tab \t ctrl \x01 line-sep \u2028 <html> & ünï")
	require.NoError(t, lr.Attributes().FromRaw(map[string]any{
		"big": 1e300, "small": 1e-9, "neg": -3, "zero": 0.0,
	}))
	want := ToGELF(res, lr, defaultMapping(), "h")
	got := encodeDecode(t, res, lr, defaultMapping())
	// Normalise the map form through encoding/json to compare like with like.
	raw, err := json.Marshal(want)
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var norm map[string]any
	require.NoError(t, dec.Decode(&norm))
	assert.Equal(t, norm, got)
	assert.Equal(t, want["short_message"], got["short_message"])
}

func TestNonFiniteDoublesInsideSlicesAndMaps(t *testing.T) {
	res, lr := newRecord()
	require.NoError(t, lr.Attributes().FromRaw(map[string]any{
		"scores": []any{1.5, math.NaN(), math.Inf(1), math.Inf(-1)},
		"top":    math.Inf(1),
	}))
	require.NoError(t, lr.Body().SetEmptyMap().FromRaw(map[string]any{"v": math.NaN(), "w": 2}))
	got := encodeDecode(t, res, lr, defaultMapping())
	// pdata's AsString returns "" for a slice or map holding NaN/Inf: the values must not vanish.
	assert.Equal(t, `[1.5,"NaN","Infinity","-Infinity"]`, got["_scores"])
	assert.Equal(t, "Infinity", got["_top"])
	assert.Equal(t, `{"v":"NaN","w":2}`, got["short_message"])
}
