package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"

	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// kube-apiserver's admission plugins that are off unless
// --enable-admission-plugins names them, written from kube 1.37's
// plugin/pkg/admission: their checks, mutations and messages.

// AlwaysAdmit admits everything (kube's, deprecated: it warns).
type AlwaysAdmit struct{}

// NewAlwaysAdmit warns as kube's does.
func NewAlwaysAdmit() AlwaysAdmit {
	klog.Warning("AlwaysAdmit admission controller is deprecated. Please remove this controller from your configuration files and scripts.")
	return AlwaysAdmit{}
}

// Admit implements Mutator.
func (AlwaysAdmit) Admit(context.Context, *Attributes) error { return nil }

// Validate implements Validator.
func (AlwaysAdmit) Validate(context.Context, *Attributes) error { return nil }

// HandlesConnect: kube's handles every operation.
func (AlwaysAdmit) HandlesConnect() bool { return true }

// AlwaysDeny refuses every write and connection (kube's, deprecated: it
// warns).
type AlwaysDeny struct{}

// NewAlwaysDeny warns as kube's does.
func NewAlwaysDeny() AlwaysDeny {
	klog.Warning("AlwaysDeny admission controller is deprecated. Please remove this controller from your configuration files and scripts.")
	return AlwaysDeny{}
}

var errAlwaysDeny = errors.New("admission control is denying all modifications")

// Admit implements Mutator.
func (AlwaysDeny) Admit(_ context.Context, a *Attributes) error { return Forbidden(a, errAlwaysDeny) }

// Validate implements Validator.
func (AlwaysDeny) Validate(_ context.Context, a *Attributes) error {
	return Forbidden(a, errAlwaysDeny)
}

// HandlesConnect: kube's handles every operation.
func (AlwaysDeny) HandlesConnect() bool { return true }

// AlwaysPullImages makes every container of a pod pull its image
// (imagePullPolicy Always), so that a pod cannot use an image another
// pod's credentials pulled onto the node; validation refuses a pod whose
// policy something else changed back. An update that adds no image is
// left alone, as in kube, as are subresources but ephemeralcontainers.
type AlwaysPullImages struct{}

// Admit sets the policies.
func (AlwaysPullImages) Admit(_ context.Context, a *Attributes) error {
	pod, err := alwaysPullImagesPod(a)
	if pod == nil || err != nil {
		return err
	}
	core.VisitContainers(&pod.Spec, specPath, func(c *corev1.Container, _ *field.Path) { c.ImagePullPolicy = corev1.PullAlways })
	return nil
}

// Validate refuses a container that does not pull always.
func (AlwaysPullImages) Validate(_ context.Context, a *Attributes) error {
	pod, err := alwaysPullImagesPod(a)
	if pod == nil || err != nil {
		return err
	}
	var errs []error
	core.VisitContainers(&pod.Spec, specPath, func(c *corev1.Container, p *field.Path) {
		if c.ImagePullPolicy != corev1.PullAlways {
			errs = append(errs, Forbidden(a, field.NotSupported(p.Child("imagePullPolicy"), c.ImagePullPolicy, []string{string(corev1.PullAlways)})))
		}
	})
	if agg := utilerrors.NewAggregate(errs); agg != nil {
		return plainError(agg)
	}
	return nil
}

// plainError is how kube answers an error a plugin returns that is not a
// Status (its aggregate of refusals, a fmt error): an unknown 500 with the
// error's message.
func plainError(err error) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 500, Reason: metav1.StatusReasonUnknown, Message: err.Error()}}
}

var specPath = field.NewPath("spec")

