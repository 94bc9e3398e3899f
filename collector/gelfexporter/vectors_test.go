// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter

import (
	"bytes"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/plog"
)

// vectorsDir holds the mapping's shared test vectors, read by this test and by the Python
// exporter's tests (tests/export/gelf/test_vectors.py): OTLP JSON in, the GELF messages out.
const vectorsDir = "testdata/vectors"

// vector is one file of vectorsDir. Files may hold invalid UTF-8 bytes inside JSON strings (the
// non-UTF-8 cases); encoding/json keeps them verbatim in a RawMessage.
type vector struct {
	Description  string            `json:"description"`
	Mapping      map[string]any    `json:"mapping"`
	FallbackHost string            `json:"fallback_host"`
	OTLP         json.RawMessage   `json:"otlp"`
	GELF         []json.RawMessage `json:"gelf"`
}

func TestSharedVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(vectorsDir, "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 10, "the shared vectors are missing")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			var v vector
			require.NoError(t, json.Unmarshal(raw, &v))

			cfg := defaultMapping()
			if v.Mapping != nil {
				require.NoError(t, confmap.NewFromStringMap(v.Mapping).Unmarshal(&cfg), "mapping keys are the collector's")
			}
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(v.OTLP)
			require.NoError(t, err)

			m := newMapper(cfg, v.FallbackHost)
			var got [][]byte
			for _, rl := range ld.ResourceLogs().All() {
				rc := m.resourceContext(rl.Resource())
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						msg := m.record(rc, lr, newFieldSet())
						got = append(got, appendJSON(nil, &msg))
					}
				}
			}
			require.Len(t, got, len(v.GELF), v.Description)
			for i := range got {
				assert.Equal(t, normalizeJSON(t, v.GELF[i]), normalizeJSON(t, got[i]), "%s: record %d\n%s", v.Description, i, got[i])
			}
		})
	}
}

// normalizeJSON parses one JSON object and re-encodes it with sorted keys and every number in
// one exact form, so that equal messages compare equal whatever their key order or number
// spelling (1e21 / 1e+21 / 1000000000000000000000, 100 / 100.0).
func normalizeJSON(t *testing.T, raw []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), string(raw))
	out, err := json.Marshal(exactNumbers(t, v))
	require.NoError(t, err)
	return string(out)
}

func exactNumbers(t *testing.T, v any) any {
	switch x := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(x.String())
		require.True(t, ok, "number %s", x)
		return "number:" + r.RatString()
	case map[string]any:
		for k, e := range x {
			x[k] = exactNumbers(t, e)
		}
	case []any:
		for i, e := range x {
			x[i] = exactNumbers(t, e)
		}
	}
	return v
}
