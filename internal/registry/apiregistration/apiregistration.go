// Package apiregistration holds the row of apiregistration.k8s.io/v1:
// the APIServices that make up discovery and route to aggregated servers.
package apiregistration

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"k8s.io/utils/ptr"

	"kapi/internal/registry"
)

// Resources returns the apiregistration.k8s.io/v1 row. The aggregator
// keys its objects by group and resource, so they live under
// "apiregistration.k8s.io/apiservices".
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "apiregistration.k8s.io", Version: "v1", Name: "apiservices", Kind: "APIService",
			Categories: []string{"api-extensions"}, Subresources: []*registry.Subresource{apiServiceStatus},
			KeyPrefix: "apiregistration.k8s.io/apiservices", Names: registry.PathSegment, Table: apiServiceTable,
			AnyFinalizers: true, Hooks: apiServiceHooks},
	}
}

// apiServiceHooks are kube-aggregator's APIService strategy: a local
// APIService (no service) is Available from its creation, and the
// object is kube-aggregator's ValidateAPIService (its name after its
// spec, "<version>.<group>", "v1." for the core group).
var apiServiceHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultAPIService(obj.(*apiregistrationv1.APIService)) },
	PrepareForCreate: func(obj runtime.Object) {
		if s := obj.(*apiregistrationv1.APIService); s.Spec.Service == nil {
			s.Status.Conditions = []apiregistrationv1.APIServiceCondition{LocalAvailable()}
		}
	},
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		return validateAPIService(obj.(*apiregistrationv1.APIService))
	},
}

// defaultAPIService is kube-aggregator's v1 defaulting: a service's port
// is 443.
func defaultAPIService(s *apiregistrationv1.APIService) {
	if ref := s.Spec.Service; ref != nil && ref.Port == nil {
		ref.Port = ptr.To[int32](443)
	}
}

// LocalAvailable is the condition of an APIService that kapi serves
// itself.
func LocalAvailable() apiregistrationv1.APIServiceCondition {
	return apiregistrationv1.APIServiceCondition{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue,
		Reason: "Local", Message: "Local APIServices are always available", LastTransitionTime: metav1.Now()}
}

// apiServiceStatus writes the status alone: kube-aggregator's status
// strategy keeps the stored labels, annotations, finalizers and owners,
// and checks only the conditions' statuses.
var apiServiceStatus = registry.ValidatedStatus(func(obj, _ runtime.Object) field.ErrorList {
	var errs field.ErrorList
	for i, c := range obj.(*apiregistrationv1.APIService).Status.Conditions {
		switch c.Status {
		case apiregistrationv1.ConditionTrue, apiregistrationv1.ConditionFalse, apiregistrationv1.ConditionUnknown:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("status", "conditions").Index(i).Child("status"), c.Status,
				[]string{string(apiregistrationv1.ConditionTrue), string(apiregistrationv1.ConditionFalse), string(apiregistrationv1.ConditionUnknown)}))
		}
	}
	return errs
}, registry.StatusMetadataResets...)

// validateAPIService is kube-aggregator's ValidateAPIService after the
// generic metadata checks (the name a path segment, which the row's Names
// is): the name must follow the spec, the group and version be names,
// the priorities in range, and a service's reference complete; a local
// APIService has no CA bundle or TLS exception.
func validateAPIService(s *apiregistrationv1.APIService) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if required := s.Spec.Version + "." + s.Spec.Group; s.Name != required && len(registry.PathSegment(s.Name, false)) == 0 {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), s.Name, fmt.Sprintf("must be `spec.version+\".\"+spec.group`: %q", required)))
	}
	if s.Spec.Group == "" && s.Spec.Version != "v1" {
		errs = append(errs, field.Required(spec.Child("group"), "only v1 may have an empty group and it better be legacy kube"))
	}
	if s.Spec.Group != "" {
		for _, msg := range validation.IsDNS1123Subdomain(s.Spec.Group) {
			errs = append(errs, field.Invalid(spec.Child("group"), s.Spec.Group, msg))
		}
	}
	for _, msg := range validation.IsDNS1035Label(s.Spec.Version) {
		errs = append(errs, field.Invalid(spec.Child("version"), s.Spec.Version, msg))
	}
	if p := s.Spec.GroupPriorityMinimum; p <= 0 || p > 20000 {
		errs = append(errs, field.Invalid(spec.Child("groupPriorityMinimum"), p, "must be positive and less than 20000"))
	}
	if p := s.Spec.VersionPriority; p <= 0 || p > 1000 {
		errs = append(errs, field.Invalid(spec.Child("versionPriority"), p, "must be positive and less than 1000"))
	}
	ref := s.Spec.Service
	if ref == nil {
		if len(s.Spec.CABundle) != 0 {
			errs = append(errs, field.Invalid(spec.Child("caBundle"), fmt.Sprintf("%d bytes", len(s.Spec.CABundle)), "local APIServices may not have a caBundle"))
		}
		if s.Spec.InsecureSkipTLSVerify {
			errs = append(errs, field.Invalid(spec.Child("insecureSkipTLSVerify"), true, "local APIServices may not have insecureSkipTLSVerify"))
		}
		return errs
	}
	if ref.Namespace == "" {
		errs = append(errs, field.Required(spec.Child("service", "namespace"), ""))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(spec.Child("service", "name"), ""))
	}
	// The port defaults to 443; kube validates the internal form, where
	// an unset port is 0.
	port := int32(0)
	if ref.Port != nil {
		port = *ref.Port
	}
	if msgs := validation.IsValidPortNum(int(port)); msgs != nil {
		errs = append(errs, field.Invalid(spec.Child("service", "port"), port, "port is not valid: "+strings.Join(msgs, ", ")))
	}
	if s.Spec.InsecureSkipTLSVerify && len(s.Spec.CABundle) > 0 {
		errs = append(errs, field.Invalid(spec.Child("insecureSkipTLSVerify"), true, "may not be true if caBundle is present"))
	}
	return errs
}

// apiServiceTable: NAME SERVICE AVAILABLE AGE. SERVICE is "Local" for an
// API served by kube-apiserver itself; AVAILABLE is the Available
// condition's status, with its reason when not True.
var apiServiceTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Service", Type: "string", Description: "The reference to the service that hosts this API endpoint."},
		{Name: "Available", Type: "string", Description: "Whether this service is available."},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		s := obj.(*apiregistrationv1.APIService)
		service := "Local"
		if ref := s.Spec.Service; ref != nil {
			service = ref.Namespace + "/" + ref.Name
		}
		available := string(apiregistrationv1.ConditionUnknown)
		for _, c := range s.Status.Conditions {
			if c.Type != apiregistrationv1.Available {
				continue
			}
			available = string(c.Status)
			if c.Status != apiregistrationv1.ConditionTrue && c.Reason != "" {
				available = fmt.Sprintf("%s (%s)", c.Status, c.Reason)
			}
			break
		}
		return []interface{}{service, available, registry.Age(s, now)}
	},
}
