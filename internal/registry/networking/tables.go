package networking

import (
	"fmt"
	"sort"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
)

// ingressTable: NAME CLASS HOSTS ADDRESS PORTS AGE.
var ingressTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Class", Type: "string", Description: "The name of the IngressClass resource that should be used for additional configuration"},
		{Name: "Hosts", Type: "string", Description: "Hosts that incoming requests are matched against before the ingress rule"},
		{Name: "Address", Type: "string", Description: "Address is a list containing ingress points for the load-balancer"},
		{Name: "Ports", Type: "string", Description: "Ports of TLS configurations that open"},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		ing := obj.(*networkingv1.Ingress)
		class := "<none>"
		if ing.Spec.IngressClassName != nil {
			class = *ing.Spec.IngressClassName
		}
		ports := "80"
		if len(ing.Spec.TLS) > 0 {
			ports = "80, 443"
		}
		return []interface{}{class, ingressHosts(ing.Spec.Rules), ingressAddress(ing.Status.LoadBalancer.Ingress), ports,
			registry.Age(ing, now)}
	},
}

// ingressHosts lists up to three rule hosts, "*" when none names one.
func ingressHosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var list []string
	more := false
	for _, r := range rules {
		if len(list) == max {
			more = true
		}
		if !more && r.Host != "" {
			list = append(list, r.Host)
		}
	}
	if len(list) == 0 {
		return "*"
	}
	if more {
		return fmt.Sprintf("%s + %d more...", strings.Join(list, ","), len(rules)-max)
	}
	return strings.Join(list, ",")
}

// ingressAddress lists the load balancer's IPs or host names, sorted and
// without repeats (the wide view, which the server prints, does not cut
// it).
func ingressAddress(ingress []networkingv1.IngressLoadBalancerIngress) string {
	seen := map[string]bool{}
	var list []string
	for _, in := range ingress {
		v := in.IP
		if v == "" {
			v = in.Hostname
		}
		if v != "" && !seen[v] {
			seen[v] = true
			list = append(list, v)
		}
	}
	sort.Strings(list)
	return strings.Join(list, ",")
}

var ingressClassTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Controller", Type: "string", Description: "Controller that is responsible for handling this class"},
		{Name: "Parameters", Type: "string", Description: "A reference to a resource with additional parameters"},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		ic := obj.(*networkingv1.IngressClass)
		params := "<none>"
		if p := ic.Spec.Parameters; p != nil {
			params = p.Kind
			if p.APIGroup != nil {
				params += "." + *p.APIGroup
			}
			params += "/" + p.Name
		}
		return []interface{}{ic.Spec.Controller, params, registry.Age(ic, now)}
	},
}

var networkPolicyTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Pod-Selector", Type: "string", Description: networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		np := obj.(*networkingv1.NetworkPolicy)
		return []interface{}{metav1.FormatLabelSelector(&np.Spec.PodSelector), registry.Age(np, now)}
	},
}

var serviceCIDRTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "CIDRs", Type: "string", Description: networkingv1.ServiceCIDRSpec{}.SwaggerDoc()["cidrs"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		sc := obj.(*networkingv1.ServiceCIDR)
		return []interface{}{strings.Join(sc.Spec.CIDRs, ","), registry.Age(sc, now)}
	},
}

// ipAddressTable names the owner as "services/default/web". kube-apiserver
// prints an age cell without declaring its column; the column is declared
// here so that cells and columns agree.
var ipAddressTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "ParentRef", Type: "string", Description: networkingv1.IPAddressSpec{}.SwaggerDoc()["parentRef"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		ip := obj.(*networkingv1.IPAddress)
		parent := "<none>"
		if ref := ip.Spec.ParentRef; ref != nil {
			parent = strings.ToLower(schema.GroupResource{Group: ref.Group, Resource: ref.Resource}.String())
			if ref.Namespace != "" {
				parent += "/" + ref.Namespace
			}
			parent += "/" + ref.Name
		}
		return []interface{}{parent, registry.Age(ip, now)}
	},
}
