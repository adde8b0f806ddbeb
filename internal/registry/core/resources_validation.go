package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	resourcehelper "k8s.io/component-helpers/resource"
)

// The resource requirements of a pod's containers, init containers,
// ephemeral containers and of the pod itself (spec.resources), and its
// overhead, checked as kube-apiserver 1.37's
// pkg/apis/core/validation: names, quantities, requests not above
// limits (equal to them for resources that cannot be overcommitted),
// huge pages in whole pages and with cpu or memory, claims naming the
// pod's resource claims; pod-level resources only cpu, memory and huge
// pages, not below what the containers ask together (PodLevelResources,
// beta and on in 1.37). kube ranges over the resource maps, limits
// first, then requests: here each map is taken in name order, so that
// errors come in a stable order.

// podValidationOptions are the parts of kube's PodValidationOptions the
// resource checks read. allowIndivisibleHugePages is kube's ratchet: a
// pod whose old spec had huge pages that are not whole pages may keep
// them.
type podValidationOptions struct {
	allowIndivisibleHugePages bool
	// storedResources: the resources are a stored pod's, unchanged by
	// the update (only a resize changes them), and are not checked again:
	// kapi stored pods before it checked resources, and such a pod must
	// still take its finalizers' removal and its kubelet's status.
	storedResources bool
	// hostUsers: the pod uses the host's user namespace (spec.hostUsers
	// unset or true), set by validatePodSpec for its containers.
	hostUsers bool
	// allowHostSysctls, allowSysAdmin: the stored pod already breaks
	// these rules (securityRatchets).
	allowHostSysctls, allowSysAdmin bool
}

// validateContainerResourceRequirements is kube's
// ValidateContainerResourceRequirements.
func validateContainerResourceRequirements(r *corev1.ResourceRequirements, podClaimNames sets.Set[string], path *field.Path, opts podValidationOptions) field.ErrorList {
	if opts.storedResources {
		return nil
	}
	return validateResourceRequirements(r, validateContainerResourceName, podClaimNames, path, opts)
}

// validatePodResourceRequirements is kube's, for spec.resources.
func validatePodResourceRequirements(r *corev1.ResourceRequirements, podClaimNames sets.Set[string], path *field.Path, opts podValidationOptions) field.ErrorList {
	return validateResourceRequirements(r, validatePodResourceName, podClaimNames, path, opts)
}

// validateResourceRequirements is kube's: each limit's name, value and
// huge pages, then each request's name and value, its limit, and huge
// pages; huge pages need cpu or memory; then the claims.
func validateResourceRequirements(r *corev1.ResourceRequirements, nameFn func(corev1.ResourceName, *field.Path) field.ErrorList, podClaimNames sets.Set[string], path *field.Path, opts podValidationOptions) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := path.Child("limits"), path.Child("requests")
	var cpuOrMemory, hugePages bool
	qos := func(n corev1.ResourceName) bool { return n == corev1.ResourceCPU || n == corev1.ResourceMemory }
	for _, k := range sortedNames(r.Limits) {
		n, p := corev1.ResourceName(k), limPath.Key(k)
		q := r.Limits[n]
		errs = append(errs, nameFn(n, p)...)
		errs = append(errs, validateQuantity(k, q, p)...)
		if isHugePageResource(n) {
			hugePages = true
			if err := validateResourceQuantityHugePageValue(n, q, opts); err != nil {
				errs = append(errs, field.Invalid(p, q.String(), err.Error()))
			}
		}
		cpuOrMemory = cpuOrMemory || qos(n)
	}
	for _, k := range sortedNames(r.Requests) {
		n, p := corev1.ResourceName(k), reqPath.Key(k)
		q := r.Requests[n]
		errs = append(errs, nameFn(n, p)...)
		errs = append(errs, validateQuantity(k, q, p)...)
		if lim, ok := r.Limits[n]; ok {
			if q.Cmp(lim) != 0 && !overcommitAllowed(n) {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", n, lim.String())))
			} else if q.Cmp(lim) > 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", n, lim.String())))
			}
		} else if !overcommitAllowed(n) {
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
		if isHugePageResource(n) {
			hugePages = true
			if err := validateResourceQuantityHugePageValue(n, q, opts); err != nil {
				errs = append(errs, field.Invalid(p, q.String(), err.Error()))
			}
		}
		cpuOrMemory = cpuOrMemory || qos(n)
	}
	if hugePages && !cpuOrMemory {
		errs = append(errs, field.Forbidden(path, "HugePages require cpu or memory"))
	}
	return append(errs, validateResourceClaimNames(r.Claims, podClaimNames, path.Child("claims"))...)
}

