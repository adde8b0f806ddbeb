package core

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// limitRangeHooks validate a LimitRange as kube-apiserver's
// ValidateLimitRange: known or qualified types, each once; resource names
// a container may have (Pod, Container) or any qualified one; for each
// resource min <= defaultRequest <= default <= max, a ratio of at least 1
// and at most max/min; no defaults for type Pod; a storage bound for type
// PersistentVolumeClaim. A LimitRange whose min is above its max blocked
// every pod of its namespace.
var limitRangeHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultLimitRange(obj.(*corev1.LimitRange)) },
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		return validateLimitRange(obj.(*corev1.LimitRange))
	},
}

// defaultLimitRange is kube's SetObjectDefaults_LimitRange: each item's
// defaults, and its quantities rounded to milli units.
func defaultLimitRange(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		it := &lr.Spec.Limits[i]
		DefaultLimitRangeItem(it)
		RoundResourceLists(it.Max, it.Min, it.Default, it.DefaultRequest, it.MaxLimitRequestRatio)
	}
}

// DefaultLimitRangeItem is kube's SetDefaults_LimitRangeItem: a
// container's default limit is the max, its default request the default
// limit, else the min. LimitRanger applies it too, to ranges an older
// kapi stored without.
func DefaultLimitRangeItem(it *corev1.LimitRangeItem) {
	if it.Type != corev1.LimitTypeContainer {
		return
	}
	if it.Default == nil {
		it.Default = corev1.ResourceList{}
	}
	if it.DefaultRequest == nil {
		it.DefaultRequest = corev1.ResourceList{}
	}
	for _, from := range []struct{ src, dst corev1.ResourceList }{{it.Max, it.Default}, {it.Default, it.DefaultRequest}, {it.Min, it.DefaultRequest}} {
		for n, q := range from.src {
			if _, ok := from.dst[n]; !ok {
				from.dst[n] = q.DeepCopy()
			}
		}
	}
}

var limitTypes = map[corev1.LimitType]bool{corev1.LimitTypePod: true, corev1.LimitTypeContainer: true, corev1.LimitTypePersistentVolumeClaim: true}

func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.LimitType]bool{}
	path := field.NewPath("spec", "limits")
	for i := range lr.Spec.Limits {
		l, p := &lr.Spec.Limits[i], path.Index(i)
		for _, msg := range validation.IsQualifiedName(string(l.Type)) {
			errs = append(errs, field.Invalid(p.Child("type"), l.Type, msg))
		}
		if !strings.Contains(string(l.Type), "/") && !limitTypes[l.Type] {
			errs = append(errs, field.Invalid(p.Child("type"), l.Type, "must be a standard limit type or fully qualified"))
		}
		if seen[l.Type] {
			errs = append(errs, field.Duplicate(p.Child("type"), l.Type))
		}
		seen[l.Type] = true

		keys := map[string]bool{}
		names := func(list corev1.ResourceList, child string) {
			for _, k := range sortedNames(list) {
				errs = append(errs, validateLimitResourceName(l.Type, k, p.Child(child).Key(k))...)
				keys[k] = true
			}
		}
		names(l.Max, "max")
		names(l.Min, "min")
		if l.Type == corev1.LimitTypePod {
			if len(l.Default) > 0 {
				errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(l.DefaultRequest) > 0 {
				errs = append(errs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		} else {
			names(l.Default, "default")
			names(l.DefaultRequest, "defaultRequest")
		}
		if l.Type == corev1.LimitTypePersistentVolumeClaim {
			_, hasMin := l.Min[corev1.ResourceStorage]
			_, hasMax := l.Max[corev1.ResourceStorage]
			if !hasMin && !hasMax {
				errs = append(errs, field.Required(p.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		names(l.MaxLimitRequestRatio, "maxLimitRequestRatio")

		for _, k := range slices.Sorted(maps.Keys(keys)) {
			n := corev1.ResourceName(k)
			min, hasMin := l.Min[n]
			max, hasMax := l.Max[n]
			def, hasDef := l.Default[n]
			req, hasReq := l.DefaultRequest[n]
			ratio, hasRatio := l.MaxLimitRequestRatio[n]
			if hasMin && hasMax && min.Cmp(max) > 0 {
				errs = append(errs, field.Invalid(p.Child("min").Key(k), min, fmt.Sprintf("min value %s is greater than max value %s", min.String(), max.String())))
			}
			if hasReq && hasMin && min.Cmp(req) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), req, fmt.Sprintf("min value %s is greater than default request value %s", min.String(), req.String())))
			}
			if hasReq && hasMax && req.Cmp(max) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), req, fmt.Sprintf("default request value %s is greater than max value %s", req.String(), max.String())))
			}
			if hasReq && hasDef && req.Cmp(def) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), req, fmt.Sprintf("default request value %s is greater than default limit value %s", req.String(), def.String())))
			}
			if hasDef && hasMin && min.Cmp(def) > 0 {
				errs = append(errs, field.Invalid(p.Child("default").Key(k), min, fmt.Sprintf("min value %s is greater than default value %s", min.String(), def.String())))
			}
			if hasDef && hasMax && def.Cmp(max) > 0 {
				errs = append(errs, field.Invalid(p.Child("default").Key(k), max, fmt.Sprintf("default value %s is greater than max value %s", def.String(), max.String())))
			}
			if hasRatio && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
				errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(k), ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
			}
			if hasRatio && hasMin && hasMax {
				r, lo, hi := float64(ratio.Value()), min.Value(), max.Value()
				if ratio.Value() < resource.MaxMilliValue && lo < resource.MaxMilliValue && hi < resource.MaxMilliValue {
					r, lo, hi = float64(ratio.MilliValue())/1000, min.MilliValue(), max.MilliValue()
				}
				if limit := float64(hi) / float64(lo); r > limit {
					errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(k), ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), limit)))
				}
			}
			if !overcommitAllowed(n) && hasDef && hasReq && def.Cmp(req) != 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), req, fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", def.String(), req.String(), k)))
			}
		}
	}
	return errs
}