// alwaysPullImagesPod is the pod AlwaysPullImages looks at, nil when it
// ignores the write: not a pod (or its ephemeralcontainers), or an update
// with no image the stored pod lacks.
func alwaysPullImagesPod(a *Attributes) (*corev1.Pod, error) {
	if !is(a, "", "pods") || (a.Subresource != "" && a.Subresource != "ephemeralcontainers") || (a.Operation != Create && a.Operation != Update) {
		return nil, nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil, apierrors.NewBadRequest("Resource was marked with kind Pod but was unable to be converted")
	}
	if old, ok := a.OldObject.(*corev1.Pod); ok && a.Operation == Update {
		var images []string
		core.VisitContainers(&old.Spec, specPath, func(c *corev1.Container, _ *field.Path) { images = append(images, c.Image) })
		added := false
		core.VisitContainers(&pod.Spec, specPath, func(c *corev1.Container, _ *field.Path) { added = added || !slices.Contains(images, c.Image) })
		if !added {
			return nil, nil
		}
	}
	return pod, nil
}

// DenyServiceExternalIPs refuses a Service that adds an external IP:
// created with one, or updated with one it did not have.
type DenyServiceExternalIPs struct{}

// Validate implements Validator.
func (DenyServiceExternalIPs) Validate(_ context.Context, a *Attributes) error {
	if !is(a, "", "services") || a.Subresource != "" || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	svc, ok := a.Object.(*corev1.Service)
	if !ok || len(svc.Spec.ExternalIPs) == 0 {
		return nil
	}
	if old, ok := a.OldObject.(*corev1.Service); ok {
		if !slices.ContainsFunc(svc.Spec.ExternalIPs, func(ip string) bool { return !slices.Contains(old.Spec.ExternalIPs, ip) }) {
			return nil
		}
	}
	klog.V(4).InfoS("Denying new use of ExternalIPs on Service", "service", klog.KObj(svc))
	return Forbidden(a, errors.New("Use of external IPs is denied by admission control"))
}

// LimitPodHardAntiAffinityTopology refuses a pod whose required
// anti-affinity spreads over anything but hosts.
type LimitPodHardAntiAffinityTopology struct{}

// Validate implements Validator.
func (LimitPodHardAntiAffinityTopology) Validate(_ context.Context, a *Attributes) error {
	pod := writtenPod(a)
	if pod == nil {
		return nil
	}
	if aff := pod.Spec.Affinity; aff != nil && aff.PodAntiAffinity != nil {
		for _, term := range aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			if term.TopologyKey != corev1.LabelHostname {
				return apierrors.NewForbidden(a.Resource.GVR().GroupResource(), pod.Name,
					fmt.Errorf("affinity.PodAntiAffinity.RequiredDuringScheduling has TopologyKey %v but only key %v is allowed", term.TopologyKey, corev1.LabelHostname))
			}
		}
	}
	return nil
}

// ExtendedResourceToleration gives a pod that requests an extended
// resource (a device plugin's, say nvidia.com/gpu) a toleration of the
// NoSchedule taint of that name, which nodes with such devices carry.
type ExtendedResourceToleration struct{}

// Admit implements Mutator.
func (ExtendedResourceToleration) Admit(_ context.Context, a *Attributes) error {
	pod := writtenPod(a)
	if pod == nil {
		return nil
	}
	var names []string
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			for name := range c.Resources.Requests {
				if core.ExtendedResourceName(string(name)) && !slices.Contains(names, string(name)) {
					names = append(names, string(name))
				}
			}
		}
	}
	slices.Sort(names)
	for _, name := range names {
		addOrUpdateToleration(pod, corev1.Toleration{Key: name, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	}
	return nil
}

// addOrUpdateToleration is kube's AddOrUpdateTolerationInPod: t replaces
// a toleration of the same key, operator, value and effect, or is added.
func addOrUpdateToleration(pod *corev1.Pod, t corev1.Toleration) {
	for i := range pod.Spec.Tolerations {
		if t.MatchToleration(&pod.Spec.Tolerations[i]) {
			if !apiequality.Semantic.DeepEqual(t, pod.Spec.Tolerations[i]) {
				pod.Spec.Tolerations[i] = t
			}
			return
		}
	}
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, t)
}

// NamespaceExists refuses a write into a namespace that does not exist
// with the namespace's 404, as kube's (which NamespaceLifecycle, on by
// default, does for creates too).
type NamespaceExists struct{ Namespaces Objects }

