package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"

	"kapi/internal/admission"
	"kapi/internal/admission/webhook"
	"kapi/internal/authz"
	"kapi/internal/controllers"
	"kapi/internal/registry"
	"kapi/internal/storage"
)

// newAdmission builds the admission chain: the plugins
// --enable-admission-plugins and --disable-admission-plugins select, in
// kube-apiserver's order, after the checks that are not plugins in kube
// either (always) (RBAC escalation).
func (s *Server) newAdmission(ctx context.Context, cfg Config, cat *registry.Catalogue, nsStore *registry.Store, authorizer authz.Authorizer, always []admission.Validator) (*admission.Chain, error) {
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
	deps := webhook.Deps{Catalogue: cat, Namespace: namespaceGetter(nsStore), Resolve: serviceResolver(cat, cfg.ProxyAllowLoopback)}
	var webhookErr error
	plugins["MutatingAdmissionWebhook"] = func() any {
		m := webhook.NewMutating(deps)
		webhookErr = errors.Join(webhookErr, s.runWebhooks(ctx, cat, "mutatingwebhookconfigurations", m.Load, m.Run))
		return m
	}
	plugins["ValidatingAdmissionWebhook"] = func() any {
		v := webhook.NewValidating(deps)
		webhookErr = errors.Join(webhookErr, s.runWebhooks(ctx, cat, "validatingwebhookconfigurations", v.Load, v.Run))
		return v
	}
	var missing []string
	for _, n := range names {
		if p, ok := plugins[n]; ok {
			chain.Add(p())
		} else {
			missing = append(missing, n)
		}
	}
	if webhookErr != nil {
		return nil, webhookErr
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

// webhookSyncTimeout bounds the wait for the webhook configurations at
// start-up: kapi serves no write before it knows its webhooks.
const webhookSyncTimeout = 30 * time.Second

// runWebhooks keeps the webhooks of resource (one of the two
// configuration kinds) current from an informer of its store: loaded
// before kapi serves, reloaded at each change.
func (s *Server) runWebhooks(ctx context.Context, cat *registry.Catalogue, resource string,
	load func([]runtime.Object), run func(context.Context, func() []runtime.Object, <-chan struct{})) error {
	st := cat.Snapshot().Store(schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: resource})
	if st == nil {
		return fmt.Errorf("no store of %s", resource)
	}
	inf := controllers.NewInformer(st)
	changed := inf.Changed()
	s.runNow(ctx, inf.Run)
	t := time.NewTimer(webhookSyncTimeout)
	defer t.Stop()
	select {
	case <-inf.Synced():
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("%s did not load within %s", resource, webhookSyncTimeout)
	}
	list := func() []runtime.Object { return inf.List("") }
	load(list())
	s.runNow(ctx, func(ctx context.Context) { run(ctx, list, changed) })
	return nil
}
