package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	admissionmetrics "k8s.io/apiserver/pkg/admission/metrics"
	"k8s.io/klog/v2"

	"kapi/internal/admission"
	"kapi/internal/admission/match"
	"kapi/internal/audit"
)

// Mutating is kube-apiserver's MutatingAdmissionWebhook plugin.
type Mutating struct{ *hooks }

// Validating is kube-apiserver's ValidatingAdmissionWebhook plugin.
type Validating struct{ *hooks }

// HandlesConnect: webhooks may match CONNECTs (operations: [CONNECT]).
func (*Mutating) HandlesConnect() bool { return true }

// HandlesConnect: webhooks may match CONNECTs (operations: [CONNECT]).
func (*Validating) HandlesConnect() bool { return true }

// NewMutating returns the mutating webhooks; Run (or Load) gives them
// their configurations.
func NewMutating(d Deps) *Mutating { return &Mutating{newHooks(true, d)} }

// NewValidating returns the validating webhooks.
func NewValidating(d Deps) *Validating { return &Validating{newHooks(false, d)} }

// matching are the hooks that take a, in order.
func (h *hooks) matching(ctx context.Context, a *admission.Attributes) ([]*invocation, error) {
	cands := h.candidatesFor(a)
	if len(cands) == 0 {
		return nil, nil
	}
	var out []*invocation
	for _, c := range cands {
		ok, err := h.takes(ctx, c, a)
		var se *apierrors.StatusError
		if errors.As(err, &se) {
			return nil, err
		}
		if err != nil {
			if c.h.failOpen {
				klog.FromContext(ctx).Info("Failed calling webhook, failing open", "webhook", c.h.name, "err", err)
				continue
			}
			return nil, apierrors.NewInternalError(err)
		}
		if !ok {
			continue
		}
		inv, err := invocationFor(c, a)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		out = append(out, inv)
	}
	return out, nil
}

// takes reports whether c's hook is to be called for a: its rules name
// the operation in the resource's scope, its selectors select the
// namespace and the object, and its matchConditions hold. As in kube, a
// hook its matchConditions leave out is counted
// (apiserver_admission_match_condition_exclusions_total, k8s.io/apiserver's
// series, beside the evaluations its matcher counts), and conditions that
// fail to evaluate under failurePolicy Fail refuse the request (403).
func (h *hooks) takes(ctx context.Context, c candidate, a *admission.Attributes) (bool, error) {
	k := c.h
	if !k.takes(c.as.GVR(), a.Subresource, a.Operation, a.Resource.Namespaced) {
		return false, nil
	}
	if k.broken != nil {
		return false, &callError{name: k.name, reason: k.broken}
	}
	if !match.ObjectSelected(k.objSel, a) {
		return false, nil
	}
	if ok, err := match.NamespaceSelected(ctx, k.nsSel, a, h.deps.Namespace); err != nil || !ok {
		return false, err
	}
	if k.matcher != nil {
		r := k.matcher.Match(ctx, match.Versioned(a, a.Kind, a.Object, a.OldObject), nil, h.deps.Authorizer)
		if r.Error != nil {
			klog.FromContext(ctx).Info("Failed evaluating match conditions, failing closed", "webhook", k.name, "err", r.Error)
			return false, apierrors.NewForbidden(a.GVR().GroupResource(), a.Name, r.Error)
		}
		if !r.Matches {
			admissionmetrics.Metrics.ObserveMatchConditionExclusion(ctx, k.name, "webhook", stepType(h.mutating), string(a.Operation))
		}
		return r.Matches, nil
	}
	return true, nil
}

// dryRunRefused is kube-apiserver's answer to a dry run that reaches a
// webhook with side effects.
func dryRunRefused(name string) error {
	return apierrors.NewBadRequest(fmt.Sprintf("admission webhook %q does not support dry run", name))
}

// outcome turns the error of one call into what the request gets: nil to
// go on (no error, or a call that failed open), or the error to end it.
// It records the call's metrics.
func outcome(ctx context.Context, inv *invocation, typ string, a *admission.Attributes, took time.Duration, err error, index int) error {
	op := string(a.Operation)
	var ce *callError
	var se *apierrors.StatusError
	switch {
	case err == nil:
		observe(inv.h.name, typ, op, took, false, 200, noError)
		return nil
	case errors.As(err, &ce):
		if inv.h.failOpen {
			observe(inv.h.name, typ, op, took, false, ce.code, callingError)
			failOpen.WithLabelValues(inv.h.name, typ).Inc()
			klog.FromContext(ctx).Info("Failed calling webhook, failing open", "webhook", inv.h.name, "err", err)
			audit.AddAnnotation(ctx, fmt.Sprintf("failed-open.%s.webhook.admission.k8s.io/round_0_index_%d", kindWord(typ), index), inv.h.name)
			return nil
		}
		observe(inv.h.name, typ, op, took, true, ce.code, callingError)
		klog.FromContext(ctx).Error(err, "Failed calling webhook, failing closed", "webhook", inv.h.name)
		return apierrors.NewInternalError(err)
	case errors.As(err, &se) && se.ErrStatus.Message != "" && isRejection(se, inv.h.name):
		observe(inv.h.name, typ, op, took, true, int(se.ErrStatus.Code), noError)
		return err
	default:
		observe(inv.h.name, typ, op, took, true, 0, internalError)
		return err
	}
}

