package server

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/endpoints"
	"kapi/internal/proxy"
	"kapi/internal/registry"
	"kapi/internal/storage"
)

// proxySubresources gives Services and Pods their proxy subresource
// (services/[https:]name[:port]/proxy/..., pods/...), before cat is
// published: targets are resolved through cat's stores when a request
// comes, and reached through one transport that refuses loopback and
// link-local addresses unless --proxy-allow-loopback.
func proxySubresources(cfg Config, cat *registry.Catalogue, stores []*registry.Store) {
	objects := proxyObjects{cat: cat}
	transport := proxy.NewTransport(cfg.ProxyAllowLoopback)
	services := &proxy.Services{Objects: objects, AllowLoopback: cfg.ProxyAllowLoopback}
	pods := &proxy.Pods{Objects: objects, AllowLoopback: cfg.ProxyAllowLoopback}
	replaceRow(stores, "", "services", func(r *registry.Resource) *registry.Resource {
		return r.WithSubresource(registry.ConnectSubresource("proxy", corev1.SchemeGroupVersion.WithKind("ServiceProxyOptions"),
			registry.ProxyVerbs, proxy.Connect(services.Location, transport, endpoints.WriteError, cfg.MaxConnectionBytesPerSec)))
	})
	replaceRow(stores, "", "pods", func(r *registry.Resource) *registry.Resource {
		return r.WithSubresource(registry.ConnectSubresource("proxy", corev1.SchemeGroupVersion.WithKind("PodProxyOptions"),
			registry.ProxyVerbs, proxy.Connect(pods.Location, transport, endpoints.WriteError, cfg.MaxConnectionBytesPerSec)))
	})
}

// proxyObjects reads the proxy's objects from the catalogue's
// current stores: from their watch caches (resourceVersion 0), or as
// they are now when consistent (the proxy's second read, when the
// cache's objects gave no target; the kubelet paths' reads). It returns
// the stores' own objects, which the proxy only reads: a proxied request
// reads its Service and EndpointSlices every time, and copying them was a
// good part of its cost.
type proxyObjects struct {
	cat        *registry.Catalogue
	consistent bool
}

var _ proxy.Objects = proxyObjects{}

// rv is the resourceVersion of the reads.
func (c proxyObjects) rv() string {
	if c.consistent {
		return ""
	}
	return "0"
}

func (c proxyObjects) Consistent() proxy.Objects { return proxyObjects{cat: c.cat, consistent: true} }

func (c proxyObjects) store(gvr schema.GroupVersionResource) (*registry.Store, error) {
	st := c.cat.Snapshot().Store(gvr)
	if st == nil {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("%s cannot be read", gvr.Resource))
	}
	return st, nil
}

func (c proxyObjects) Get(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (runtime.Object, error) {
	st, err := c.store(gvr)
	if err != nil {
		return nil, err
	}
	obj, err := st.GetShared(ctx, ns, name, &metav1.GetOptions{ResourceVersion: c.rv()})
	if err != nil {
		return nil, err
	}
	return storage.Unwrap(obj), nil
}

// EndpointSlices are the slices in ns sel selects.
func (c proxyObjects) EndpointSlices(ctx context.Context, ns string, sel labels.Selector) ([]*discoveryv1.EndpointSlice, error) {
	st, err := c.store(endpointSlicesGVR)
	if err != nil {
		return nil, err
	}
	l, err := st.ListSharedSelected(ctx, ns, c.rv(), sel)
	if err != nil {
		return nil, err
	}
	slices := make([]*discoveryv1.EndpointSlice, 0, len(l.Items))
	for _, it := range l.Items {
		es, ok := storage.Unwrap(it).(*discoveryv1.EndpointSlice)
		if !ok {
			return nil, apierrors.NewInternalError(fmt.Errorf("endpointslices store answered a %T", it))
		}
		slices = append(slices, es)
	}
	return slices, nil
}

var endpointSlicesGVR = discoveryv1.SchemeGroupVersion.WithResource("endpointslices")
