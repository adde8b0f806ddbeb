package quota

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// scopeFacts are what kube's scope functions read of an object: of a
// pod (podMatchesScopeFunc) whether it is terminating, best effort and
// uses cross-namespace affinity, and its priority class; of a
// persistent volume claim (pvcMatchesScopeFunc) the volume attributes
// classes it names. No scope selects any other kind
// (MatchesNoScopeFunc). Two objects with equal facts are counted by the
// same quotas.
type scopeFacts struct {
	kind                                            scopedKind
	terminating, bestEffort, crossNamespaceAffinity bool
	// names are what the kind's named scope compares: a pod's priority
	// class, a claim's volume attributes classes (sorted); none when
	// unset.
	names []string
}

// scopedKind is the kind of object a scope can select.
type scopedKind int

const (
	unscoped scopedKind = iota
	scopedPod
	scopedVolumeClaim
)

// factsOf reads obj's scope facts.
func factsOf(obj runtime.Object) scopeFacts {
	switch o := obj.(type) {
	case *corev1.Pod:
		f := scopeFacts{kind: scopedPod, terminating: terminating(o), bestEffort: bestEffort(o),
			crossNamespaceAffinity: crossNamespaceAffinity(o)}
		if o.Spec.PriorityClassName != "" {
			f.names = []string{o.Spec.PriorityClassName}
		}
		return f
	case *corev1.PersistentVolumeClaim:
		return scopeFacts{kind: scopedVolumeClaim, names: volumeAttributesClasses(o)}
	}
	return scopeFacts{}
}

func (f scopeFacts) equal(o scopeFacts) bool {
	return f.kind == o.kind && f.terminating == o.terminating && f.bestEffort == o.bestEffort &&
		f.crossNamespaceAffinity == o.crossNamespaceAffinity && slices.Equal(f.names, o.names)
}

// selects reports whether q counts an object of facts f: each scope it
// lists and each requirement of its scope selector holds (kube's
// generic.Matches); a quota without scopes counts every object.
func selects(q *corev1.ResourceQuota, f scopeFacts) bool {
	for _, s := range q.Spec.Scopes {
		if !f.meets(corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists}) {
			return false
		}
	}
	if q.Spec.ScopeSelector == nil {
		return true
	}
	for _, r := range q.Spec.ScopeSelector.MatchExpressions {
		if !f.meets(r) {
			return false
		}
	}
	return true
}

// meets reports whether an object of facts f meets r. The yes-or-no
// scopes of pods take no values (validation allows only Exists); the
// named scopes are read as kube reads them.
func (f scopeFacts) meets(r corev1.ScopedResourceSelectorRequirement) bool {
	pod := f.kind == scopedPod
	switch r.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return pod && f.terminating
	case corev1.ResourceQuotaScopeNotTerminating:
		return pod && !f.terminating
	case corev1.ResourceQuotaScopeBestEffort:
		return pod && f.bestEffort
	case corev1.ResourceQuotaScopeNotBestEffort:
		return pod && !f.bestEffort
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return pod && f.crossNamespaceAffinity
	case corev1.ResourceQuotaScopePriorityClass:
		return pod && namesMeet(r, f.names)
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return f.kind == scopedVolumeClaim && namesMeet(r, f.names)
	}
	return false
}

// namesMeet is kube's reading of a named scope's requirement as a label
// selector (podMatchesSelector, pvcMatchesSelector): the object meets it
// when one of its names, as the label <scope>=<name>, matches; an object
// without a name is read as having no labels, which NotIn and
// DoesNotExist match.
func namesMeet(r corev1.ScopedResourceSelectorRequirement, names []string) bool {
	if len(names) == 0 {
		return r.Operator == corev1.ScopeSelectorOpNotIn || r.Operator == corev1.ScopeSelectorOpDoesNotExist
	}
	for _, n := range names {
		switch r.Operator {
		case corev1.ScopeSelectorOpIn:
			if slices.Contains(r.Values, n) {
				return true
			}
		case corev1.ScopeSelectorOpNotIn:
			if !slices.Contains(r.Values, n) {
				return true
			}
		case corev1.ScopeSelectorOpExists:
			return true
		}
	}
	return false
}

// volumeAttributesClasses are the classes a claim names, sorted (kube's
// getReferencedVolumeAttributesClassNames): the one it asks for
// (spec.volumeAttributesClassName), the one its volume has
// (status.currentVolumeAttributesClassName) and the one being applied
// (status.modifyVolumeStatus.targetVolumeAttributesClassName). A claim
// moving between classes is counted by the quotas of both.
func volumeAttributesClasses(c *corev1.PersistentVolumeClaim) []string {
	var names []string
	for _, n := range []*string{c.Spec.VolumeAttributesClassName, c.Status.CurrentVolumeAttributesClassName} {
		if n != nil && *n != "" {
			names = append(names, *n)
		}
	}
	if m := c.Status.ModifyVolumeStatus; m != nil && m.TargetVolumeAttributesClassName != "" {
		names = append(names, m.TargetVolumeAttributesClassName)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// terminating is kube's IsTerminating: the pod has an active deadline.
func terminating(p *corev1.Pod) bool {
	return p.Spec.ActiveDeadlineSeconds != nil && *p.Spec.ActiveDeadlineSeconds >= 0
}

func bestEffort(p *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			for _, l := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
				if _, ok := l[corev1.ResourceCPU]; ok {
					return false
				}
				if _, ok := l[corev1.ResourceMemory]; ok {
					return false
				}
			}
		}
	}
	return true
}

func crossNamespaceAffinity(p *corev1.Pod) bool {
	a := p.Spec.Affinity
	if a == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if len(t.Namespaces) > 0 || t.NamespaceSelector != nil {
			return true
		}
	}
	return false
}
