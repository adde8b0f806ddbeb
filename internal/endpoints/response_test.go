package endpoints

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestWriteObjectGzip: a large answer is gzipped when the client takes
// gzip and sent plain otherwise; a small one is always plain; both decode
// to what was written.
func TestWriteObjectGzip(t *testing.T) {
	big := &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"}}
	for i := 0; i < 300; i++ {
		big.Items = append(big.Items, *benchConfigMap())
	}
	small := benchConfigMap()
	info, _ := SerializerFor("application", "json")
	json := Output{Info: info}
	for _, c := range []struct {
		name            string
		large, acceptGz bool
		wantGzip        bool
	}{
		{"large, gzip accepted", true, true, true},
		{"large, no gzip", true, false, false},
		{"small, gzip accepted", false, true, false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/configmaps", nil)
		if c.acceptGz {
			r.Header.Set("Accept-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		if c.large {
			WriteObject(w, r, http.StatusOK, json, big)
		} else {
			WriteObject(w, r, http.StatusOK, json, small)
		}
		body := io.Reader(w.Body)
		if got := w.Header().Get("Content-Encoding") == "gzip"; got != c.wantGzip {
			t.Fatalf("%s: gzip %v", c.name, got)
		}
		if c.wantGzip {
			zr, err := gzip.NewReader(body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		raw, _ := io.ReadAll(body)
		if c.large {
			var out corev1.ConfigMapList
			if _, _, err := json.Info.Serializer.Decode(raw, nil, &out); err != nil || len(out.Items) != 300 {
				t.Fatalf("%s: %v, %d items", c.name, err, len(out.Items))
			}
		} else {
			var out corev1.ConfigMap
			if _, _, err := json.Info.Serializer.Decode(raw, nil, &out); err != nil || out.Name != "bench" {
				t.Fatalf("%s: %v %q", c.name, err, out.Name)
			}
		}
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", c.name, w.Code, w.Header())
		}
	}
}