func isRejection(se *apierrors.StatusError, name string) bool {
	prefix := fmt.Sprintf("admission webhook %q denied the request", name)
	return len(se.ErrStatus.Message) >= len(prefix) && se.ErrStatus.Message[:len(prefix)] == prefix
}

func kindWord(typ string) string {
	if typ == "admit" {
		return "mutation"
	}
	return "validating"
}

// Admit calls the mutating webhooks that take a, one after the other,
// each on the object as the ones before left it. Those with
// reinvocationPolicy IfNeeded are recorded for the chain's reinvocation.
func (m *Mutating) Admit(ctx context.Context, a *admission.Attributes) error {
	invs, err := m.matching(ctx, a)
	if err != nil || len(invs) == 0 {
		return err
	}
	r := a.Reinvocation
	if r == nil {
		r = &admission.Reinvocation{}
		a.Reinvocation = r
	}
	return m.run(ctx, a, 0, invs, func(inv *invocation, changed bool) {
		if changed {
			r.Changed()
		}
		if inv.h.reinvoke {
			r.Invoked(inv.h.uid)
		}
	})
}

// Reinvoke calls once more the webhooks with reinvocationPolicy IfNeeded
// that ran before the object changed.
func (m *Mutating) Reinvoke(ctx context.Context, a *admission.Attributes) error {
	invs, err := m.matching(ctx, a)
	if err != nil {
		return err
	}
	var again []*invocation
	for _, inv := range invs {
		if inv.h.reinvoke && a.Reinvocation.Again(inv.h.uid) {
			again = append(again, inv)
		}
	}
	return m.run(ctx, a, 1, again, func(*invocation, bool) {})
}

// run calls invs in order, each on the object as the ones before left it,
// telling done of each call and whether it changed the object.
func (m *Mutating) run(ctx context.Context, a *admission.Attributes, round int, invs []*invocation, done func(*invocation, bool)) error {
	for i, inv := range invs {
		if a.DryRun && !inv.h.dryRunOK {
			return dryRunRefused(inv.h.name)
		}
		if i > 0 || round > 0 {
			fresh, err := invocationFor(candidate{inv.h, inv.as}, a)
			if err != nil {
				return apierrors.NewInternalError(err)
			}
			inv = fresh
		}
		start := time.Now()
		ans, err := m.call(ctx, a, inv)
		if err := outcome(ctx, inv, "admit", a, time.Since(start), err, i); err != nil {
			return err
		}
		if ans.patched != nil {
			a.Object = ans.patched
			annotateMutation(ctx, inv, round, i, ans.patch)
		}
		done(inv, ans.patched != nil)
	}
	return nil
}

// annotateMutation records in the audit event that a webhook changed the
// object, and its patch, as kube-apiserver does.
func annotateMutation(ctx context.Context, inv *invocation, round, index int, patch []byte) {
	key := fmt.Sprintf("round_%d_index_%d", round, index)
	mutated, _ := json.Marshal(map[string]any{"configuration": inv.h.config, "webhook": inv.h.name, "mutated": true})
	audit.AddAnnotation(ctx, "mutation.webhook.admission.k8s.io/"+key, string(mutated))
	var ops any
	if json.Unmarshal(patch, &ops) == nil {
		p, _ := json.Marshal(map[string]any{"configuration": inv.h.config, "webhook": inv.h.name, "patch": ops, "patchType": "JSONPatch"})
		audit.AddAnnotation(ctx, "patch.webhook.admission.k8s.io/"+key, string(p))
	}
}

// Validate calls the validating webhooks that take a, all at once; the
// first refusal, in the webhooks' order, is the answer.
func (v *Validating) Validate(ctx context.Context, a *admission.Attributes) error {
	invs, err := v.matching(ctx, a)
	if err != nil || len(invs) == 0 {
		return err
	}
	for i, inv := range invs {
		if a.DryRun && !inv.h.dryRunOK {
			return dryRunRefused(inv.h.name)
		}
		// Hooks that see the objects in the same version share one
		// encoding of them.
		if j := slices.IndexFunc(invs[:i], func(o *invocation) bool { return o.obj == inv.obj && o.old == inv.old && o.kind == inv.kind }); j >= 0 {
			inv.objJSON, inv.oldJSON, inv.encoded = invs[j].objJSON, invs[j].oldJSON, true
			continue
		}
		if err := inv.encode(); err != nil {
			return apierrors.NewInternalError(err)
		}
	}
	errs := make([]error, len(invs))
	one := func(i int) {
		defer func() {
			if r := recover(); r != nil {
				errs[i] = apierrors.NewInternalError(fmt.Errorf("ValidatingAdmissionWebhook/%v has panicked: %v", invs[i].h.name, r))
			}
		}()
		start := time.Now()
		_, err := v.call(ctx, a, invs[i])
		errs[i] = outcome(ctx, invs[i], "validating", a, time.Since(start), err, i)
	}
	if len(invs) == 1 {
		one(0)
	} else {
		var wg sync.WaitGroup
		for i := range invs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				one(i)
			}()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
