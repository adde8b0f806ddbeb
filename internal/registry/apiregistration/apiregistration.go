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
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"kapi/internal/registry"
)

// Resources returns the apiregistration.k8s.io/v1 row. The aggregator
// keys its objects by group and resource, so they live under
// "apiregistration.k8s.io/apiservices".
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "apiregistration.k8s.io", Version: "v1", Name: "apiservices", Kind: "APIService",
			Categories: []string{"api-extensions"}, Subresources: []*registry.Subresource{registry.Status},
			KeyPrefix: "apiregistration.k8s.io/apiservices", Names: apiServiceName, Table: apiServiceTable,
			AnyFinalizers: true},
	}
}

// apiServiceName: an APIService is named "<version>.<group>" after its
// spec ("v1." for the core group, whose name is empty). kube-apiserver
// checks the name against the spec; without the spec at hand this checks
// the form: a path segment whose version is a DNS label and whose group a
// DNS subdomain.
func apiServiceName(name string, prefix bool) []string {
	if errs := registry.PathSegment(name, prefix); len(errs) > 0 {
		return errs
	}
	version, group, ok := strings.Cut(name, ".")
	if !ok {
		return []string{`must be of the form "<version>.<group>"`}
	}
	errs := validation.IsDNS1035Label(version)
	if group != "" && !prefix {
		errs = append(errs, validation.IsDNS1123Subdomain(group)...)
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