// validateLimitResourceName: a container's resources (cpu, memory,
// ephemeral-storage, hugepages-*, or extended ones) for Pod and
// Container limits, any qualified resource otherwise.
func validateLimitResourceName(t corev1.LimitType, name string, path *field.Path) field.ErrorList {
	errs := validateResourceName(name, path)
	if len(errs) > 0 || (t != corev1.LimitTypePod && t != corev1.LimitTypeContainer) {
		return errs
	}
	if !strings.Contains(name, "/") {
		if !containerResource(name) {
			errs = append(errs, field.Invalid(path, name, "must be a standard resource for containers"))
		}
	} else if !nativeResource(name) && !ExtendedResourceName(name) {
		errs = append(errs, field.Invalid(path, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// standardResources are kube's IsStandardResourceName names.
var standardResources = map[string]bool{
	"cpu": true, "memory": true, "ephemeral-storage": true, "requests.cpu": true, "requests.memory": true,
	"requests.ephemeral-storage": true, "limits.cpu": true, "limits.memory": true, "limits.ephemeral-storage": true,
	"pods": true, "resourcequotas": true, "services": true, "replicationcontrollers": true, "secrets": true,
	"persistentvolumeclaims": true, "storage": true, "requests.storage": true, "configmaps": true,
	"services.nodeports": true, "services.loadbalancers": true,
}

// validateResourceName is kube's: a qualified name, and one without a
// prefix is a standard resource.
func validateResourceName(name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(name, "/") && !standardResources[name] && !hugePages(name) {
		errs = append(errs, field.Invalid(path, name, "must be a standard resource type or fully qualified"))
	}
	return errs
}

func hugePages(name string) bool {
	for _, p := range []string{"hugepages-", "requests.hugepages-"} { // kube's IsQuotaHugePageResourceName
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func containerResource(name string) bool {
	switch name {
	case "cpu", "memory", "ephemeral-storage":
		return true
	}
	return strings.HasPrefix(name, "hugepages-")
}

// nativeResource: kubernetes.io/ names, or none.
func nativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, corev1.ResourceDefaultNamespacePrefix)
}

// ExtendedResourceName is kube's IsExtendedResourceName: fully qualified,
// not native, not requests.-prefixed, and valid as "requests.<name>".
func ExtendedResourceName(name string) bool {
	if nativeResource(name) || strings.HasPrefix(name, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+name)) == 0
}

// overcommitAllowed: native resources but huge pages may be overcommitted.
func overcommitAllowed(n corev1.ResourceName) bool {
	return nativeResource(string(n)) && !strings.HasPrefix(string(n), "hugepages-")
}

// sortedNames are a resource list's names in order, for errors in a
// stable order.
func sortedNames(list corev1.ResourceList) []string {
	out := make([]string, 0, len(list))
	for _, k := range slices.Sorted(maps.Keys(list)) {
		out = append(out, string(k))
	}
	return out
}

// resourceQuotaHooks validate a ResourceQuota's hard limits as kube's
// ValidateResourceQuotaSpec: quota resource names (a standard one, or a
// qualified one such as count/deployments.apps or requests.nvidia.com/gpu),
// values not negative, whole numbers of objects; its scopes and scope
// selector (validateQuotaScopes), and scopes that do not change. Its
// quantities are rounded to milli units (kube's SetObjectDefaults_ResourceQuota).
var resourceQuotaHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { roundQuota(obj.(*corev1.ResourceQuota)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		q := obj.(*corev1.ResourceQuota)
		errs := validateQuotaHard(q)
		errs = append(errs, validateQuotaScopes(&q.Spec)...)
		if old != nil && !sets.New(q.Spec.Scopes...).Equal(sets.New(old.(*corev1.ResourceQuota).Spec.Scopes...)) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "scopes"), q.Spec.Scopes, "field is immutable"))
		}
		return errs
	},
}

func roundQuota(q *corev1.ResourceQuota) {
	RoundResourceLists(q.Spec.Hard, q.Status.Hard, q.Status.Used)
}

// validateQuotaHard: the hard limits' names and values.
func validateQuotaHard(q *corev1.ResourceQuota) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("spec", "hard")
	for _, k := range sortedNames(q.Spec.Hard) {
		v, p := q.Spec.Hard[corev1.ResourceName(k)], path.Key(k)
		if e := validateResourceName(k, p); len(e) > 0 {
			errs = append(errs, e...)
		} else if k == string(corev1.ResourceStorage) {
			// Of the standard resources validateResourceName lets
			// through, storage alone is none of kube's quota
			// resources (requests.storage is).
			errs = append(errs, field.Invalid(p, k, "must be a standard resource for quota"))
		}
		errs = append(errs, validateQuantity(k, v, p)...)
	}
	return errs
}

// integerResources count objects (kube's IsIntegerResourceName, with
// the extended resources).
var integerResources = map[string]bool{
	"pods": true, "services": true, "replicationcontrollers": true, "resourcequotas": true, "secrets": true,
	"configmaps": true, "persistentvolumeclaims": true, "services.nodeports": true, "services.loadbalancers": true,
}

// validateQuantity is kube's ValidateResourceQuantityValue.
func validateQuantity(name string, q resource.Quantity, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Sign() < 0 {
		errs = append(errs, field.Invalid(path, q.String(), "must be greater than or equal to 0"))
	}
	if (integerResources[name] || ExtendedResourceName(name)) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(path, q.String(), "must be an integer"))
	}
	return errs
}
