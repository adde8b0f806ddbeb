package tracing

import (
	"context"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// Provider is one server's tracing: its spans go to its collector. A nil
// Provider is tracing off.
type Provider struct {
	sdk *sdktrace.TracerProvider
}

// NewProvider exports spans to c's endpoint over OTLP gRPC (without TLS,
// as kube's), in batches, and samples as kube-apiserver: a request whose
// parent span is sampled is traced, one without a parent
// samplingRatePerMillion times in a million. Its spans name the service
// "apiserver" and its instance the server's identity, as kube's.
func NewProvider(ctx context.Context, c *Config, instance string) (*Provider, error) {
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(c.EndpointOrDefault()), otlptracegrpc.WithInsecure())
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx, resource.WithAttributes(
		semconv.ServiceNameKey.String("apiserver"),
		semconv.ServiceInstanceIDKey.String(instance),
	))
	if err != nil {
		return nil, err
	}
	sampler := sdktrace.NeverSample()
	if r := c.SamplingRatePerMillion; r != nil && *r > 0 {
		sampler = sdktrace.TraceIDRatioBased(float64(*r) / 1e6)
	}
	return &Provider{sdk: sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sampler)),
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
	)}, nil
}

// TracerProvider is the OpenTelemetry provider; nil when off.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil {
		return nil
	}
	return p.sdk
}

// Shutdown exports the spans still buffered and closes the connection.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}

// Propagator reads and writes the W3C trace context and baggage headers,
// kube's propagators.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
