package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry/scheduling"
)

// The priority classes every cluster has (kube-apiserver makes them at
// start-up); the plugin knows them even when their objects are not
// there.
var systemPriorityClasses = func() map[string]int32 {
	m := map[string]int32{}
	for _, pc := range scheduling.SystemPriorityClasses() {
		m[pc.Name] = pc.Value
	}
	return m
}()

// Priority is kube-apiserver's plugin of the same name. On pod create
// it resolves spec.priorityClassName (or the globalDefault class when
// none is named) into spec.priority and spec.preemptionPolicy, refusing
// an unknown class and a priority or policy that differs from the
// class's; on update it keeps what create set. It refuses a second
// globalDefault PriorityClass.
type Priority struct {
	PriorityClasses Objects
}

// Admit resolves pods' priority.
func (p *Priority) Admit(ctx context.Context, a *Attributes) error {
	if a.Subresource != "" || !is(a, "", "pods") || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest("resource was marked with kind Pod but was unable to be converted")
	}
	if a.Operation == Update {
		old, ok := a.OldObject.(*corev1.Pod)
		if !ok {
			return apierrors.NewBadRequest("resource was marked with kind Pod but was unable to be converted")
		}
		// Validation forbids changing them; an update that leaves them
		// out keeps them.
		if pod.Spec.Priority == nil && old.Spec.Priority != nil {
			pod.Spec.Priority = old.Spec.Priority
		}
		if pod.Spec.PreemptionPolicy == nil && old.Spec.PreemptionPolicy != nil {
			pod.Spec.PreemptionPolicy = old.Spec.PreemptionPolicy
		}
		return nil
	}
	var priority int32
	var policy *corev1.PreemptionPolicy
	if pod.Spec.PriorityClassName == "" {
		dpc, err := p.defaultClass(ctx)
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf("failed to get default priority class: %v", err))
		}
		if dpc != nil {
			pod.Spec.PriorityClassName, priority, policy = dpc.Name, dpc.Value, classPolicy(dpc)
		} else {
			policy = ptrTo(corev1.PreemptLowerPriority)
		}
	} else {
		pc, err := p.class(ctx, pod.Spec.PriorityClassName)
		if apierrors.IsNotFound(err) {
			return Forbidden(a, fmt.Errorf("no PriorityClass with name %v was found", pod.Spec.PriorityClassName))
		}
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf("failed to get PriorityClass with name %s: %v", pod.Spec.PriorityClassName, err))
		}
		priority, policy = pc.Value, classPolicy(pc)
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != priority {
		return Forbidden(a, fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, priority))
	}
	pod.Spec.Priority = &priority
	if policy != nil {
		if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != *policy {
			return Forbidden(a, fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, *policy))
		}
		pod.Spec.PreemptionPolicy = ptrTo(*policy)
	}
	return nil
}

// Validate refuses a second default PriorityClass.
func (p *Priority) Validate(ctx context.Context, a *Attributes) error {
	if a.Subresource != "" || !is(a, "scheduling.k8s.io", "priorityclasses") || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	pc, ok := a.Object.(*schedulingv1.PriorityClass)
	if !ok {
		return apierrors.NewBadRequest("resource was marked with kind PriorityClass but was unable to be converted")
	}
	if !pc.GlobalDefault {
		return nil
	}
	dpc, err := p.defaultClass(ctx)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("failed to get default priority class: %v", err))
	}
	if dpc != nil && (a.Operation == Create || dpc.Name != pc.Name) {
		return Forbidden(a, fmt.Errorf("PriorityClass %v is already marked as default. Only one default can exist", dpc.Name))
	}
	return nil
}

// class reads a PriorityClass; the system classes are known without
// their objects.
func (p *Priority) class(ctx context.Context, name string) (*schedulingv1.PriorityClass, error) {
	obj, err := p.PriorityClasses.Get(ctx, "", name)
	if err == nil {
		return asPriorityClass(obj)
	}
	if v, ok := systemPriorityClasses[name]; ok && apierrors.IsNotFound(err) {
		pc := &schedulingv1.PriorityClass{Value: v, PreemptionPolicy: ptrTo(corev1.PreemptLowerPriority)}
		pc.Name = name
		return pc, nil
	}
	return nil, err
}

// defaultClass is the globalDefault class, the lowest if a race made
// several; nil if none.
func (p *Priority) defaultClass(ctx context.Context) (*schedulingv1.PriorityClass, error) {
	objs, err := p.PriorityClasses.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var dpc *schedulingv1.PriorityClass
	for _, o := range objs {
		pc, err := asPriorityClass(o)
		if err != nil {
			return nil, err
		}
		if pc.GlobalDefault && (dpc == nil || pc.Value < dpc.Value) {
			dpc = pc
		}
	}
	return dpc, nil
}

func asPriorityClass(obj runtime.Object) (*schedulingv1.PriorityClass, error) {
	pc, ok := obj.(*schedulingv1.PriorityClass)
	if !ok {
		return nil, fmt.Errorf("a PriorityClass is a %T", obj)
	}
	return pc, nil
}

// classPolicy is a class's preemption policy; a class stored without
// one has kube's default (scheduling/v1 defaulting sets it).
func classPolicy(pc *schedulingv1.PriorityClass) *corev1.PreemptionPolicy {
	if pc.PreemptionPolicy == nil {
		return ptrTo(corev1.PreemptLowerPriority)
	}
	return pc.PreemptionPolicy
}

func ptrTo[T any](v T) *T { return &v }
