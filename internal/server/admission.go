package server

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"kapi/internal/admission"
	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/storage"
)

// newAdmission builds the admission chain: the plugins
// --enable-admission-plugins and --disable-admission-plugins select, in
// kube-apiserver's order, after the checks that are not plugins in kube
// either (always) (RBAC escalation).
func (s *Server) newAdmission(cfg Config, cat *registry.Catalogue, nsStore *registry.Store, authorizer authz.Authorizer, always []admission.Validator) (*admission.Chain, error) {
	names, err := admission.Enabled(cfg.EnableAdmissionPlugins, cfg.DisableAdmissionPlugins)
	if err != nil {
		return nil, err
	}
	chain := &admission.Chain{}
	for _, v := range always {
		chain.Add(v)
	}
	plugins := builtinPlugins(cat, authorizer)
	plugins["NamespaceLifecycle"] = func() any { return admission.NamespaceLifecycle{Get: namespaceGetter(nsStore)} }
	var missing []string
	for _, n := range names {
		if p, ok := plugins[n]; ok {
			chain.Add(p())
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		klog.Warningf("admission plugins enabled but not implemented in kapi, they have no effect: %s", strings.Join(missing, ", "))
	}
	return chain, nil
}

// namespaceGetter reads a namespace from the cache as it is
// (resourceVersion "0"), as kube-apiserver's plugin reads its informer,
// rather than a consistent read per write. Readers only read the
// namespace, so they get the cache's shared object rather than a copy.
func namespaceGetter(nsStore *registry.Store) func(ctx context.Context, name string) (runtimeObject, error) {
	return func(ctx context.Context, name string) (runtimeObject, error) {
		obj, err := nsStore.GetShared(ctx, "", name, &metav1.GetOptions{ResourceVersion: "0"})
		if err == nil {
			return storage.Unwrap(obj), nil
		}
		if apierrors.IsNotFound(err) {
			// Not in the cache yet, perhaps just created: ask etcd.
			obj, err = nsStore.Get(ctx, "", name, nil)
		}
		return obj, err
	}
}
