package core

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// nodeHooks: a node's podCIDR and podCIDRs are one field (kube's
// conversion), its allocatable resources are its capacity unless it
// says otherwise (kube's SetDefaults_NodeStatus: a node a test or kwok
// makes with a capacity alone can still be scheduled to), both rounded
// to milli units (SetDefaults_ResourceList), its taints are
// validated as kube-apiserver's ValidateNode does, and its podCIDRs, once
// set, do not change.
var nodeHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultNode(obj.(*corev1.Node)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		node := obj.(*corev1.Node)
		spec := field.NewPath("spec")
		errs := validateTaints(node.Spec.Taints, spec.Child("taints"))
		var oldCIDRs []string
		if old != nil {
			oldCIDRs = old.(*corev1.Node).Spec.PodCIDRs
		}
		for i, c := range node.Spec.PodCIDRs {
			errs = append(errs, validation.IsValidCIDRForLegacyField(spec.Child("podCIDRs").Index(i), c, false, oldCIDRs)...)
		}
		if c := node.Spec.PodCIDRs; len(c) > 2 || (len(c) == 2 && SameIPFamily(c[0], c[1])) {
			errs = append(errs, field.Invalid(spec.Child("podCIDRs"), node.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
		}
		if old != nil {
			was := old.(*corev1.Node).Spec.PodCIDRs
			if len(was) > 0 && strings.Join(was, ",") != strings.Join(node.Spec.PodCIDRs, ",") {
				errs = append(errs, field.Forbidden(spec.Child("podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
			}
		}
		return errs
	},
	Warnings: nodeWarnings,
}

func defaultNode(node *corev1.Node) {
	nodeSpecAliases(&node.Spec)
	if s := &node.Status; s.Allocatable == nil && s.Capacity != nil {
		s.Allocatable = s.Capacity.DeepCopy()
	}
	RoundResourceLists(node.Status.Capacity, node.Status.Allocatable)
}

// taintEffects are the effects a taint may have.
var taintEffects = []string{string(corev1.TaintEffectNoSchedule), string(corev1.TaintEffectPreferNoSchedule), string(corev1.TaintEffectNoExecute)}

// validateTaints is kube's validateNodeTaints: a qualified key, a label
// value, a known effect, and one taint per key and effect.
func validateTaints(taints []corev1.Taint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.TaintEffect]sets.Set[string]{}
	for i, t := range taints {
		p := path.Index(i)
		errs = append(errs, metavalidation.ValidateLabelName(t.Key, p.Child("key"))...)
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		errs = append(errs, enum(string(t.Effect), taintEffects, p.Child("effect"))...)
		if seen[t.Effect].Has(t.Key) {
			dup := field.Duplicate(p, t)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		if seen[t.Effect] == nil {
			seen[t.Effect] = sets.New[string]()
		}
		seen[t.Effect].Insert(t.Key)
	}
	return errs
}

// SameIPFamily tells whether two CIDRs are both IPv4 or both IPv6: a
// dual-stack pair (a node's podCIDRs, a ServiceCIDR's cidrs) may not be.
func SameIPFamily(a, b string) bool {
	return is4(a) == is4(b)
}

func is4(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Addr().Is4()
}