// validateContainerResourceName is kube's ValidateContainerResourceName:
// unlike limits.go's validateLimitResourceName it goes on after an
// invalid name, so "foo" is both not fully qualified and not a resource
// for containers.
func validateContainerResourceName(n corev1.ResourceName, path *field.Path) field.ErrorList {
	errs := validateResourceName(string(n), path)
	if !strings.Contains(string(n), "/") {
		if !containerResource(string(n)) {
			errs = append(errs, field.Invalid(path, n, "must be a standard resource for containers"))
		}
	} else if !nativeResource(string(n)) && !ExtendedResourceName(string(n)) {
		errs = append(errs, field.Invalid(path, n, "doesn't follow extended resource name standard"))
	}
	return errs
}

// validatePodResourceName is kube's: a valid name that pod-level
// resources support (cpu, memory, hugepages-*).
func validatePodResourceName(n corev1.ResourceName, path *field.Path) field.ErrorList {
	if errs := validateResourceName(string(n), path); len(errs) > 0 {
		return errs
	}
	if !resourcehelper.IsSupportedPodLevelResource(n) {
		return field.ErrorList{field.NotSupported(path, n, sets.List(resourcehelper.SupportedPodLevelResources()))}
	}
	return nil
}

// isHugePageResource is kube's IsHugePageResourceName.
func isHugePageResource(n corev1.ResourceName) bool {
	return strings.HasPrefix(string(n), corev1.ResourceHugePagesPrefix)
}

// validateResourceQuantityHugePageValue is kube's: a huge page quantity
// is a whole number of pages of the size its name gives.
func validateResourceQuantityHugePageValue(n corev1.ResourceName, q resource.Quantity, opts podValidationOptions) error {
	if !isHugePageResource(n) {
		return nil
	}
	if !opts.allowIndivisibleHugePages && !hugePageValueDivisible(n, q) {
		return fmt.Errorf("%s is not positive integer multiple of %s", q.String(), n)
	}
	return nil
}

// hugePageValueDivisible is kube's IsHugePageResourceValueDivisible.
func hugePageValueDivisible(n corev1.ResourceName, q resource.Quantity) bool {
	size, err := resource.ParseQuantity(strings.TrimPrefix(string(n), corev1.ResourceHugePagesPrefix))
	if err != nil || size.Sign() <= 0 || size.MilliValue()%1000 != 0 {
		return false
	}
	return q.Value()%size.Value() == 0
}

// usesIndivisibleHugePages is kube's usesIndivisibleHugePagesValues:
// the containers' (init and ephemeral included) or the overhead's huge
// pages are not whole pages.
func usesIndivisibleHugePages(s *corev1.PodSpec) bool {
	bad := func(l corev1.ResourceList) bool {
		for n, q := range l {
			if isHugePageResource(n) && !hugePageValueDivisible(n, q) {
				return true
			}
		}
		return false
	}
	found := false
	VisitContainers(s, nil, func(c *corev1.Container, _ *field.Path) {
		found = found || bad(c.Resources.Limits) || bad(c.Resources.Requests)
	})
	return found || bad(s.Overhead)
}

// gatherPodResourceClaimNames is kube's: the pod's claims' names.
func gatherPodResourceClaimNames(claims []corev1.PodResourceClaim) sets.Set[string] {
	names := sets.Set[string]{}
	for _, c := range claims {
		if c.Name != "" {
			names.Insert(c.Name)
		}
	}
	return names
}

