package core

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	pdbhelper "k8s.io/component-helpers/apps/poddisruptionbudget"

	"kapi/internal/registry"
)

// Eviction is pods/eviction, kube-apiserver's EvictionREST: a POST of a
// policy/v1 Eviction deletes the pod (gracefully, as a DELETE with the
// Eviction's deleteOptions), unless the one PodDisruptionBudget that
// selects it has no disruption left:
//
//   - a pod that is Pending, Succeeded or Failed, or already being
//     deleted, is deleted without looking at budgets;
//   - more than one budget: 500, which the subresource does not support;
//   - a budget its controller has not seen since its last change
//     (status.observedGeneration behind): 429, "still being processed";
//   - no disruption allowed: 429 with the budget's healthy counts;
//   - otherwise the budget's disruptionsAllowed goes down by one and the
//     pod is recorded in its disruptedPods (the disruption controller of
//     kube-controller-manager keeps the rest of the status), and the pod
//     is deleted;
//   - a pod that is not Ready is deleted without taking a disruption when
//     the budget has its healthy pods, or its unhealthyPodEvictionPolicy
//     is AlwaysAllow; the delete is then conditioned on the pod's
//     resourceVersion, so that a pod that became Ready since is a 429.
//
// Before the delete the pod gets the condition DisruptionTarget
// (EvictionByEvictionAPI). The answer is a Status of Success, 201.
// Without kube-controller-manager's disruption controller a budget's
// status is never filled, and evicting its pods stays a 429, as on a
// cluster without it.
func Eviction(pods, pdbs *registry.Store) *registry.Subresource {
	e := &eviction{pods: pods, pdbs: pdbs}
	return registry.ActionSubresource("eviction", policyv1.SchemeGroupVersion.WithKind("Eviction"),
		func() runtime.Object { return &policyv1.Eviction{} }, e.evict)
}

type eviction struct{ pods, pdbs *registry.Store }

// evictionRetry is kube's: conflicts with other writers of the pod or
// the budget are retried for about 10 s.
var evictionRetry = wait.Backoff{Steps: 20, Duration: 500 * time.Millisecond, Factor: 1.0, Jitter: 0.1}

// maxDisruptedPods is kube's MaxDisruptedPodSize: the evictions a budget
// may hold that its controller has not yet confirmed.
const maxDisruptedPods = 2000

func (e *eviction) evict(ctx context.Context, ns, name string, body runtime.Object, opts *metav1.CreateOptions, validate registry.ValidateFunc) (runtime.Object, error) {
	ev := body.(*policyv1.Eviction)
	if ev.Name != name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Eviction object")
	}
	if d := ev.DeleteOptions; d != nil && d.IgnoreStoreReadErrorWithClusterBreakingPotential != nil && *d.IgnoreStoreReadErrorWithClusterBreakingPotential {
		return nil, apierrors.NewInvalid(policyv1.SchemeGroupVersion.WithKind("Eviction").GroupKind(), name, field.ErrorList{field.Invalid(
			field.NewPath("deleteOptions", "ignoreStoreReadErrorWithClusterBreakingPotential"), true, "can not be set for pod eviction, try after removing the option")})
	}
	del, err := evictionDeleteOptions(ev, opts)
	if err != nil {
		return nil, err
	}
	if err := validate.Check(ctx, ev.DeepCopy()); err != nil {
		return nil, err
	}
	dry := len(del.DryRun) > 0

	var pod *corev1.Pod
	deleted := false
	shouldRetry := apierrors.IsConflict
	if !rvUnset(del) {
		shouldRetry = func(error) bool { return false }
	}
	err = retry.OnError(evictionRetry, shouldRetry, func() error {
		obj, err := e.pods.Get(ctx, ns, name, nil)
		if err != nil {
			return err
		}
		pod = obj.(*corev1.Pod)
		if !budgetIgnored(pod) {
			return nil
		}
		o := del
		if enforceResourceVersion(pod) && rvUnset(del) {
			o = withResourceVersion(del, pod.ResourceVersion)
		}
		if err := e.deletePod(ctx, ns, name, o, dry); err != nil {
			return err
		}
		deleted = true
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case deleted:
		return &metav1.Status{Status: metav1.StatusSuccess}, nil
	}

	budgets, err := e.budgets(ctx, pod)
	if err != nil {
		return nil, err
	}
	if len(budgets) > 1 {
		return &metav1.Status{Status: metav1.StatusFailure, Code: 500,
			Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}, nil
	}
	var pdbName string
	unhealthy := false
	if len(budgets) == 1 {
		pdb := budgets[0]
		pdbName = pdb.Name
		if !podReady(pod) {
			if p := pdb.Spec.UnhealthyPodEvictionPolicy; p != nil && *p == policyv1.AlwaysAllow {
				unhealthy = true
			} else if pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0 {
				unhealthy = true
			}
		}
		if !unhealthy {
			if err := e.takeDisruption(ctx, ns, pod.Name, pdbName, dry); err != nil {
				return nil, err
			}
		}
	}

	o := del
	if unhealthy {
		o = withResourceVersion(del, pod.ResourceVersion)
	}
	if err := e.deletePod(ctx, ns, name, o, dry); err != nil {
		if apierrors.IsConflict(err) && unhealthy && rvUnset(del) {
			return nil, stillProcessing(pdbName)
		}
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess}, nil
}

