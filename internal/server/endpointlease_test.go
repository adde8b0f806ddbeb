package server

import (
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// TestKubernetesEndpointsShape: replicas on one port are one subset and
// the slice "kubernetes", as kube-apiserver writes them; replicas on
// several ports (several on one host) one subset and one slice per port,
// and IPv6 addresses a slice of their own.
func TestKubernetesEndpointsShape(t *testing.T) {
	eps, slices := kubernetesEndpoints([]masterLease{{"10.0.0.1", 6443}, {"10.0.0.2", 6443}, {"10.0.0.3", 6443}})
	if len(eps.Subsets) != 1 || len(eps.Subsets[0].Addresses) != 3 || eps.Subsets[0].Ports[0].Port != 6443 {
		t.Errorf("one port: %+v", eps.Subsets)
	}
	if len(slices) != 1 || slices[0].Name != "kubernetes" || len(slices[0].Endpoints) != 3 ||
		slices[0].Labels[discoveryv1.LabelServiceName] != "kubernetes" || eps.Labels["endpointslice.kubernetes.io/skip-mirror"] != "true" {
		t.Errorf("one port: slices %+v", slices)
	}

	eps, slices = kubernetesEndpoints([]masterLease{{"127.0.0.1", 40001}, {"127.0.0.1", 40002}, {"::1", 40002}})
	if len(eps.Subsets) != 2 || len(eps.Subsets[1].Addresses) != 2 {
		t.Errorf("two ports: %+v", eps.Subsets)
	}
	var names []string
	for _, s := range slices {
		names = append(names, s.Name+"/"+string(s.AddressType))
	}
	want := []string{"kubernetes/IPv4", "kubernetes-ipv4-40002/IPv4", "kubernetes-ipv6-40002/IPv6"}
	if len(names) != len(want) {
		t.Fatalf("two ports: slices %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("two ports: slices %v, want %v", names, want)
		}
	}
	if eps, slices := kubernetesEndpoints(nil); len(eps.Subsets) != 0 || len(slices) != 1 || slices[0].Name != "kubernetes" || len(slices[0].Endpoints) != 0 {
		t.Errorf("no replica: %+v %+v", eps, slices)
	}
}
