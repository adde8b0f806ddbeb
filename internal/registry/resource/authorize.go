package resource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/request"
)

// Checks are what kube's ResourceClaim and ResourceClaimTemplate
// strategies (pkg/registry/resource/utils.go) ask of the rest of the
// server: the namespace a claim asking for admin access is in, and the
// authorizer, for the status fields only some may change.
type Checks struct {
	// Namespace reads a namespace.
	Namespace func(ctx context.Context, name string) (*corev1.Namespace, error)
	// Authorizer decides the synthetic subresources resourceclaims/binding
	// and resourceclaims/driver.
	Authorizer authz.Authorizer
}

// Claims is the resourceclaims row with kube's checks: a claim asking for
// admin access to devices is created only in a namespace labelled
// resource.kubernetes.io/admin-access=true; its status grants admin access
// only there; status.allocation and status.reservedFor change only by who
// may update or patch resourceclaims/binding in every namespace; and the
// status of a driver's devices only by who may do so for resourceclaims/
// driver of that driver's name, on the claim's node ("associated-node:"
// verbs, for a service account on the node the claim is allocated on) or on
// any ("arbitrary-node:").
func (c Checks) Claims(r *registry.Resource) *registry.Resource {
	hooks := *r.Hooks
	hooks.Authorize = func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
		if old != nil { // (the spec is immutable)
			return nil
		}
		claim := obj.(*resourcev1.ResourceClaim)
		return c.adminAccess(ctx, claim.Spec.Devices.Requests, claim.Namespace)
	}
	status := *claimStatus
	status.Authorize = c.claimStatus
	return r.WithHooks(&hooks).WithSubresource(&status)
}

// ClaimTemplates is the resourceclaimtemplates row with kube's check of
// admin access, as for claims.
func (c Checks) ClaimTemplates(r *registry.Resource) *registry.Resource {
	hooks := *r.Hooks
	hooks.Authorize = func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
		if old != nil {
			return nil
		}
		t := obj.(*resourcev1.ResourceClaimTemplate)
		return c.adminAccess(ctx, t.Spec.Spec.Devices.Requests, t.Namespace)
	}
	return r.WithHooks(&hooks)
}

// adminAccess is kube's AuthorizedForAdmin: the first request asking for
// admin access needs the namespace's label.
func (c Checks) adminAccess(ctx context.Context, requests []resourcev1.DeviceRequest, namespace string) field.ErrorList {
	for i, r := range requests {
		// (a subrequest cannot ask for it)
		if r.Exactly != nil && r.Exactly.AdminAccess != nil && *r.Exactly.AdminAccess {
			return c.adminNamespace(ctx, field.NewPath("spec", "devices", "requests").Index(i).Child("adminAccess"), namespace)
		}
	}
	return nil
}

func (c Checks) adminNamespace(ctx context.Context, path *field.Path, namespace string) field.ErrorList {
	ns, err := c.Namespace(ctx, namespace)
	if err != nil {
		return field.ErrorList{field.InternalError(path, fmt.Errorf("could not retrieve namespace to verify admin access: %w", err))}
	}
	if ns.Labels[resourcev1.DRAAdminNamespaceLabelKey] != "true" {
		return field.ErrorList{field.Forbidden(path, fmt.Sprintf("admin access to devices requires the `%s: true` label on the containing namespace", resourcev1.DRAAdminNamespaceLabelKey))}
	}
	return nil
}