// Validate implements Validator.
func (p NamespaceExists) Validate(ctx context.Context, a *Attributes) error {
	if a.Namespace == "" || is(a, "", "namespaces") || (a.Operation != Create && a.Operation != Update && a.Operation != Delete) {
		return nil
	}
	_, err := getNamespace(ctx, p.Namespaces, a.Namespace)
	return err
}

// namespaceNodeSelector is the namespace annotation PodNodeSelector reads.
const namespaceNodeSelector = "scheduler.alpha.kubernetes.io/node-selector"

// PodNodeSelector gives a pod created in a namespace the node selector of
// the namespace's annotation scheduler.alpha.kubernetes.io/node-selector
// (or, without one, the configuration's clusterDefaultNodeSelector),
// merged into its own, and refuses a pod whose selector conflicts with it,
// or (when the configuration names the namespace) goes beyond the
// namespace's whitelist.
type PodNodeSelector struct {
	Namespaces Objects
	// Selectors are the configuration's podNodeSelectorPluginConfig:
	// clusterDefaultNodeSelector, and a whitelist per namespace.
	Selectors map[string]string
}

// NewPodNodeSelector reads the plugin's configuration (JSON, as kube's
// YAML), which kube reads leniently: what does not parse is no
// configuration.
func NewPodNodeSelector(namespaces Objects, config []byte) *PodNodeSelector {
	var c struct {
		Selectors map[string]string `json:"podNodeSelectorPluginConfig"`
	}
	if len(config) > 0 {
		_ = json.Unmarshal(config, &c)
	}
	return &PodNodeSelector{Namespaces: namespaces, Selectors: c.Selectors}
}

// Admit merges the namespace's selector into the pod's, then checks the
// result as Validate does.
func (p *PodNodeSelector) Admit(ctx context.Context, a *Attributes) error {
	pod := podNodeSelectorPod(a)
	if pod == nil {
		return nil
	}
	ns, err := p.namespaceSelector(ctx, a.Namespace)
	if err != nil {
		return err
	}
	if err := p.conflicts(a, pod, ns); err != nil {
		return err
	}
	pod.Spec.NodeSelector = labels.Merge(ns, pod.Spec.NodeSelector)
	return p.whitelisted(a, pod)
}

// Validate checks the pod's selector against the namespace's and its
// whitelist.
func (p *PodNodeSelector) Validate(ctx context.Context, a *Attributes) error {
	pod := podNodeSelectorPod(a)
	if pod == nil {
		return nil
	}
	ns, err := p.namespaceSelector(ctx, a.Namespace)
	if err != nil {
		return err
	}
	if err := p.conflicts(a, pod, ns); err != nil {
		return err
	}
	return p.whitelisted(a, pod)
}

// conflicts refuses a pod whose selector conflicts with its namespace's.
func (p *PodNodeSelector) conflicts(a *Attributes, pod *corev1.Pod, ns labels.Set) error {
	if labels.Conflicts(ns, labels.Set(pod.Spec.NodeSelector)) {
		return apierrors.NewForbidden(a.Resource.GVR().GroupResource(), pod.Name, errors.New("pod node label selector conflicts with its namespace node label selector"))
	}
	return nil
}

// whitelisted refuses a pod whose selector goes beyond the whitelist the
// configuration gives its namespace.
func (p *PodNodeSelector) whitelisted(a *Attributes, pod *corev1.Pod) error {
	whitelist, err := labels.ConvertSelectorToLabelsMap(p.Selectors[a.Namespace])
	if err != nil {
		return err
	}
	if len(whitelist) > 0 {
		for k, v := range pod.Spec.NodeSelector {
			if w, ok := whitelist[k]; !ok || w != v {
				return apierrors.NewForbidden(a.Resource.GVR().GroupResource(), pod.Name, errors.New("pod node label selector labels conflict with its namespace whitelist"))
			}
		}
	}
	return nil
}

