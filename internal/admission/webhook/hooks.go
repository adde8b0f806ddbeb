// Package webhook runs admission webhooks: MutatingWebhookConfigurations
// and ValidatingWebhookConfigurations (admissionregistration.k8s.io/v1),
// as kube-apiserver's MutatingAdmissionWebhook and
// ValidatingAdmissionWebhook plugins do.
//
// The configurations are compiled into hooks whenever they change (their
// informer says so), and published behind an atomic pointer: a request
// reads one set without locks. Which hooks may match a resource is worked
// out once per resource and set, so a request that no webhook names pays
// one map lookup.
package webhook

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"kapi/internal/admission"
	"kapi/internal/admission/match"
	"kapi/internal/registry"
)

// hook is one webhook of a configuration, compiled.
type hook struct {
	name   string // the webhook's name
	config string // its configuration's name
	// uid identifies the hook across reinvocations: configuration and
	// index.
	uid        string
	mutating   bool
	rules      []admissionregistrationv1.RuleWithOperations
	equivalent bool // matchPolicy Equivalent
	nsSel      labels.Selector
	objSel     labels.Selector
	failOpen   bool
	// dryRunOK: sideEffects None or NoneOnDryRun.
	dryRunOK bool
	timeout  time.Duration
	reinvoke bool
	// v1beta1: admissionReviewVersions names v1beta1 before v1 (or only
	// it).
	v1beta1 bool
	client  *client
	// matcher evaluates matchConditions; nil without any.
	matcher matchconditions.Matcher
	// broken is why the hook could not be compiled (a bad selector): a
	// request it would see fails as a call to it fails.
	broken error
}

// Deps are what the webhooks read besides their configurations.
type Deps struct {
	// Catalogue finds a resource's other versions (matchPolicy
	// Equivalent).
	Catalogue *registry.Catalogue
	// Namespace reads a namespace, for namespaceSelector.
	Namespace match.NamespaceGetter
	// Authorizer answers the `authorizer` of matchConditions.
	Authorizer authorizer.UnconditionalAuthorizer
	// Resolve finds where a Service's port is served (host:port).
	Resolve func(ctx context.Context, namespace, name string, port int32) (string, error)
	// Auth is how kapi authenticates to a webhook at hostPort (a URL's),
	// or of a Service: client certificates and bearer tokens of the
	// AdmissionConfiguration's kubeconfig. nil, or a nil answer: none.
	Auth func(hostPort, svcName, svcNamespace string, svcPort int) (*rest.Config, error)
	// SeeVirtualResources: the hooks see writes of the virtual resources
	// (access and token reviews) too, as kube's with its
	// ExcludeAdmissionWebhookVirtualResources gate off.
	SeeVirtualResources bool
}

// set is the hooks of one version of the configurations.
type set struct {
	hooks []*hook
	// byResource caches, per resource and subresource, the hooks that
	// may match it (*[]candidate).
	byResource sync.Map
}

// candidate is a hook that may match a resource, and the row it sees the
// request as: the resource's own, or an equivalent one (another version
// of the same resource) under matchPolicy Equivalent.
type candidate struct {
	h  *hook
	as *registry.Resource
}

type resourceKey struct {
	gvr schema.GroupVersionResource
	sub string
}

// hooks is the current set of one kind of webhooks, rebuilt from the
// configurations when they change.
type hooks struct {
	mutating bool
	deps     Deps
	current  atomic.Pointer[set]
	// static are the hooks of the static manifests (LoadStatic).
	static  atomic.Pointer[set]
	clients *clients
}

func newHooks(mutating bool, deps Deps) *hooks {
	h := &hooks{mutating: mutating, deps: deps, clients: newClients(deps.Resolve, deps.Auth)}
	h.current.Store(&set{})
	h.static.Store(&set{})
	return h
}

// Load compiles configs (MutatingWebhookConfigurations or
// ValidatingWebhookConfigurations) and publishes them.
func (h *hooks) Load(configs []runtime.Object) {
	var out []*hook
	for _, obj := range match.SortedByName(configs) {
		out = append(out, h.compile(obj)...)
	}
	h.current.Store(&set{hooks: out})
	h.keepClients()
}

// spec is what mutating and validating webhooks share.
type spec struct {
	name                    string
	clientConfig            admissionregistrationv1.WebhookClientConfig
	rules                   []admissionregistrationv1.RuleWithOperations
	failurePolicy           *admissionregistrationv1.FailurePolicyType
	matchPolicy             *admissionregistrationv1.MatchPolicyType
	namespaceSelector       *metav1.LabelSelector
	objectSelector          *metav1.LabelSelector
	sideEffects             *admissionregistrationv1.SideEffectClass
	timeoutSeconds          *int32
	admissionReviewVersions []string
	matchConditions         []admissionregistrationv1.MatchCondition
	reinvocation            *admissionregistrationv1.ReinvocationPolicyType
}

