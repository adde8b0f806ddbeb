package audit

import (
	"context"
	"errors"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/klog/v2"

	"kapi/internal/request"
)

// Auditor holds the audit policy and the sinks events go to.
type Auditor struct {
	policy *auditv1.Policy
	sinks  []*batcher
}

// New loads the policy and opens the sinks the options name. As
// kube-apiserver, auditing is on only with both a policy and a sink (a
// log path or a webhook): otherwise New returns a nil *Auditor, which the
// audit filter passes through and whose Shutdown does nothing.
func New(o Options) (*Auditor, error) {
	o.complete()
	if err := o.validate(); err != nil {
		return nil, err
	}
	hasSink := o.LogPath != "" || o.WebhookConfigFile != ""
	if o.PolicyFile == "" {
		if hasSink {
			klog.Warning("No audit policy file provided (--audit-policy-file), no events will be recorded")
		}
		return nil, nil
	}
	p, err := LoadPolicy(o.PolicyFile)
	if err != nil {
		return nil, err
	}
	if !hasSink {
		klog.Warning("An audit policy but no audit sink (--audit-log-path, --audit-webhook-config-file): no events will be recorded")
		return nil, nil
	}
	a := &Auditor{policy: p}
	if o.LogPath != "" {
		s, err := newLogSink(o)
		if err != nil {
			return nil, err
		}
		a.sinks = append(a.sinks, s)
	}
	if o.WebhookConfigFile != "" {
		s, err := newWebhookSink(o)
		if err != nil {
			a.Shutdown(context.Background())
			return nil, err
		}
		a.sinks = append(a.sinks, s)
	}
	return a, nil
}

// Evaluate finds how the policy audits a request from u on info, and
// counts the level.
func (a *Auditor) Evaluate(u *request.User, info *request.Info) Config {
	c := Evaluate(a.policy, u, info)
	levelCounter.WithLabelValues(string(c.Level)).Inc()
	return c
}

// process hands ev to every sink: a batching sink buffers it, a blocking
// one delivers it now. It reports false when a blocking-strict sink could
// not deliver it.
func (a *Auditor) process(ev *auditv1.Event) bool {
	eventCounter.WithLabelValues().Inc()
	ok := true
	for _, s := range a.sinks {
		ok = s.add(ev) && ok
	}
	return ok
}

// Shutdown stops taking events and flushes the sinks: the log written and
// closed, the webhook's batches sent. It gives up when ctx ends.
func (a *Auditor) Shutdown(ctx context.Context) error {
	if a == nil {
		return nil
	}
	var errs []error
	for _, s := range a.sinks {
		errs = append(errs, s.shutdown(ctx))
	}
	return errors.Join(errs...)
}
