package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"kapi/internal/admission"
	"kapi/internal/admission/limits"
	"kapi/internal/admission/manifest"
	"kapi/internal/admission/match"
	"kapi/internal/admission/policy"
	"kapi/internal/admission/quota"
	"kapi/internal/admission/webhook"
	"kapi/internal/authz"
	"kapi/internal/controllers"
	"kapi/internal/features"
	"kapi/internal/registry"
)

// newAdmission builds the admission chain: the plugins
// --enable-admission-plugins and --disable-admission-plugins select, in
// kube-apiserver's order, after the checks that are not plugins in kube
// either (always: RBAC escalation; the admission policies' parameter
// access).
func (s *Server) newAdmission(ctx context.Context, cfg Config, cat *registry.Catalogue, authorizer authz.Authorizer, always []admission.Validator, lb *loopback) (*admission.Chain, error) {
	names, err := admission.Enabled(cfg.EnableAdmissionPlugins, cfg.DisableAdmissionPlugins)
	if err != nil {
		return nil, err
	}
	conf, err := loadAdmissionConfig(cfg.AdmissionControlConfigFile)
	if err != nil {
		return nil, err
	}
	mutatingAuth, err := conf.webhookAuth("MutatingAdmissionWebhook")
	if err != nil {
		return nil, err
	}
	validatingAuth, err := conf.webhookAuth("ValidatingAdmissionWebhook")
	if err != nil {
		return nil, err
	}
	chain := &admission.Chain{}
	for _, v := range always {
		chain.Add(v)
	}
	// kube-apiserver's admission policy strategies check the writer's
	// access to a policy's parameters whatever the plugins.
	chain.Add(policy.ParamAccess{Authorizer: authorizer, Catalogue: cat})
	plugins, err := builtinPlugins(cat, authorizer, conf.plugins)
	if err != nil {
		return nil, err
	}
	plugins["NamespaceLifecycle"] = func() any { return admission.NamespaceLifecycle{Get: namespaceGetter(cat)} }
	// The plugins whose configuration is required: built, and their
	// configuration checked, only when they are named.
	for _, p := range []struct {
		name  string
		build func([]byte) (any, error)
	}{
		{"EventRateLimit", func(c []byte) (any, error) { return admission.NewEventRateLimit(c) }},
		{"ImagePolicyWebhook", func(c []byte) (any, error) { return admission.NewImagePolicyWebhook(c) }},
	} {
		if !slices.Contains(names, p.name) {
			continue
		}
		plugin, err := p.build(conf.plugins[p.name])
		if err != nil {
			return nil, fmt.Errorf("configuration of admission plugin %s: %w", p.name, err)
		}
		plugins[p.name] = func() any { return plugin }
	}
	plugins["NamespaceAutoProvision"] = func() any {
		client := kubernetes.NewForConfigOrDie(lb.Config(APIServerUser))
		return admission.NamespaceAutoProvision{Namespaces: catalogueObjects{cat: cat, gvr: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}},
			Create: func(ctx context.Context, name string) error {
				_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
				return err
			}}
	}
	celAuthz := match.CELAuthorizer(authorizer)
	deps := webhook.Deps{Catalogue: cat, Namespace: namespaceGetter(cat), Resolve: serviceResolver(cat, cfg.ProxyAllowLoopback), Authorizer: celAuthz,
		SeeVirtualResources: !features.Enabled(cfg.FeatureGates, features.ExcludeAdmissionWebhookVirtualResources)}
	// The configuration objects load in parallel: each informer's first
	// list may wait for etcd to report its cache current.
	var loads []func() error
	load := func(resource string, f func([]runtime.Object)) {
		loads = append(loads, s.keepLoaded(ctx, cat, resource, f))
	}
	// A plugin's static manifests (its staticManifestsDir) load with it,
	// a bad one failing the start as in kube-apiserver, and reload as
	// their files change.
	static := func(plugin, kind string, loadStatic func(dir string) (string, func() error, error)) {
		dir, err := conf.staticManifestsDir(plugin)
		if err == nil && dir != "" {
			m := &manifest.Manifests{Plugin: plugin, Kind: kind, Dir: dir, ServerID: cfg.APIServerID, Load: loadStatic}
			if err = m.Start(); err != nil {
				err = fmt.Errorf("failed to initialize admission plugin %q: %w", plugin, err)
			} else {
				s.runNow(ctx, m.Watch)
			}
		}
		if err != nil {
			loads = append(loads, func() error { return err })
		}
	}
	plugins["MutatingAdmissionWebhook"] = func() any {
		deps := deps
		deps.Auth = restAuth(mutatingAuth)
		m := webhook.NewMutating(deps)
		load("mutatingwebhookconfigurations", m.Load)
		static("MutatingAdmissionWebhook", "webhook", m.LoadStatic)
		return m
	}
	plugins["ValidatingAdmissionWebhook"] = func() any {
		deps := deps
		deps.Auth = restAuth(validatingAuth)
		v := webhook.NewValidating(deps)
		load("validatingwebhookconfigurations", v.Load)
		static("ValidatingAdmissionWebhook", "webhook", v.LoadStatic)
		return v
	}
	policyDeps := policy.Deps{Catalogue: cat, Namespace: namespaceGetter(cat), Authorizer: celAuthz}
	plugins["ResourceQuota"] = func() any { return &quota.ResourceQuota{Catalogue: cat} }
	plugins["LimitRanger"] = func() any { return &limits.LimitRanger{Catalogue: cat} }
	plugins["MutatingAdmissionPolicy"] = func() any {
		m := policy.NewMutating(policyDeps)
		load("mutatingadmissionpolicies", m.LoadPolicies)
		load("mutatingadmissionpolicybindings", m.LoadBindings)
		static("MutatingAdmissionPolicy", "policy", m.LoadStatic)
		return m
	}
	plugins["ValidatingAdmissionPolicy"] = func() any {
		v := policy.NewValidating(policyDeps)
		load("validatingadmissionpolicies", v.LoadPolicies)
		load("validatingadmissionpolicybindings", v.LoadBindings)
		static("ValidatingAdmissionPolicy", "policy", v.LoadStatic)
		return v
	}
	var missing []string
	for _, n := range names {
		if p, ok := plugins[n]; ok {
			chain.AddNamed(n, p())
		} else {
			missing = append(missing, n)
		}
	}
	var loadErr error
	for _, wait := range loads {
		loadErr = errors.Join(loadErr, wait())
	}
	if loadErr != nil {
		return nil, loadErr
	}
	if len(missing) > 0 {
		klog.Warningf("admission plugins enabled but not implemented in kapi, they have no effect: %s", strings.Join(missing, ", "))
	}
	return chain, nil
}

