// Package tracing is kapi's OpenTelemetry tracing, as kube-apiserver's
// (--tracing-config-file): the TracingConfiguration file, a tracer
// provider exporting OTLP spans over gRPC, and Start, the one way code on
// the request path opens a span.
//
// A span's tracer provider travels with the request: the filter chain
// opens the request's span from the server's provider, and Start opens a
// child from the provider of the span in the context. So two servers in
// one process trace to their own collectors, and a server without a
// configuration (no span in its contexts) pays a context lookup per Start
// and nothing else.
package tracing

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// Group is the API group of the configuration file.
const Group = "apiserver.config.k8s.io"

// versions are the versions of TracingConfiguration kube-apiserver reads.
var versions = []string{Group + "/v1", Group + "/v1beta1", Group + "/v1alpha1"}

// Config is kube's TracingConfiguration (the same fields in v1, v1beta1
// and v1alpha1).
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Endpoint of the OTLP gRPC collector; unset is localhost:4317. The
	// connection has no TLS, as kube's.
	Endpoint *string `json:"endpoint,omitempty"`
	// SamplingRatePerMillion is how many of every million requests
	// without a sampled parent are traced; unset is 0: only those whose
	// (trusted) caller asks, with a sampled traceparent.
	SamplingRatePerMillion *int32 `json:"samplingRatePerMillion,omitempty"`
}

// DefaultEndpoint is the OTLP gRPC default.
const DefaultEndpoint = "localhost:4317"

// ReadConfig reads and validates the file, with kube-apiserver's
// messages.
func ReadConfig(path string) (*Config, error) {
	if path == "" {
		return nil, fmt.Errorf("tracing config file was empty")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tracing-config-file %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read tracing config: unable to read tracing configuration from %q: %v", path, err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ParseConfig decodes (YAML or JSON, strictly: an unknown field is an
// error, as kube decodes it) and validates a TracingConfiguration.
func ParseConfig(data []byte) (*Config, error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, decodeError(err)
	}
	switch {
	case tm.Kind == "":
		return nil, decodeError(fmt.Errorf("Object 'Kind' is missing in '%s'", bytes.TrimSpace(data)))
	case tm.APIVersion == "":
		return nil, decodeError(fmt.Errorf("Object 'apiVersion' is missing in '%s'", bytes.TrimSpace(data)))
	}
	known := false
	for _, v := range versions {
		known = known || tm.APIVersion == v
	}
	if !known || tm.Kind != "TracingConfiguration" {
		return nil, decodeError(fmt.Errorf("no kind %q is registered for version %q in scheme", tm.Kind, tm.APIVersion))
	}
	c := &Config{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, decodeError(err)
	}
	if errs := c.validate(); len(errs) > 0 {
		return nil, fmt.Errorf("failed to validate tracing configuration: %v", errs.ToAggregate())
	}
	return c, nil
}

func decodeError(err error) error {
	return fmt.Errorf("failed to read tracing config: unable to decode tracing configuration data: %v", err)
}

// EndpointOrDefault is where spans go.
func (c *Config) EndpointOrDefault() string {
	if c.Endpoint == nil || *c.Endpoint == "" {
		return DefaultEndpoint
	}
	return *c.Endpoint
}

// validate is kube's ValidateTracingConfiguration.
func (c *Config) validate() field.ErrorList {
	var errs field.ErrorList
	if r := c.SamplingRatePerMillion; r != nil {
		p := field.NewPath("samplingRatePerMillion")
		if *r < 0 {
			errs = append(errs, field.Invalid(p, *r, "sampling rate must be positive"))
		}
		if *r > 1000000 {
			errs = append(errs, field.Invalid(p, *r, "sampling rate per million must be less than or equal to one million"))
		}
	}
	if c.Endpoint != nil {
		errs = append(errs, validateEndpoint(*c.Endpoint)...)
	}
	return errs
}

// validateEndpoint accepts gRPC's target schemes that kube accepts: dns
// (a bare host:port), unix and unix-abstract.
func validateEndpoint(endpoint string) field.ErrorList {
	p := field.NewPath("endpoint")
	if !strings.Contains(endpoint, "//") {
		endpoint = "dns://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return field.ErrorList{field.Invalid(p, endpoint, err.Error())}
	}
	switch u.Scheme {
	case "dns", "unix", "unix-abstract":
		return nil
	}
	return field.ErrorList{field.Invalid(p, endpoint, fmt.Sprintf("unsupported scheme: %v.  Options are none, dns, unix, or unix-abstract.  See https://github.com/grpc/grpc/blob/master/doc/naming.md", u.Scheme))}
}
