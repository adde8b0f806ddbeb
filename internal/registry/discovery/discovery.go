// Package discovery holds the rows of discovery.k8s.io, v1.
package discovery

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// Resources returns the discovery.k8s.io/v1 rows. An EndpointSlice has no
// spec, yet kube-apiserver counts its generations: any change outside
// metadata is one.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "discovery.k8s.io", Version: "v1", Name: "endpointslices", Kind: "EndpointSlice", Namespaced: true,
			Generation: true, Table: endpointSliceTable},
	}
}

// endpointSliceWarnings: a new slice of the deprecated FQDN type, and
// addresses in a non-standard form in slices the endpoint slice
// controllers do not manage, on every write.
func endpointSliceWarnings(obj, old runtime.Object) []string {
	s := obj.(*discoveryv1.EndpointSlice)
	var w []string
	if old == nil && s.AddressType == discoveryv1.AddressTypeFQDN {
		w = append(w, fmt.Sprintf("%s: FQDN endpoints are deprecated", field.NewPath("spec").Child("addressType")))
	}
	switch s.Labels[discoveryv1.LabelManagedBy] {
	case "endpointslice-controller.k8s.io", "endpointslicemirroring-controller.k8s.io":
		return w
	}
	for i, e := range s.Endpoints {
		for j, a := range e.Addresses {
			w = append(w, validation.GetWarningsForIP(field.NewPath("endpoints").Index(i).Child("addresses").Index(j), a)...)
		}
	}
	return w
}

var sliceDocs = discoveryv1.EndpointSlice{}.SwaggerDoc()

// endpointSliceTable: NAME ADDRESSTYPE PORTS ENDPOINTS AGE.
var endpointSliceTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "AddressType", Type: "string", Description: sliceDocs["addressType"]},
		{Name: "Ports", Type: "string", Description: sliceDocs["ports"]},
		{Name: "Endpoints", Type: "string", Description: sliceDocs["endpoints"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		s := obj.(*discoveryv1.EndpointSlice)
		var ports, addrs []string
		for _, p := range s.Ports {
			switch {
			case p.Port != nil:
				ports = append(ports, strconv.Itoa(int(*p.Port)))
			case p.Name != nil:
				ports = append(ports, *p.Name)
			default:
				ports = append(ports, "*")
			}
		}
		for _, e := range s.Endpoints {
			addrs = append(addrs, e.Addresses...)
		}
		return []interface{}{string(s.AddressType), firstThree(ports), firstThree(addrs), registry.Age(s, now)}
	},
}

// firstThree lists up to three items and counts the rest, "<unset>" for
// none.
func firstThree(list []string) string {
	const max = 3
	switch {
	case len(list) == 0:
		return "<unset>"
	case len(list) > max:
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ","), len(list)-max)
	}
	return strings.Join(list, ",")
}