// evictionDeleteOptions are the Eviction's deleteOptions with the
// request's dryRun, which may not contradict them.
func evictionDeleteOptions(ev *policyv1.Eviction, opts *metav1.CreateOptions) (*metav1.DeleteOptions, error) {
	if ev.DeleteOptions == nil {
		return &metav1.DeleteOptions{DryRun: opts.DryRun}, nil
	}
	switch {
	case len(ev.DeleteOptions.DryRun) == 0:
		ev.DeleteOptions.DryRun = opts.DryRun
	case len(opts.DryRun) > 0 && !reflect.DeepEqual(opts.DryRun, ev.DeleteOptions.DryRun):
		return nil, apierrors.NewInternalError(fmt.Errorf("Non-matching dry-run options in request and content: %v and %v", opts.DryRun, ev.DeleteOptions.DryRun))
	}
	return ev.DeleteOptions, nil
}

// budgetIgnored: a pod that is not running, or already going, is deleted
// without asking its budget; it is no disruption now.
func budgetIgnored(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return true
	}
	return pod.DeletionTimestamp != nil
}

// enforceResourceVersion: the delete of a pod that may become Ready
// meanwhile is conditioned on the version read.
func enforceResourceVersion(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		return false
	}
	return pod.DeletionTimestamp == nil
}

func rvUnset(o *metav1.DeleteOptions) bool {
	return o.Preconditions == nil || o.Preconditions.ResourceVersion == nil
}

func withResourceVersion(o *metav1.DeleteOptions, rv string) *metav1.DeleteOptions {
	o = o.DeepCopy()
	if o.Preconditions == nil {
		o.Preconditions = &metav1.Preconditions{}
	}
	o.Preconditions.ResourceVersion = &rv
	return o
}

