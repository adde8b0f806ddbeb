package filters

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kapi/internal/authz"
	"kapi/internal/metrics"
)

// kube-apiserver's impersonation metrics
// (k8s.io/apiserver/pkg/endpoints/filters/impersonation/metrics), with its
// names, help texts, labels and buckets. mode is the impersonation mode
// (legacy, user-info, serviceaccount, arbitrary-node, associated-node; ""
// for an attempt that was denied), decision "allowed" or "denied".
var (
	impersonationAttempts = metrics.Counter("apiserver_impersonation_attempts_total",
		"[ALPHA] Total number of impersonation attempts split by mode and decision.", "mode", "decision")
	impersonationAttemptDurations = metrics.Histogram("apiserver_impersonation_attempts_duration_seconds",
		"[ALPHA] Latency of impersonation attempts in seconds split by mode and decision.",
		impersonationBuckets, "mode", "decision")
	impersonationAuthorizations = metrics.Counter("apiserver_impersonation_authorization_attempts_total",
		"[ALPHA] Total number of authorization checks made by the impersonation handler split by mode and decision.", "mode", "decision")
	impersonationAuthorizationDurations = metrics.Histogram("apiserver_impersonation_authorization_attempts_duration_seconds",
		"[ALPHA] Latency of authorization checks made by the impersonation handler in seconds split by mode and decision.",
		impersonationBuckets, "mode", "decision")
)

// impersonationBuckets are kube's: 1ms to about 16s.
var impersonationBuckets = prometheus.ExponentialBuckets(0.001, 2, 15)

// recordImpersonation counts one impersonation attempt.
func recordImpersonation(mode, decision string, d time.Duration) {
	impersonationAttempts.WithLabelValues(mode, decision).Inc()
	impersonationAttemptDurations.WithLabelValues(mode, decision).Observe(d.Seconds())
}

// recordImpersonationCheck counts one authorization check of an
// impersonation, labelled with the mode of its verb.
func recordImpersonationCheck(verb string, d authz.Decision, took time.Duration) {
	decision := "denied"
	if d == authz.Allow {
		decision = "allowed"
	}
	mode := modeOfVerb(verb)
	impersonationAuthorizations.WithLabelValues(mode, decision).Inc()
	impersonationAuthorizationDurations.WithLabelValues(mode, decision).Observe(took.Seconds())
}

// modeOfVerb is the mode label of an impersonation check's verb:
//
//	impersonate                               legacy
//	impersonate:user-info                     user-info
//	impersonate-on:associated-node:list       associated-node
func modeOfVerb(verb string) string {
	if verb == "impersonate" {
		return "legacy"
	}
	for _, mode := range []string{"associated-node", "arbitrary-node", "serviceaccount", "user-info"} {
		if verb == "impersonate:"+mode || strings.HasPrefix(verb, "impersonate-on:"+mode+":") {
			return mode
		}
	}
	return "unknown"
}

// modeOfConstraint is the mode label of an allowed impersonation: legacy
// when no constraint allowed it.
func modeOfConstraint(constraint string) string {
	if constraint == "" {
		return "legacy"
	}
	return modeOfVerb(constraint)
}