// podNodeSelectorPod is the pod PodNodeSelector looks at: a pod created
// (kube's handles creates only), not a subresource.
func podNodeSelectorPod(a *Attributes) *corev1.Pod {
	if !is(a, "", "pods") || a.Subresource != "" || a.Operation != Create {
		return nil
	}
	pod, _ := a.Object.(*corev1.Pod)
	return pod
}

// getNamespace is kube's plugins' getNamespace: a namespace that is not
// there is its 404, any other failure a 500.
func getNamespace(ctx context.Context, namespaces Objects, name string) (*corev1.Namespace, error) {
	o, err := namespaces.Get(ctx, "", name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, apierrors.NewInternalError(err)
	}
	ns, ok := o.(*corev1.Namespace)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("expected a Namespace, got %T", o))
	}
	return ns, nil
}

// namespaceSelector is kube's getNamespaceNodeSelectorMap: the
// namespace's annotation, or the cluster's default.
func (p *PodNodeSelector) namespaceSelector(ctx context.Context, name string) (labels.Set, error) {
	ns, err := getNamespace(ctx, p.Namespaces, name)
	if err != nil {
		return nil, err
	}
	if s, ok := ns.Annotations[namespaceNodeSelector]; ok {
		return labels.ConvertSelectorToLabelsMap(s)
	}
	return labels.ConvertSelectorToLabelsMap(p.Selectors["clusterDefaultNodeSelector"])
}

// NamespaceAutoProvision creates the namespace a create names when it
// does not exist (not for a dry run), as kube's; Create writes it as the
// API server's own client.
type NamespaceAutoProvision struct {
	Namespaces Objects
	Create     func(ctx context.Context, name string) error
}

// Admit implements Mutator.
func (p NamespaceAutoProvision) Admit(ctx context.Context, a *Attributes) error {
	if a.Operation != Create || a.DryRun || a.Namespace == "" || is(a, "", "namespaces") {
		return nil
	}
	_, err := p.Namespaces.Get(ctx, "", a.Namespace)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return Forbidden(a, err)
	}
	if err := p.Create(ctx, a.Namespace); err != nil && !apierrors.IsAlreadyExists(err) {
		return Forbidden(a, err)
	}
	return nil
}

// The namespace annotations PodTolerationRestriction reads: JSON lists of
// tolerations.
const (
	namespaceDefaultTolerations   = "scheduler.alpha.kubernetes.io/defaultTolerations"
	namespaceTolerationsWhitelist = "scheduler.alpha.kubernetes.io/tolerationsWhitelist"
)

// PodTolerationRestriction merges into a pod created in a namespace the
// namespace's default tolerations (annotation
// scheduler.alpha.kubernetes.io/defaultTolerations, else the
// configuration's default), gives every pod that is not BestEffort a
// toleration of node.kubernetes.io/memory-pressure, and refuses a pod
// with a toleration its namespace's whitelist (annotation
// scheduler.alpha.kubernetes.io/tolerationsWhitelist, else the
// configuration's) does not cover.
type PodTolerationRestriction struct {
	Namespaces         Objects
	Default, Whitelist []corev1.Toleration
}

