package proxy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
)

// Services finds where a Service is served: a ready endpoint of its
// EndpointSlices. It is the one resolution of services in kapi: the
// services/proxy subresource (Location) and webhooks and aggregated
// API servers given as a Service (Endpoint) use it.
type Services struct {
	Objects Objects
	// AllowLoopback (--proxy-allow-loopback): loopback and link-local
	// endpoints are targets too; otherwise they are passed over.
	AllowLoopback bool
}

// Location is where services/<id>/proxy goes, as kube-apiserver's
// service ResourceLocation: id is "name", "name:port" or
// "scheme:name:port"; a numbered port is the Service port of that
// number (503 "no service port 80 found for service" without one), a
// named or empty one the Service port of that name, and the target an
// endpoint with that port name, chosen at random among the ready ones.
// With none: 503 "no endpoints available for service". An ExternalName
// Service has no endpoints of its own, so it is 503 too, as in kube
// (unless someone wrote its EndpointSlices). The Service and its slices
// are read from the cache, and again as they are now when the cache's
// give no target (fresh).
func (s *Services) Location(ctx context.Context, ns, id string) (*url.URL, error) {
	scheme, name, port, ok := SplitSchemeNamePort(id)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid service request %q", id))
	}
	hostPort, err := fresh(s.Objects, func(objs Objects) (string, error) {
		return s.location(ctx, objs, ns, id, name, port)
	})
	if err != nil {
		return nil, err
	}
	if scheme == "" {
		scheme = "http"
	}
	return &url.URL{Scheme: scheme, Host: hostPort}, nil
}

func (s *Services) location(ctx context.Context, objs Objects, ns, id, name, port string) (string, error) {
	svc, err := service(ctx, objs, ns, name)
	if err != nil {
		return "", err
	}
	portName := port
	if n, err := strconv.ParseInt(port, 10, 64); err == nil {
		sp := servicePort(svc, n)
		if sp == nil {
			return "", unresolved{apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", n, name))}
		}
		portName = sp.Name
	}
	slices, err := endpointSlices(ctx, objs, ns, name)
	if err != nil {
		return "", err
	}
	if len(slices) == 0 {
		return "", unresolved{apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))}
	}
	hostPort, refused := s.pick(slices, portName)
	if hostPort == "" {
		if refused {
			return "", unresolved{apierrors.NewBadRequest(addressNotAllowed)}
		}
		return "", unresolved{apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", id))}
	}
	return hostPort, nil
}

// Endpoint is "host:port" of a ready endpoint serving the Service port
// numbered port, as a webhook or an aggregated API server given as a
// Service is called, read as Location reads it. Its errors are plain
// ones, for the caller to wrap as its failure (a failed conversion is
// kube's 500, not a 503).
func (s *Services) Endpoint(ctx context.Context, ns, name string, port int32) (string, error) {
	return fresh(s.Objects, func(objs Objects) (string, error) {
		return s.endpoint(ctx, objs, ns, name, port)
	})
}

func (s *Services) endpoint(ctx context.Context, objs Objects, ns, name string, port int32) (string, error) {
	svc, err := service(ctx, objs, ns, name)
	if err != nil {
		return "", err
	}
	sp := servicePort(svc, int64(port))
	if sp == nil {
		return "", unresolved{fmt.Errorf("no service port %d found for service %q", port, name)}
	}
	slices, err := endpointSlices(ctx, objs, ns, name)
	if err != nil {
		return "", err
	}
	hostPort, refused := s.pick(slices, sp.Name)
	if hostPort == "" {
		if refused {
			return "", unresolved{fmt.Errorf("the endpoints of service %s/%s are loopback or link-local addresses, refused without --proxy-allow-loopback", ns, name)}
		}
		return "", unresolved{fmt.Errorf("no endpoints available for service %q", name)}
	}
	return hostPort, nil
}

// service reads the named Service; not found, it is unresolved.
func service(ctx context.Context, objs Objects, ns, name string) (*corev1.Service, error) {
	obj, err := objs.Get(ctx, servicesGVR, ns, name)
	if apierrors.IsNotFound(err) {
		return nil, unresolved{err}
	}
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Service), nil
}

// endpointSlices are the Service's EndpointSlices
// (kubernetes.io/service-name), read only.
func endpointSlices(ctx context.Context, objs Objects, ns, name string) ([]*discoveryv1.EndpointSlice, error) {
	// The name is a Service's that exists: a valid label value.
	return objs.EndpointSlices(ctx, ns, labels.SelectorFromValidatedSet(labels.Set{discoveryv1.LabelServiceName: name}))
}

// servicePort is the Service's port numbered n, or nil.
func servicePort(svc *corev1.Service, n int64) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		if int64(svc.Spec.Ports[i].Port) == n {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// pick chooses, at random as kube does, a ready endpoint of a slice
// that has the port named portName ("" is the unnamed port): its
// "host:port". refused tells that the only candidates were host-local
// addresses, passed over without AllowLoopback.
func (s *Services) pick(slices []*discoveryv1.EndpointSlice, portName string) (hostPort string, refused bool) {
	var candidates []string
	for _, es := range slices {
		port := int32(0)
		for _, p := range es.Ports {
			if p.Port != nil && ptrString(p.Name) == portName {
				port = *p.Port
				break
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range es.Endpoints {
			if len(ep.Addresses) == 0 || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
				continue
			}
			if !s.AllowLoopback && hostLocalString(ep.Addresses[0]) {
				refused = true
				continue
			}
			candidates = append(candidates, net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port))))
		}
	}
	if len(candidates) == 0 {
		return "", refused
	}
	return candidates[rand.IntN(len(candidates))], false
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
