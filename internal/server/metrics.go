package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kapi/internal/metrics"
)

// metricsHandler serves /metrics in the Prometheus text format.
func metricsHandler() http.Handler {
	return promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{})
}