// claimStatus is kube's status strategy's ValidateUpdate checks before
// validation (AuthorizedForAdminStatus, AuthorizedForBinding,
// AuthorizedForDeviceStatus).
func (c Checks) claimStatus(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	claim, was := obj.(*resourcev1.ResourceClaim), old.(*resourcev1.ResourceClaim)
	var errs field.ErrorList
	// Admin access granted once stays (the allocation is immutable).
	if _, granted := adminGranted(was.Status.Allocation); !granted {
		if path, asked := adminGranted(claim.Status.Allocation); asked {
			errs = append(errs, c.adminNamespace(ctx, path, claim.Namespace)...)
		}
	}
	info, user := request.InfoFrom(ctx), request.UserFrom(ctx)
	if info == nil || user == nil {
		return append(errs, field.InternalError(field.NewPath("status"), errors.New("cannot build authorizer attributes: no user or request info")))
	}
	base := authz.Attributes{User: user, Verb: info.Verb, ResourceRequest: true, APIGroup: group, APIVersion: info.APIVersion,
		Resource: "resourceclaims", Namespace: info.Namespace, Name: info.Name}

	if !equality.Semantic.DeepEqual(claim.Status.Allocation, was.Status.Allocation) ||
		!equality.Semantic.DeepEqual(claim.Status.ReservedFor, was.Status.ReservedFor) {
		a := base
		a.Subresource, a.Namespace, a.Name = resourcev1.SubresourceBinding, "", ""
		if err := c.allowed(ctx, a); err != nil {
			errs = append(errs, field.Forbidden(field.NewPath("status", "allocation"),
				fmt.Sprintf(`changing status.allocation or status.reservedFor requires resource="resourceclaims/binding", verb="%s" permission: %s`, a.Verb, err)))
		}
	}
	// The devices' status is dropped with the allocation, so is asked of
	// an allocated claim only.
	if claim.Status.Allocation == nil {
		return errs
	}
	verbs := []string{resourcev1.VerbPrefixArbitraryNode + info.Verb}
	if onAllocatedNode(user, claim.Status.Allocation) {
		verbs = []string{resourcev1.VerbPrefixAssociatedNode + info.Verb, resourcev1.VerbPrefixArbitraryNode + info.Verb}
	}
	for _, driver := range changedDrivers(claim.Status.Devices, was.Status.Devices) {
		var first error
		for _, verb := range verbs { // (either will do)
			a := base
			a.Verb, a.Subresource, a.Name = verb, resourcev1.SubresourceDriver, driver
			err := c.allowed(ctx, a)
			if err == nil {
				first = nil
				break
			}
			if first == nil {
				first = err
			}
		}
		if first != nil {
			errs = append(errs, field.Forbidden(field.NewPath("status", "devices"),
				fmt.Sprintf(`changing status.devices requires resource="resourceclaims/driver", verb="%s" permission: %s`, verbs, first)))
		}
	}
	return errs
}

// allowed is kube's checkAuthorization: nil when the authorizer allows,
// else the 403 it would answer (an error with an allow still allows).
func (c Checks) allowed(ctx context.Context, a authz.Attributes) error {
	d, reason, err := c.Authorizer.Authorize(ctx, a)
	if d == authz.Allow {
		return nil
	}
	switch {
	case err != nil && reason != "":
		reason = fmt.Sprintf("%v: %s", err, reason)
	case err != nil:
		reason = err.Error()
	}
	return authz.Forbidden(a, reason)
}

// adminGranted is the first allocated device with admin access, by its
// path.
func adminGranted(a *resourcev1.AllocationResult) (*field.Path, bool) {
	if a == nil {
		return nil, false
	}
	for i, r := range a.Devices.Results {
		if r.AdminAccess != nil && *r.AdminAccess {
			return field.NewPath("status", "allocation", "devices", "results").Index(i).Child("adminAccess"), true
		}
	}
	return nil, false
}

// onAllocatedNode is kube's saAssociatedWithAllocatedNode: user is a
// service account whose token is bound to the one node the claim is
// allocated on (a node selector of one term matching one metadata.name).
func onAllocatedNode(user *request.User, a *resourcev1.AllocationResult) bool {
	node := ""
	if s := a.NodeSelector; s != nil && len(s.NodeSelectorTerms) == 1 {
		t := s.NodeSelectorTerms[0]
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 1 {
			f := t.MatchFields[0]
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				node = f.Values[0]
			}
		}
	}
	if node == "" || !isServiceAccount(user.Name) {
		return false
	}
	names := user.Extra["authentication.kubernetes.io/node-name"]
	return len(names) == 1 && len(apivalidation.NameIsDNSSubdomain(names[0], false)) == 0 && names[0] == node
}

// isServiceAccount is serviceaccount.SplitUsername's test: a user name
// system:serviceaccount:<namespace>:<name> with both parts valid.
func isServiceAccount(name string) bool {
	rest, ok := strings.CutPrefix(name, "system:serviceaccount:")
	if !ok {
		return false
	}
	ns, sa, ok := strings.Cut(rest, ":")
	return ok && !strings.Contains(sa, ":") &&
		len(apivalidation.ValidateNamespaceName(ns, false)) == 0 && len(apivalidation.ValidateServiceAccountName(sa, false)) == 0
}

// changedDrivers is kube's getModifiedDrivers: the drivers of device
// status entries added, removed or changed, sorted.
func changedDrivers(devices, was []resourcev1.AllocatedDeviceStatus) []string {
	old := map[string]resourcev1.AllocatedDeviceStatus{}
	for _, d := range was {
		old[sharedDeviceID(d.Driver, d.Pool, d.Device, d.ShareID)] = d
	}
	var drivers []string
	for _, d := range devices {
		id := sharedDeviceID(d.Driver, d.Pool, d.Device, d.ShareID)
		o, ok := old[id]
		delete(old, id)
		if !ok || !equality.Semantic.DeepEqual(o, d) {
			drivers = append(drivers, d.Driver)
		}
	}
	for _, d := range old {
		drivers = append(drivers, d.Driver)
	}
	slices.Sort(drivers)
	return slices.Compact(drivers)
}
