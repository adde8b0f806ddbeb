package console

import (
	"context"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// The console is published as the Kubernetes Dashboard is: a Service in
// kube-system with one unnamed port, so that kubectl proxy users open
// .../services/http:kapi-console:/proxy/ (scheme http, name, no port: kube
// resolves an empty port to the endpoint port with an empty name, as
// https:kubernetes-dashboard:/proxy/ is resolved). The Service has no
// selector (no pods run the console); its one EndpointSlice, labelled
// with the console as its manager, holds the console's address.
const (
	Namespace = "kube-system"
	Name      = "kapi-console"
	// ManagedBy is the EndpointSlice's endpointslice.kubernetes.io/managed-by
	// label: kube's EndpointSlice controller leaves slices with another
	// manager alone, and so would a reader looking for its own.
	ManagedBy = "kapi-console.kapi.dev"
)

// ProxyPath is where the console is reached through the API server's
// service proxy (below kubectl proxy's address, or the API server's).
const ProxyPath = "/api/v1/namespaces/" + Namespace + "/services/http:" + Name + ":/proxy/"

// register creates or updates the Service and the EndpointSlice so that
// they lead to addr:port, marked ready.
func register(ctx context.Context, c kubernetes.Interface, addr string, port int) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: Namespace, Labels: labels()},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(int32(port)),
		}}},
	}
	services := c.CoreV1().Services(Namespace)
	_, err := services.Create(ctx, svc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var old *corev1.Service
		if old, err = services.Get(ctx, Name, metav1.GetOptions{}); err == nil {
			old.Labels = mergeLabels(old.Labels)
			old.Spec.Ports, old.Spec.Selector = svc.Spec.Ports, nil
			_, err = services.Update(ctx, old, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("registering service %s/%s: %w", Namespace, Name, err)
	}
	slice := endpointSlice(addr, port)
	slices := c.DiscoveryV1().EndpointSlices(Namespace)
	_, err = slices.Create(ctx, slice, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var old *discoveryv1.EndpointSlice
		if old, err = slices.Get(ctx, Name, metav1.GetOptions{}); err == nil {
			slice.ResourceVersion = old.ResourceVersion
			_, err = slices.Update(ctx, slice, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("registering endpointslice %s/%s: %w", Namespace, Name, err)
	}
	return nil
}

// deregister removes the console's endpoint from the EndpointSlice, if it
// is still the one there: a newer console that took the slice over (a
// restart on another port) keeps its endpoint. The Service stays, as a
// Service stays when its pods go; the proxy then answers 503 "no
// endpoints available".
func deregister(ctx context.Context, c kubernetes.Interface, addr string, port int) error {
	slices := c.DiscoveryV1().EndpointSlices(Namespace)
	s, err := slices.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !serves(s, addr, port) {
		return nil
	}
	s.Endpoints = []discoveryv1.Endpoint{}
	_, err = slices.Update(ctx, s, metav1.UpdateOptions{}) // a conflict means someone else wrote it since: theirs stays
	return err
}

func serves(s *discoveryv1.EndpointSlice, addr string, port int) bool {
	if len(s.Ports) != 1 || s.Ports[0].Port == nil || int(*s.Ports[0].Port) != port {
		return false
	}
	for _, ep := range s.Endpoints {
		for _, a := range ep.Addresses {
			if a == addr {
				return true
			}
		}
	}
	return false
}

func endpointSlice(addr string, port int) *discoveryv1.EndpointSlice {
	at := discoveryv1.AddressTypeIPv4
	if ip := net.ParseIP(addr); ip != nil && ip.To4() == nil {
		at = discoveryv1.AddressTypeIPv6
	}
	ready, p, name, proto := true, int32(port), "", corev1.ProtocolTCP
	l := labels()
	l[discoveryv1.LabelServiceName] = Name
	l[discoveryv1.LabelManagedBy] = ManagedBy
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: Name, Namespace: Namespace, Labels: l},
		AddressType: at,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{addr},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &p, Protocol: &proto}},
	}
}

func labels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": Name, "app.kubernetes.io/component": "console"}
}

func mergeLabels(old map[string]string) map[string]string {
	if old == nil {
		old = map[string]string{}
	}
	for k, v := range labels() {
		old[k] = v
	}
	return old
}
