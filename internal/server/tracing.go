package server

import (
	"context"

	"kapi/internal/tracing"
)

// newTracing is the server's tracing from --tracing-config-file, as
// kube-apiserver's: OTLP spans of the requests, their filters and
// handlers, admission and its webhook calls, and etcd, to the
// configuration's collector. Without a file it is nil: no tracing
// filters, and spans below them that cost a context lookup. Each server
// has its own (a test process starts many); Stop flushes and closes it.
func newTracing(cfg Config) (*tracing.Provider, error) {
	if cfg.TracingConfigFile == "" {
		return nil, nil
	}
	c, err := tracing.ReadConfig(cfg.TracingConfigFile)
	if err != nil {
		return nil, err
	}
	return tracing.NewProvider(context.Background(), c, cfg.APIServerID)
}
