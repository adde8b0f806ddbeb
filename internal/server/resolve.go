package server

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
)

// serviceResolver finds where a Service's port is served, as conversion
// and admission webhooks given as a Service are called: the Service's
// port, its target port, and a ready endpoint of its EndpointSlices.
// Loopback and link-local endpoints are refused, as kube-apiserver's
// validation refuses them, unless allowLoopback (--proxy-allow-loopback).
func serviceResolver(cat *registry.Catalogue, allowLoopback bool) func(ctx context.Context, namespace, name string, port int32) (string, error) {
	return func(ctx context.Context, namespace, name string, port int32) (string, error) {
		snap := cat.Snapshot()
		services := snap.Store(schema.GroupVersionResource{Version: "v1", Resource: "services"})
		slices := snap.Store(schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"})
		if services == nil || slices == nil {
			return "", fmt.Errorf("services cannot be resolved")
		}
		obj, err := services.Get(ctx, namespace, name, &metav1.GetOptions{ResourceVersion: "0"})
		if err != nil {
			return "", err
		}
		svc := obj.(*corev1.Service)
		var sp *corev1.ServicePort
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].Port == port {
				sp = &svc.Spec.Ports[i]
			}
		}
		if sp == nil {
			return "", fmt.Errorf("service %s/%s has no port %d", namespace, name, port)
		}
		list, err := slices.List(ctx, namespace, &metav1.ListOptions{ResourceVersion: "0",
			LabelSelector: labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name}).String()})
		if err != nil {
			return "", err
		}
		for _, es := range list.(*discoveryv1.EndpointSliceList).Items {
			target := int32(0)
			for _, p := range es.Ports {
				if p.Port != nil && (p.Name == nil && sp.Name == "" || p.Name != nil && *p.Name == sp.Name) {
					target = *p.Port
				}
			}
			if target == 0 {
				continue
			}
			for _, ep := range es.Endpoints {
				if (ep.Conditions.Ready == nil || *ep.Conditions.Ready) && len(ep.Addresses) > 0 {
					if !allowLoopback && hostLocal(ep.Addresses[0]) {
						return "", fmt.Errorf("endpoint %s of service %s/%s is a loopback or link-local address, refused without --proxy-allow-loopback", ep.Addresses[0], namespace, name)
					}
					return net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(target))), nil
				}
			}
		}
		return "", fmt.Errorf("no endpoints available for service %q", name)
	}
}

// hostLocal reports a loopback, link-local or unspecified address: one
// that would reach the machine kapi runs on rather than a cluster
// endpoint.
func hostLocal(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	return ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()
}