// validateResourceClaimNames is kube's: claims named once (a claim, or
// each of its requests), each one of the pod's resource claims.
func validateResourceClaimNames(claims []corev1.ResourceClaim, podClaimNames sets.Set[string], path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.Set[string]{}
	for i, claim := range claims {
		name, p := claim.Name, path.Index(i)
		if name == "" {
			errs = append(errs, field.Required(p, ""))
			continue
		}
		if names.Has(name) {
			// All requests of that claim already referenced.
			errs = append(errs, field.Duplicate(p, name))
		} else {
			key := name
			if claim.Request != "" {
				for _, msg := range validation.IsDNS1123Label(claim.Request) {
					errs = append(errs, field.Invalid(p.Child("request"), claim.Request, msg))
				}
				key += "/" + claim.Request
			}
			if names.Has(key) {
				errs = append(errs, field.Duplicate(p, key))
			} else if claim.Request == "" {
				// A whole claim after some of its requests. (kube
				// ranges over a set here; sorted, for one order.)
				for _, k := range sets.List(names) {
					if before, _, ok := strings.Cut(k, "/"); ok && before == name {
						errs = append(errs, field.Duplicate(p, name))
					}
				}
			}
			names.Insert(key)
		}
		if !podClaimNames.Has(name) {
			e := field.NotFound(p, name)
			e.Detail = "must be one of the names in pod.spec.resourceClaims"
			if len(podClaimNames) == 0 {
				e.Detail += " which is empty"
			} else {
				e.Detail += ": " + strings.Join(sets.List(podClaimNames), ", ")
			}
			errs = append(errs, e)
		}
	}
	return errs
}

// validatePodResources is kube's, for spec.resources (PodLevelResources
// on): none for a Windows pod, no claims, then its requirements and
// their consistency with the containers'.
func validatePodResources(s *corev1.PodSpec, podClaimNames sets.Set[string], specPath *field.Path, opts podValidationOptions) field.ErrorList {
	if opts.storedResources {
		return nil
	}
	if s.Resources == nil {
		return nil
	}
	path := specPath.Child("resources")
	if s.OS != nil && s.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(path, "may not be set for a windows pod")}
	}
	var errs field.ErrorList
	if s.Resources.Claims != nil {
		errs = append(errs, field.Forbidden(path.Child("claims"), "claims may not be set for Resources at pod-level"))
	}
	errs = append(errs, validatePodResourceRequirements(s.Resources, podClaimNames, path, opts)...)
	return append(errs, validatePodResourceConsistency(s, path)...)
}

// validatePodResourceConsistency is kube's: pod-level requests not below
// the containers' aggregate requests, pod-level huge page limits not
// below the containers' aggregate limits, and no container's limit above
// the pod's. The last error's path is kube's:
// spec.resources.containers[i][name].limits.
func validatePodResourceConsistency(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	pod := &corev1.Pod{Spec: *s}
	reqs := resourcehelper.AggregateContainerRequests(pod, resourcehelper.PodResourcesOptions{})
	for _, k := range sortedNames(reqs) {
		podReq, ok := s.Resources.Requests[corev1.ResourceName(k)]
		if !ok {
			continue
		}
		if ctr := reqs[corev1.ResourceName(k)]; ctr.Cmp(podReq) > 0 {
			errs = append(errs, field.Invalid(path.Child("requests").Key(k), podReq.String(), fmt.Sprintf("must be greater than or equal to aggregate container requests of %s", ctr.String())))
		}
	}
	lims := resourcehelper.AggregateContainerLimits(pod, resourcehelper.PodResourcesOptions{})
	for _, k := range sortedNames(lims) {
		if !isHugePageResource(corev1.ResourceName(k)) {
			continue
		}
		podLim, ok := s.Resources.Limits[corev1.ResourceName(k)]
		if !ok {
			continue
		}
		if ctr := lims[corev1.ResourceName(k)]; ctr.Cmp(podLim) > 0 {
			errs = append(errs, field.Invalid(path.Child("limits").Key(k), podLim.String(), fmt.Sprintf("must be greater than or equal to aggregate container limits of %s", ctr.String())))
		}
	}
	for i, c := range s.Containers {
		for _, k := range sortedNames(c.Resources.Limits) {
			podLim, ok := s.Resources.Limits[corev1.ResourceName(k)]
			if !ok {
				continue
			}
			if lim := c.Resources.Limits[corev1.ResourceName(k)]; lim.Cmp(podLim) > 0 {
				errs = append(errs, field.Invalid(path.Child("containers").Index(i).Key(k).Child("limits"), lim.String(), fmt.Sprintf("must be less than or equal to pod limits of %s", podLim.String())))
			}
		}
	}
	return errs
}

// validateOverhead is kube's: the overhead checked as container limits.
func validateOverhead(overhead corev1.ResourceList, path *field.Path, opts podValidationOptions) field.ErrorList {
	if opts.storedResources {
		return nil
	}
	return validateContainerResourceRequirements(&corev1.ResourceRequirements{Limits: overhead}, nil, path, opts)
}