// budgets are the PodDisruptionBudgets of the pod's namespace whose
// selector matches it; an empty or invalid selector matches nothing.
func (e *eviction) budgets(ctx context.Context, pod *corev1.Pod) ([]*policyv1.PodDisruptionBudget, error) {
	obj, err := e.pdbs.List(ctx, pod.Namespace, &metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for i := range obj.(*policyv1.PodDisruptionBudgetList).Items {
		pdb := &obj.(*policyv1.PodDisruptionBudgetList).Items[i]
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out, nil
}

// takeDisruption takes one of the budget's allowed disruptions for the
// pod, in the budget's status as it is stored (a conflict reads it again).
// A dry run checks and writes nothing.
func (e *eviction) takeDisruption(ctx context.Context, ns, pod, pdbName string, dry bool) error {
	status := e.pdbs.R.Sub("status")
	_, _, err := e.pdbs.Update(ctx, ns, pdbName, status, func(_ context.Context, old runtime.Object) (runtime.Object, error) {
		if old == nil {
			return nil, apierrors.NewNotFound(policyv1.Resource("poddisruptionbudgets"), pdbName)
		}
		pdb := old.(*policyv1.PodDisruptionBudget)
		forbidden := func(msg string) error {
			return apierrors.NewForbidden(schema.GroupResource{Group: "policy", Resource: "poddisruptionbudget"}, pdb.Name, errors.New(msg))
		}
		switch {
		case pdb.Status.ObservedGeneration < pdb.Generation:
			return nil, stillProcessing(pdb.Name)
		case pdb.Status.DisruptionsAllowed < 0:
			return nil, forbidden("pdb disruptions allowed is negative")
		case len(pdb.Status.DisruptedPods) > maxDisruptedPods:
			return nil, forbidden("DisruptedPods map too big - too many evictions not confirmed by PDB controller")
		case pdb.Status.DisruptionsAllowed == 0:
			err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
			err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause,
				Message: fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy)})
			return nil, err
		}
		pdb.Status.DisruptionsAllowed--
		if pdb.Status.DisruptionsAllowed == 0 {
			pdbhelper.UpdateDisruptionAllowedCondition(pdb)
		}
		if pdb.Status.DisruptedPods == nil {
			pdb.Status.DisruptedPods = map[string]metav1.Time{}
		}
		// The disruption controller no longer counts the pod as
		// available; it drops the entry when the pod goes, or after a
		// while if it does not.
		pdb.Status.DisruptedPods[pod] = metav1.Now()
		return pdb, nil
	}, nil, dry)
	return err
}

// stillProcessing is the 429 of a budget kapi cannot decide on now.
func stillProcessing(pdb string) error {
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause,
		Message: fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb)})
	return err
}

// deletePod marks the pod as a disruption target (not in a dry run),
// then deletes it with o. o's preconditions hold for the pod as it was
// before the mark, which moves its resourceVersion on.
func (e *eviction) deletePod(ctx context.Context, ns, name string, o *metav1.DeleteOptions, dry bool) error {
	if !dry {
		out, _, err := e.pods.Update(ctx, ns, name, e.pods.R.Sub("status"), func(_ context.Context, old runtime.Object) (runtime.Object, error) {
			if old == nil {
				return nil, apierrors.NewNotFound(corev1.Resource("pods"), name)
			}
			pod := old.(*corev1.Pod)
			if p := o.Preconditions; p != nil {
				gr := schema.GroupResource{Resource: "Pod"}
				if p.UID != nil && *p.UID != "" && *p.UID != pod.UID {
					return nil, apierrors.NewConflict(gr, name, fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *p.UID, pod.UID))
				}
				if p.ResourceVersion != nil && *p.ResourceVersion != "" && *p.ResourceVersion != pod.ResourceVersion {
					return nil, apierrors.NewConflict(gr, name, fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *p.ResourceVersion, pod.ResourceVersion))
				}
			}
			setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
				ObservedGeneration: pod.Generation, Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"})
			return pod, nil
		}, nil, false)
		if err != nil {
			return err
		}
		if !rvUnset(o) {
			o = withResourceVersion(o, out.(*corev1.Pod).ResourceVersion)
		}
	}
	_, _, err := e.pods.Delete(ctx, ns, name, o, nil, dry)
	return err
}

// setPodCondition sets c in status as kube's UpdatePodCondition does: its
// transition time is now, or the old condition's when the status is the
// same.
func setPodCondition(status *corev1.PodStatus, c corev1.PodCondition) {
	c.LastTransitionTime = metav1.Now()
	for i := range status.Conditions {
		if old := &status.Conditions[i]; old.Type == c.Type {
			if old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
			*old = c
			return
		}
	}
	status.Conditions = append(status.Conditions, c)
}