// NewPodTolerationRestriction reads the plugin's configuration (kind
// Configuration of podtolerationrestriction.admission.k8s.io/v1alpha1, as
// JSON): its default and whitelist.
func NewPodTolerationRestriction(namespaces Objects, config []byte) (*PodTolerationRestriction, error) {
	p := &PodTolerationRestriction{Namespaces: namespaces}
	if len(config) == 0 {
		return p, nil
	}
	var c struct {
		APIVersion string              `json:"apiVersion"`
		Kind       string              `json:"kind"`
		Default    []corev1.Toleration `json:"default"`
		Whitelist  []corev1.Toleration `json:"whitelist"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, err
	}
	if c.Kind != "Configuration" || (c.APIVersion != "podtolerationrestriction.admission.k8s.io/v1alpha1" && c.APIVersion != "podtolerationrestriction.admission.k8s.io/v1") {
		return nil, fmt.Errorf("no kind %q is registered for version %q", c.Kind, c.APIVersion)
	}
	p.Default, p.Whitelist = c.Default, c.Whitelist
	return p, nil
}

// Admit merges the tolerations, then checks them as Validate does.
func (p *PodTolerationRestriction) Admit(ctx context.Context, a *Attributes) error {
	pod := writtenPod(a)
	if pod == nil {
		return nil
	}
	// The namespace is read once, when there is something to read it for.
	var ns *corev1.Namespace
	var extra []corev1.Toleration
	if a.Operation == Create {
		var err error
		if ns, err = getNamespace(ctx, p.Namespaces, a.Namespace); err != nil {
			return err
		}
		ts, err := namespaceTolerations(ns, namespaceDefaultTolerations)
		if err != nil {
			return err
		}
		if ts == nil {
			ts = p.Default
		}
		extra = ts
	}
	if core.PodQOS(pod) != corev1.PodQOSBestEffort {
		extra = append(extra, corev1.Toleration{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	}
	if len(extra) > 0 {
		pod.Spec.Tolerations = mergeTolerations(pod.Spec.Tolerations, extra)
	}
	if len(pod.Spec.Tolerations) == 0 {
		return nil
	}
	if ns == nil {
		var err error
		if ns, err = getNamespace(ctx, p.Namespaces, a.Namespace); err != nil {
			return err
		}
	}
	return p.whitelisted(pod, ns)
}

// Validate checks the pod's tolerations against the whitelist.
func (p *PodTolerationRestriction) Validate(ctx context.Context, a *Attributes) error {
	pod := writtenPod(a)
	if pod == nil || len(pod.Spec.Tolerations) == 0 {
		return nil
	}
	ns, err := getNamespace(ctx, p.Namespaces, a.Namespace)
	if err != nil {
		return err
	}
	return p.whitelisted(pod, ns)
}

// whitelisted refuses a pod with a toleration that the namespace's
// whitelist, else the configuration's, does not cover.
func (p *PodTolerationRestriction) whitelisted(pod *corev1.Pod, ns *corev1.Namespace) error {
	whitelist, err := namespaceTolerations(ns, namespaceTolerationsWhitelist)
	if err != nil {
		return err
	}
	scope := "namespace"
	if whitelist == nil {
		whitelist, scope = p.Whitelist, "cluster"
	}
	if len(whitelist) == 0 {
		return nil
	}
	for _, t := range pod.Spec.Tolerations {
		if !slices.ContainsFunc(whitelist, func(w corev1.Toleration) bool { return tolerationSuperset(w, t) }) {
			return plainError(fmt.Errorf("pod tolerations (possibly merged with namespace default tolerations) conflict with its %s whitelist", scope))
		}
	}
	return nil
}

// writtenPod is the pod of a create or update of a pod itself (not a
// subresource), which most pod plugins look at; nil otherwise.
func writtenPod(a *Attributes) *corev1.Pod {
	if !is(a, "", "pods") || a.Subresource != "" || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	pod, _ := a.Object.(*corev1.Pod)
	return pod
}

// namespaceTolerations is kube's extractNSTolerations: nil when the
// namespace has no such annotation, none when it is empty.
func namespaceTolerations(ns *corev1.Namespace, key string) ([]corev1.Toleration, error) {
	v, ok := ns.Annotations[key]
	if !ok {
		return nil, nil
	}
	ts := []corev1.Toleration{}
	if v == "" {
		return ts, nil
	}
	if err := json.Unmarshal([]byte(v), &ts); err != nil {
		return nil, err
	}
	return ts, nil
}

// OwnerReferencesPermissionEnforcement is kube's garbage collector
// admission: changing an object's owner references needs delete on the
// object (but for a create, which could as well not have been made), and
// a new blocking owner reference (blockOwnerDeletion: true) needs update
// on the owner's finalizers subresource, since it keeps the owner from
// being deleted. pods/status is left alone, as in kube.
type OwnerReferencesPermissionEnforcement struct {
	Authorizer authz.Authorizer
	Catalogue  *registry.Catalogue
}

// Validate implements Validator.
func (p OwnerReferencesPermissionEnforcement) Validate(ctx context.Context, a *Attributes) error {
	if a.Resource == nil || (a.Operation != Create && a.Operation != Update) || (is(a, "", "pods") && a.Subresource == "status") {
		return nil
	}
	newRefs, ok := ownerRefs(a.Object)
	if !ok {
		return nil
	}
	oldRefs, oldOK := ownerRefs(a.OldObject)
	if a.OldObject == nil {
		if len(newRefs) == 0 {
			return nil
		}
	} else if !oldOK || apiequality.Semantic.DeepEqual(oldRefs, newRefs) && len(oldRefs) == len(newRefs) {
		return nil
	}
	if a.Operation != Create {
		d, reason, err := p.Authorizer.Authorize(ctx, authz.Attributes{User: a.User, Verb: "delete", ResourceRequest: true,
			Namespace: a.Namespace, APIGroup: a.Resource.Group, APIVersion: a.Resource.Version, Resource: a.Resource.Name,
			Subresource: a.Subresource, Name: a.Name})
		if d != authz.Allow {
			return Forbidden(a, fmt.Errorf("cannot set an ownerRef on a resource you can't delete: %v, %v", reason, err))
		}
	}
	blocking := newBlockingRefs(newRefs, oldRefs)
	if len(blocking) == 0 {
		return nil
	}
	// One check that the user may finalize anything spares the others.
	if d, _, _ := p.Authorizer.Authorize(ctx, authz.Attributes{User: a.User, Verb: "update", ResourceRequest: true,
		APIGroup: "*", APIVersion: "*", Resource: "*", Subresource: "finalizers", Name: "*"}); d == authz.Allow {
		return nil
	}
	for _, ref := range blocking {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return Forbidden(a, fmt.Errorf("cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion %s Kind %s: %v", ref.APIVersion, ref.Kind, err))
		}
		var owners []*registry.Resource
		for _, st := range p.Catalogue.Snapshot().Stores() {
			if st.R.Group == gv.Group && st.R.Version == gv.Version && st.R.Kind == ref.Kind {
				owners = append(owners, st.R)
			}
		}
		if len(owners) == 0 {
			err := &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, SearchedVersions: []string{gv.Version}}
			return Forbidden(a, fmt.Errorf("cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion %s Kind %s: %v", ref.APIVersion, ref.Kind, err))
		}
		// A kind served by several resources needs all of them.
		for _, r := range owners {
			attrs := authz.Attributes{User: a.User, Verb: "update", ResourceRequest: true, APIGroup: r.Group, APIVersion: r.Version,
				Resource: r.Name, Subresource: "finalizers", Name: ref.Name}
			if r.Namespaced {
				attrs.Namespace = a.Namespace // an owner is in its dependent's namespace
			}
			if d, reason, err := p.Authorizer.Authorize(ctx, attrs); d != authz.Allow {
				return Forbidden(a, fmt.Errorf("cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: %v, %v", reason, err))
			}
		}
	}
	return nil
}

// ownerRefs are o's owner references; false when o has no metadata.
func ownerRefs(o runtime.Object) ([]metav1.OwnerReference, bool) {
	if o == nil {
		return nil, false
	}
	m, err := meta.Accessor(o)
	if err != nil {
		return nil, false
	}
	return m.GetOwnerReferences(), true
}

// newBlockingRefs are kube's newBlockingOwnerDeletionRefs: the blocking
// references that are new, or were not blocking before (by uid).
func newBlockingRefs(refs, old []metav1.OwnerReference) []metav1.OwnerReference {
	var out []metav1.OwnerReference
	for _, ref := range refs {
		if ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			continue
		}
		i := slices.IndexFunc(old, func(o metav1.OwnerReference) bool { return o.UID == ref.UID })
		if i < 0 || old[i].BlockOwnerDeletion == nil || !*old[i].BlockOwnerDeletion {
			out = append(out, ref)
		}
	}
	return out
}
