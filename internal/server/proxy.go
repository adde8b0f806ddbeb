package server

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/endpoints"
	"kapi/internal/proxy"
	"kapi/internal/registry"
)

// proxySubresources gives Services and Pods their proxy subresource
// (services/[https:]name[:port]/proxy/..., pods/...), before cat is
// published: targets are resolved through cat's stores when a request
// comes, and reached through one transport that refuses loopback and
// link-local addresses unless --proxy-allow-loopback.
func proxySubresources(cfg Config, cat *registry.Catalogue, stores []*registry.Store) {
	objects := proxyObjects{cat}
	transport := proxy.NewTransport(cfg.ProxyAllowLoopback)
	services := &proxy.Services{Objects: objects, AllowLoopback: cfg.ProxyAllowLoopback}
	pods := &proxy.Pods{Objects: objects, AllowLoopback: cfg.ProxyAllowLoopback}
	replaceRow(stores, "", "services", func(r *registry.Resource) *registry.Resource {
		return r.WithSubresource(registry.ConnectSubresource("proxy", corev1.SchemeGroupVersion.WithKind("ServiceProxyOptions"),
			registry.ProxyVerbs, proxy.Connect(services.Location, transport, endpoints.WriteError)))
	})
	replaceRow(stores, "", "pods", func(r *registry.Resource) *registry.Resource {
		return r.WithSubresource(registry.ConnectSubresource("proxy", corev1.SchemeGroupVersion.WithKind("PodProxyOptions"),
			registry.ProxyVerbs, proxy.Connect(pods.Location, transport, endpoints.WriteError)))
	})
}

// proxyObjects reads the proxy's objects from the catalogue's
// current stores (their watch caches: resourceVersion 0).
type proxyObjects struct{ cat *registry.Catalogue }

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
	obj, err := st.Get(ctx, ns, name, &metav1.GetOptions{ResourceVersion: "0"})
	if apierrors.IsNotFound(err) {
		// Perhaps written a moment ago: a consistent read, as kube's.
		obj, err = st.Get(ctx, ns, name, &metav1.GetOptions{})
	}
	return obj, err
}

func (c proxyObjects) List(ctx context.Context, gvr schema.GroupVersionResource, ns string, opts *metav1.ListOptions) (runtime.Object, error) {
	st, err := c.store(gvr)
	if err != nil {
		return nil, err
	}
	cached := *opts
	cached.ResourceVersion = "0"
	obj, err := st.List(ctx, ns, &cached)
	if err == nil && meta.LenList(obj) == 0 {
		// Perhaps written a moment ago: a consistent read, as kube's.
		fresh := *opts
		fresh.ResourceVersion = ""
		obj, err = st.List(ctx, ns, &fresh)
	}
	return obj, err
}
