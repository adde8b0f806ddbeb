package registry

import (
	"context"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

type metaObject = metav1.Object

// Subresource is an entry below the objects of a row: status, scale,
// finalize, or an action such as serviceaccounts/token. What it reads and
// writes is part of the entry, so that neither the store nor the handlers
// switch on its name:
//
//   - a read (GET) answers View of the stored object;
//   - a write (PUT, PATCH) starts from View of the stored object, and
//     stores Write of what the request made of it;
//   - an action (POST) answers Action, and stores nothing;
//   - a connection (proxy, log, exec, attach, portforward: any method)
//     is handed to the http.Handler Connect returns, which streams to
//     where the object is served (a pod's kubelet, a service's endpoint),
//     as kube-apiserver's rest.Connecter.
type Subresource struct {
	Name string
	// Kind is what the subresource reads and writes when it is not the
	// row's own kind (autoscaling/v1 Scale, authentication.k8s.io/v1
	// TokenRequest); New makes an empty one.
	Kind schema.GroupVersionKind
	New  func() runtime.Object
	// Verbs as discovery lists them: get, update, patch; create for an
	// action.
	Verbs []string

	// View is what the subresource shows of an object; nil: the object.
	View func(r *Resource, obj runtime.Object) (runtime.Object, error)
	// Write computes the object to store from the stored one (old, not
	// to be changed) and what the request made of its view (in, the
	// caller's); nil: the subresource cannot be written.
	Write func(r *Resource, in, old runtime.Object) (runtime.Object, error)
	// Action answers a POST to the subresource of the object ns/name,
	// with the request's options (dryRun). The body has passed mutating
	// admission; Action runs validating admission (validate) once its own
	// checks pass, as kube's subresource storages call createValidation.
	// A *metav1.Status answer is sent with its code (201 when it has
	// none), as kube-apiserver sends an eviction's.
	Action func(ctx context.Context, ns, name string, body runtime.Object, opts *metav1.CreateOptions, validate ValidateFunc) (runtime.Object, error)
	// Connect answers every method on the subresource of the object
	// ns/name: the handler it returns serves the request. rest is the
	// request's path below the subresource, still escaped as the client
	// sent it ("" or "/a/b%2Fc/"); name is the path's segment as sent
	// ("https:web:8443" for a proxy). Connect errors before anything is
	// written (not found, no host) are the client's Status.
	Connect func(ctx context.Context, ns, name, rest string) (http.Handler, error)
	// PrepareForUpdate adjusts the result of a write through the
	// subresource in place of the row's Hooks.PrepareForUpdate (a
	// namespace's finalize writes the finalizers a main update keeps);
	// nil: the row's.
	PrepareForUpdate func(obj, old runtime.Object)
	// Validate checks the result of a write through the subresource in
	// place of the row's Hooks.Validate (a custom resource's status is
	// validated against the status schema alone); nil: the row's.
	Validate func(obj, old runtime.Object) field.ErrorList
	// Authorize checks, once the write is valid, what only some users may
	// do through the subresource, the user being request.UserFrom(ctx):
	// kube's status strategies that ask the authorizer (a pod certificate
	// request's status changes only by who may sign for its signer). Its
	// errors are the write's 422, as kube's strategy gives them.
	Authorize func(ctx context.Context, obj, old runtime.Object) field.ErrorList

	// TrackFields: writes record managed fields under the subresource's
	// name, as the status subresource's do.
	TrackFields bool
	// ChangesSpec: a write may change the spec, which counts a
	// generation (scale); otherwise metadata.generation stays.
	ChangesSpec bool
	// NoWarnings: a write gives none of the row's warnings even when it
	// changes the spec (kube's pod resize strategy has none).
	NoWarnings bool
	// Warnings are what a client is told of a valid write through the
	// subresource that does not change the spec, in place of the row's
	// (kube's status strategies' WarningsOnUpdate: a load balancer's
	// non-standard IP).
	Warnings func(obj, old runtime.Object) []string
	// Resets are managed-fields paths a write through the subresource
	// cannot own, because Write resets them ("spec").
	Resets []string
}

var getPatchUpdate = []string{"get", "patch", "update"}

// ViewOf is what sub shows of obj: View's answer, or obj.
func (s *Subresource) ViewOf(r *Resource, obj runtime.Object) (runtime.Object, error) {
	if s.View == nil {
		return obj, nil
	}
	return s.View(r, obj)
}

// NewBody is an empty object of what the subresource reads: its Kind, or
// the row's.
func (s *Subresource) NewBody(r *Resource) runtime.Object {
	if s.New != nil {
		obj := s.New()
		obj.GetObjectKind().SetGroupVersionKind(s.Kind)
		return obj
	}
	return r.Type.New()
}

// BodyKind is the kind the subresource reads.
func (s *Subresource) BodyKind(r *Resource) schema.GroupVersionKind {
	if !s.Kind.Empty() {
		return s.Kind
	}
	return r.GVK()
}

// StatusSubresource is the status of the objects, written apart from the
// rest: a write stores the status it sends with the stored spec (the
// row's Type.Status says how), and with the stored values of the
// metadata fields resets names ("metadata.labels" for the apps
// workloads, "metadata.ownerReferences" for pods), as kube-apiserver's
// status strategy for the kind.
func StatusSubresource(resets ...string) *Subresource {
	for _, p := range resets {
		if metadataResets[p] == nil {
			panic(fmt.Sprintf("status subresource: cannot reset %s", p))
		}
	}
	return &Subresource{
		Name: "status", Verbs: getPatchUpdate, TrackFields: true, Resets: resets,
		Write: func(r *Resource, in, old runtime.Object) (runtime.Object, error) {
			out := r.Type.Status.Write(in, old)
			m, o := mustAccessor(out), mustAccessor(old)
			for _, p := range resets {
				metadataResets[p](m, o)
			}
			return out, nil
		},
	}
}

// ValidatedStatus is StatusSubresource(resets...) whose writes validate
// checks in place of the row's Validate: the kind's status strategy that
// checks the status alone (kube's Validate<Kind>StatusUpdate), not the
// spec, which a status write keeps.
func ValidatedStatus(validate func(obj, old runtime.Object) field.ErrorList, resets ...string) *Subresource {
	s := StatusSubresource(resets...)
	s.Validate = validate
	return s
}

// Status is the status subresource of most kinds: the spec is reset, the
// metadata written.
var Status = StatusSubresource()

// StatusMetadataResets are the metadata fields kube's
// metav1.ResetObjectMetaForStatus keeps from the stored object, which
// some kinds' status strategies call (APIServices,
// StorageVersionMigrations): StatusSubresource(StatusMetadataResets...).
var StatusMetadataResets = []string{"metadata.labels", "metadata.annotations", "metadata.finalizers", "metadata.ownerReferences"}

// metadataResets copy one metadata field from the stored object.
var metadataResets = map[string]func(m, old metaObject){
	"metadata.labels":          func(m, old metaObject) { m.SetLabels(old.GetLabels()) },
	"metadata.annotations":     func(m, old metaObject) { m.SetAnnotations(old.GetAnnotations()) },
	"metadata.finalizers":      func(m, old metaObject) { m.SetFinalizers(old.GetFinalizers()) },
	"metadata.ownerReferences": func(m, old metaObject) { m.SetOwnerReferences(old.GetOwnerReferences()) },
}

// ActionSubresource answers a POST of a kind's body for an existing
// object (serviceaccounts/token: a TokenRequest).
func ActionSubresource(name string, kind schema.GroupVersionKind, newBody func() runtime.Object,
	do func(ctx context.Context, ns, name string, body runtime.Object, opts *metav1.CreateOptions, validate ValidateFunc) (runtime.Object, error)) *Subresource {
	return &Subresource{Name: name, Kind: kind, New: newBody, Verbs: []string{"create"}, Action: do}
}

// ConnectSubresource answers any method below an object by the handler
// connect returns (pods/proxy, pods/log, pods/exec): kind is what
// discovery names (PodProxyOptions, Pod for a log), verbs what it lists
// ("create", "get" for exec; the five of a proxy).
func ConnectSubresource(name string, kind schema.GroupVersionKind, verbs []string,
	connect func(ctx context.Context, ns, name, rest string) (http.Handler, error)) *Subresource {
	return &Subresource{Name: name, Kind: kind, Verbs: verbs, Connect: connect}
}

// ProxyVerbs are the verbs discovery lists for a proxy subresource, as
// kube-apiserver's.
var ProxyVerbs = []string{"create", "delete", "get", "patch", "update"}
