package server

import (
	"context"
	"time"
)

// newEtcdProbe is kube's etcd health check (storagebackend/factory's
// newETCD3Check) around check: each probe of etcd is bounded by timeout
// (--etcd-healthcheck-timeout, --etcd-readycheck-timeout: 2 s), so that a
// hung etcd fails /healthz and /readyz in that time rather than holding
// them to the request's own timeout. A timeout of 0 is kube's default.
//
// kube also lets at most one probe through per half the timeout and
// answers the last probe's result in between. kapi probes every time (a
// probe is one revision read), so that /readyz tells an outage the
// moment it begins, not up to a second later.
func newEtcdProbe(check func(context.Context) error, timeout time.Duration) func(context.Context) error {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return check(ctx)
	}
}