func (h *hooks) compile(obj runtime.Object) []*hook {
	config, specs, ok := specsOf(obj)
	if !ok {
		klog.Errorf("webhook configuration of unexpected type %T", obj)
		return nil
	}
	out := make([]*hook, 0, len(specs))
	for i, s := range specs {
		out = append(out, h.compileOne(config, i, s))
	}
	return out
}

// specsOf are the webhooks of a configuration, and its name; ok is false
// for an object of another type.
func specsOf(obj runtime.Object) (config string, specs []spec, ok bool) {
	switch c := obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for _, w := range c.Webhooks {
			specs = append(specs, spec{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy, w.NamespaceSelector,
				w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions, w.ReinvocationPolicy})
		}
		return c.Name, specs, true
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for _, w := range c.Webhooks {
			specs = append(specs, spec{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy, w.NamespaceSelector,
				w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions, nil})
		}
		return c.Name, specs, true
	}
	return "", nil, false
}

func (h *hooks) compileOne(config string, i int, s spec) *hook {
	k := &hook{
		name: s.name, config: config, uid: fmt.Sprintf("%s/%d", config, i), mutating: h.mutating, rules: s.rules,
		equivalent: s.matchPolicy == nil || *s.matchPolicy == admissionregistrationv1.Equivalent,
		failOpen:   s.failurePolicy != nil && *s.failurePolicy == admissionregistrationv1.Ignore,
		dryRunOK: s.sideEffects != nil && (*s.sideEffects == admissionregistrationv1.SideEffectClassNone ||
			*s.sideEffects == admissionregistrationv1.SideEffectClassNoneOnDryRun),
		timeout:  10 * time.Second,
		reinvoke: s.reinvocation != nil && *s.reinvocation == admissionregistrationv1.IfNeededReinvocationPolicy,
		v1beta1:  reviewVersion(s.admissionReviewVersions) == "v1beta1",
	}
	if s.timeoutSeconds != nil {
		k.timeout = time.Duration(*s.timeoutSeconds) * time.Second
	}
	var err error
	if k.nsSel, err = match.Selector(s.namespaceSelector); err != nil {
		k.broken = fmt.Errorf("invalid namespaceSelector: %w", err)
	}
	if k.objSel, err = match.Selector(s.objectSelector); err != nil {
		k.broken = fmt.Errorf("invalid objectSelector: %w", err)
	}
	if k.client, err = h.clients.get(s.clientConfig); err != nil {
		k.broken = err
	}
	if len(s.matchConditions) > 0 {
		k.matcher = compileConditions(s.matchConditions, s.failurePolicy, h.mutating, s.name)
	}
	return k
}

// reviewVersion is the first AdmissionReview version of versions kapi
// speaks (kube-apiserver's choice); v1 when none is given.
func reviewVersion(versions []string) string {
	for _, v := range versions {
		if v == "v1" || v == "v1beta1" {
			return v
		}
	}
	return "v1"
}

// candidates are the hooks of s whose rules name the resource of a (any
// operation, any scope), with the row each sees it as.
func (h *hooks) candidates(s *set, res *registry.Resource, sub string) []candidate {
	if len(s.hooks) == 0 {
		return nil
	}
	key := resourceKey{res.GVR(), sub}
	if c, ok := s.byResource.Load(key); ok {
		return *c.(*[]candidate)
	}
	var out []candidate
	var others []*registry.Resource // the resource's other versions, found once
	for _, k := range s.hooks {
		if k.namesResource(res.GVR(), sub) {
			out = append(out, candidate{k, res})
			continue
		}
		if !k.equivalent {
			continue
		}
		if others == nil {
			others = match.OtherVersions(h.deps.Catalogue, res)
		}
		for _, o := range others {
			if k.namesResource(o.GVR(), sub) {
				out = append(out, candidate{k, o})
				break
			}
		}
	}
	s.byResource.Store(key, &out)
	return out
}

// namesResource reports whether a rule of the hook names gvr and sub.
func (k *hook) namesResource(gvr schema.GroupVersionResource, sub string) bool {
	for _, r := range k.rules {
		if match.NamesResource(r.Rule, gvr, sub) {
			return true
		}
	}
	return false
}

// takes reports whether a rule of the hook takes op on gvr and sub in the
// resource's scope.
func (k *hook) takes(gvr schema.GroupVersionResource, sub string, op admission.Operation, namespaced bool) bool {
	for _, r := range k.rules {
		if match.Takes(r, gvr, sub, op, namespaced) {
			return true
		}
	}
	return false
}
