package tracing

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		endpoint  string
		rate      int32
		err       string
	}{
		{name: "defaults", doc: "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\n", endpoint: "localhost:4317"},
		{name: "v1beta1", doc: "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: TracingConfiguration\nendpoint: 127.0.0.1:9999\nsamplingRatePerMillion: 100\n", endpoint: "127.0.0.1:9999", rate: 100},
		{name: "v1alpha1 json", doc: `{"apiVersion":"apiserver.config.k8s.io/v1alpha1","kind":"TracingConfiguration","samplingRatePerMillion":1000000}`, endpoint: "localhost:4317", rate: 1000000},
		{name: "unix", doc: "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nendpoint: unix:///run/otel.sock\n", endpoint: "unix:///run/otel.sock"},
		{name: "negative", doc: "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsamplingRatePerMillion: -10\n",
			err: "failed to validate tracing configuration: samplingRatePerMillion: Invalid value: -10: sampling rate must be positive"},
		{name: "too many", doc: "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsamplingRatePerMillion: 1000001\n",
			err: "sampling rate per million must be less than or equal to one million"},
		{name: "scheme", doc: "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nendpoint: http://collector:4317\n",
			err: `endpoint: Invalid value: "http://collector:4317": unsupported scheme: http.  Options are none, dns, unix, or unix-abstract.`},
		{name: "kind", doc: "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\n", err: `no kind "AdmissionConfiguration" is registered for version "apiserver.config.k8s.io/v1"`},
		{name: "version", doc: "apiVersion: apiserver.config.k8s.io/v2\nkind: TracingConfiguration\n", err: `no kind "TracingConfiguration" is registered`},
		{name: "unknown field", doc: "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsampling: 3\n", err: `unknown field "sampling"`},
		{name: "no kind", doc: "endpoint: x:1\n", err: "Object 'Kind' is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(c.doc))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var rate int32
			if cfg.SamplingRatePerMillion != nil {
				rate = *cfg.SamplingRatePerMillion
			}
			if cfg.EndpointOrDefault() != c.endpoint || rate != c.rate {
				t.Errorf("endpoint %q rate %d, want %q %d", cfg.EndpointOrDefault(), rate, c.endpoint, c.rate)
			}
		})
	}
	if _, err := ReadConfig("/nonexistent/tracing.yaml"); err == nil || !strings.Contains(err.Error(), "tracing-config-file /nonexistent/tracing.yaml does not exist") {
		t.Errorf("a missing file: %v", err)
	}
}