// namespaceGetter reads a namespace as the plugins read their objects
// (catalogueObjects): from the cache as it is, as kube-apiserver's
// plugins read their informers, and from etcd when the cache does not
// have it yet.
func namespaceGetter(cat *registry.Catalogue) func(ctx context.Context, name string) (runtimeObject, error) {
	namespaces := catalogueObjects{cat: cat, gvr: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}}
	return func(ctx context.Context, name string) (runtimeObject, error) { return namespaces.Get(ctx, "", name) }
}

// loadTimeout bounds the wait for admission's configuration objects at
// start-up: kapi serves no write before it knows its webhooks and
// policies.
const loadTimeout = 30 * time.Second

// keepLoaded keeps load current with the objects of resource (an
// admissionregistration.k8s.io/v1 resource) through an informer of its
// store: loaded before kapi serves (wait returns once it is), loaded
// again at each change.
func (s *Server) keepLoaded(ctx context.Context, cat *registry.Catalogue, resource string, load func([]runtime.Object)) (wait func() error) {
	st := cat.Snapshot().Store(schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: resource})
	if st == nil {
		return func() error { return fmt.Errorf("no store of %s", resource) }
	}
	inf := controllers.NewInformer(st)
	changed := inf.Changed(ctx)
	s.runNow(ctx, inf.Run)
	return func() error { return s.loadWhenSynced(ctx, inf, changed, resource, load) }
}

func (s *Server) loadWhenSynced(ctx context.Context, inf *controllers.Informer, changed <-chan struct{}, resource string, load func([]runtime.Object)) error {
	t := time.NewTimer(loadTimeout)
	defer t.Stop()
	select {
	case <-inf.Synced():
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("%s did not load within %s", resource, loadTimeout)
	}
	load(inf.List(""))
	s.runNow(ctx, func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				load(inf.List(""))
			}
		}
	})
	return nil
}
