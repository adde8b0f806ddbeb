package registry

import (
	"context"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource is one row of the catalogue: a group-version-resource as
// discovery shows it, and where and how its objects are stored.
//
// The catalogue is data: adding a built-in resource is adding a row, not
// writing a handler. Behaviour that differs per type (defaulting,
// validation, print columns) hangs off the row as small hooks.
type Resource struct {
	Group, Version, Name string // Name is the plural resource name, e.g. "deployments"
	Kind                 string
	Singular             string // defaults to lower-case Kind
	Namespaced           bool
	ShortNames           []string
	Categories           []string
	// Verbs as discovery lists them; nil means the full set
	// (create delete deletecollection get list patch update watch).
	Verbs []string
	// Subresources are the entries below an object: status, scale, ...
	Subresources []*Subresource
	// Type is how the row's objects are made, encoded and taken apart.
	Type *Type
	// Terminating refuses creates: the resource is going (a custom
	// resource whose CRD is being deleted), its objects being removed.
	Terminating bool
	// Revision names what the row was made from, for what is built from
	// rows and kept while they do not change (OpenAPI documents): a
	// custom resource's rows carry their CRD's. Built-in rows, which do
	// not change while kapi runs, have none.
	Revision string

	// KeyPrefix is the path below the storage prefix (/registry), as
	// kube-apiserver lays it out: "deployments", "services/specs",
	// "apiextensions.k8s.io/customresourcedefinitions". Empty means Name.
	KeyPrefix string
	// StorageVersion is the version objects are stored in when it differs
	// from Version; Convert translates between the two.
	StorageVersion string
	// StorageGroup is the group objects are stored in when it differs from
	// Group, for a resource that shares the storage of another group's:
	// events.k8s.io/v1 Events are kept as core/v1 Events under "events", as
	// kube-apiserver keeps them. The core group, whose name is empty, is
	// written CoreGroup. Convert translates between the two.
	StorageGroup string
	Convert      *Conversion

	// Columns and Row produce the Table that kubectl prints; nil means
	// kube-apiserver's default for types without a printer, NAME and
	// CREATED AT.
	Table *TableDef

	// Generation: metadata.generation starts at 1 and grows with every
	// change outside metadata and status, as for kube-apiserver's
	// workloads.
	Generation bool
	// Names says how object names are validated; nil is a DNS subdomain.
	Names NameRule
	// AnyFinalizers lets the kind's finalizers be any qualified name, as
	// kube's generic metadata validation does (custom resources, CRDs,
	// APIServices, admission configuration, leases, budgets, runtime
	// classes, core events). Without it, as in kube's core metadata
	// validation, a finalizer without a '/' must be one of kube's own.
	AnyFinalizers bool
	// ReturnDeletedObject: a delete answers with the object rather than a
	// Status, as kube-apiserver does for pods, namespaces and some others.
	ReturnDeletedObject bool
	// AllowCreateOnUpdate: a PUT of a missing object creates it.
	AllowCreateOnUpdate bool
	// KeepStatusOnCreate: a create keeps the status it is given (nodes).
	KeepStatusOnCreate bool
	// Fields adds the type's own selectable fields (status.phase, ...) to
	// metadata.name and metadata.namespace. A row with Fields converts
	// field labels of its own, as a kind with kube's
	// AddFieldLabelConversionFunc (and every custom resource): any other
	// label is "field label not supported: x". A row without takes kube's
	// default conversion: metadata.name and metadata.namespace (on a
	// cluster-scoped kind too, where it is empty), and answers any other
	// label with `"x" is not a known field selector: ...`.
	Fields func(obj runtime.Object) map[string]string
	// FieldAliases are field labels a selector may use for another
	// (a pod's "spec.host", for spec.nodeName).
	FieldAliases map[string]string
	// Hooks are the type's defaulting and validation.
	Hooks *Hooks
	// Deprecation is the warning kube-apiserver sends with every request
	// to a deprecated resource ("v1 Endpoints is deprecated in v1.33+;
	// use discovery.k8s.io/v1 EndpointSlice").
	Deprecation string
	// GracePeriod decides how long a deleted object stays, marked with a
	// deletionTimestamp, before it goes (kube-apiserver's
	// CheckGracefulDelete, for pods): the seconds, or 0 to delete it at
	// once. It may read but must not change obj. nil: always at once.
	GracePeriod func(obj runtime.Object, opts *metav1.DeleteOptions) int64
	// GarbageCollection is what a delete that names no propagation
	// policy, on an object with no garbage collector's finalizer, does
	// with the object's dependents (kube's DefaultGarbageCollectionPolicy):
	// the zero value has the collector delete them in the background.
	GarbageCollection GCPolicy
	// OrphanWarning is the warning a delete or deletecollection that names
	// no propagation policy gets where GarbageCollection orphans (Jobs').
	OrphanWarning string

	// Compute answers the creates of a resource that is never stored
	// (access reviews, TokenReview, the legacy bindings): the decoded
	// request in (its namespace set from the URL for namespaced rows),
	// with the request's options (dryRun), the answer out: an object of
	// the row's kind, or a Status (sent with its code, 201 without one).
	// The context carries the request's user (request.UserFrom). Mutating
	// admission has run on obj; Compute calls validate (validating
	// admission) once its own checks pass and before it answers, as kube's
	// computed resources call their createValidation. Such a resource has
	// no table: asked for one, it answers 406.
	Compute func(ctx context.Context, obj runtime.Object, opts *metav1.CreateOptions, validate ValidateFunc) (runtime.Object, error)
}

// GCPolicy is a kind's default garbage collection policy (kube's
// rest.GarbageCollectionPolicy).
type GCPolicy int

const (
	// GCBackground: the dependents are deleted after the owner is gone.
	GCBackground GCPolicy = iota
	// GCOrphan: the owner waits with the "orphan" finalizer until the
	// collector has removed it from its dependents' owner references (a
	// v1 ReplicationController's and batch/v1 Job's default, kept for
	// clients older than the collector).
	GCOrphan
	// GCUnsupported: a delete never sets or keeps the collector's
	// finalizers (events).
	GCUnsupported
)

// ValidateFunc is validating admission of a request's object that is
// never stored (kube's rest.ValidateObjectFunc, createValidation).
type ValidateFunc func(ctx context.Context, obj runtime.Object) error

// Check runs v on obj; a nil v admits everything (a caller with no
// request, as a unit test).
func (v ValidateFunc) Check(ctx context.Context, obj runtime.Object) error {
	if v == nil {
		return nil
	}
	return v(ctx, obj)
}

// Hooks are per-type steps of a write, after the generic ones.
type Hooks struct {
	// Default is the kind's defaulting, kube's SetObjectDefaults_<Kind>:
	// what kube's decoders apply to every object they decode, from a
	// request's body or a webhook's patch as from etcd. It fills only
	// what is empty, so that a second run changes nothing, and does
	// nothing that depends on the request or the stored object (that is
	// PrepareForCreate's and PrepareForUpdate's, which run after it).
	// Objects read back from storage get it too (Resource.Defaulter): an
	// object stored before a default existed is served with it, as kube
	// serves it, so that a write sending it back unchanged changes
	// nothing, and the templates of two objects stored alike stay alike.
	Default func(obj runtime.Object)
	// PrepareForCreate resets fields of a new object, after Default.
	PrepareForCreate func(obj runtime.Object)
	// PrepareForCreateBy is PrepareForCreate for what depends on the
	// request: ctx carries its user (request.UserFrom), which a
	// CertificateSigningRequest records as its requestor.
	PrepareForCreateBy func(ctx context.Context, obj runtime.Object)
	// PrepareForUpdate adjusts the new object given the stored one,
	// after Default.
	PrepareForUpdate func(obj, old runtime.Object)
	// Validate checks a new object (create) or the result of an update
	// (old is then the stored object).
	Validate func(obj, old runtime.Object) field.ErrorList
	// Authorize checks, once a write of the object itself is valid,
	// what depends on who asks or on other objects: kube's strategies
	// that ask the authorizer or read another object (a ResourceClaim
	// asking for admin access needs its namespace's label). ctx carries
	// the request's user and info. Its errors are the write's 422, as
	// kube's strategy gives them. Subresource.Authorize is the same for
	// writes through a subresource.
	Authorize func(ctx context.Context, obj, old runtime.Object) field.ErrorList
	// Warnings are what a client is told of a valid new object (create)
	// or update result (old is then the stored object): deprecated fields
	// and likely mistakes that validation lets through, as kube-apiserver's
	// WarningsOnCreate and WarningsOnUpdate. They go into the answer's
	// Warning headers. Writes through a subresource give only the
	// subresource's own (Subresource.Warnings), but for scale, which
	// writes the object itself (kube's scale updates with the object's
	// own strategy).
	Warnings func(obj, old runtime.Object) []string
	// PrepareForDelete marks an object whose deletion has begun
	// (a namespace's phase becomes Terminating).
	PrepareForDelete func(obj runtime.Object)
	// Retain keeps an object being deleted while the type's own
	// finalizers remain (a namespace's spec.finalizers).
	Retain func(obj runtime.Object) bool

	// Allocate reserves what an object holds outside itself (a Service's
	// cluster IP and node ports), after validation and before the create
	// or update is written, and may fill obj in; old is nil on a create.
	// undo gives the reservation back when the write then fails. With
	// dryRun it checks and reserves nothing. It runs on writes of the
	// object itself, not of its subresources.
	Allocate func(ctx context.Context, obj, old runtime.Object, dryRun bool) (undo func(), err error)
	// Release gives back, after a write succeeded, what old held and obj
	// no longer does; obj is nil when old was deleted.
	Release func(ctx context.Context, obj, old runtime.Object)
}

// PrepareCreate is what a create runs of h on a new object: Default,
// then PrepareForCreate (h may be nil).
func (h *Hooks) PrepareCreate(obj runtime.Object) {
	h.defaults(obj)
	if h != nil && h.PrepareForCreate != nil {
		h.PrepareForCreate(obj)
	}
}

// PrepareUpdate is what an update of the object itself runs of h: Default,
// then PrepareForUpdate (h may be nil).
func (h *Hooks) PrepareUpdate(obj, old runtime.Object) {
	h.defaults(obj)
	if h != nil && h.PrepareForUpdate != nil {
		h.PrepareForUpdate(obj, old)
	}
}

// defaults runs h's Default on obj, if it has one (h may be nil).
func (h *Hooks) defaults(obj runtime.Object) {
	if h != nil && h.Default != nil {
		h.Default(obj)
	}
}

// Conversion translates objects of a served version to and from the stored
// version, for resources that two group versions share.
type Conversion struct {
	ToStorage   func(served runtime.Object) (runtime.Object, error)
	FromStorage func(stored runtime.Object) (runtime.Object, error)
	// FromStorageAll, when set, is FromStorage of a list's objects at
	// once, each of them (a CRD's conversion webhook gets one review for a
	// list, as kube-apiserver sends it).
	FromStorageAll func(stored []runtime.Object) ([]runtime.Object, error)
}

// Defaulter is what finishes the row's objects read from storage (an
// etcd codec's Decoded): the row's Default, for a row served in the kind
// it stores; nil when there is nothing to do. A row that shares another's
// storage (events.k8s.io's Events, kept as core Events) leaves it to the
// row that serves the stored kind.
func (r *Resource) Defaulter() func(runtime.Object) error {
	if r.Hooks == nil || r.Hooks.Default == nil || r.GVK() != r.StorageGVK() {
		return nil
	}
	def := r.Hooks.Default
	return func(obj runtime.Object) error { def(obj); return nil }
}

// GVR is the served group-version-resource.
func (r *Resource) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Name}
}

// GVK is the served group-version-kind.
func (r *Resource) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// CoreGroup names the core (legacy) group in StorageGroup, where an empty
// string already means "the row's own group".
const CoreGroup = "core"

// StorageGVK is the kind as it is stored in etcd: the served kind, in
// StorageGroup and StorageVersion where the row sets them.
func (r *Resource) StorageGVK() schema.GroupVersionKind {
	gvk := r.GVK()
	switch r.StorageGroup {
	case "":
	case CoreGroup:
		gvk.Group = ""
	default:
		gvk.Group = r.StorageGroup
	}
	if r.StorageVersion != "" {
		gvk.Version = r.StorageVersion
	}
	return gvk
}

// Sub returns the subresource named name, or nil.
func (r *Resource) Sub(name string) *Subresource {
	for _, s := range r.Subresources {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// HasStatus reports a status subresource: the status of the objects is
// written through it, not with the rest.
func (r *Resource) HasStatus() bool { return r.Sub("status") != nil }

// HasTable reports whether the resource can be printed as a Table: every
// stored resource can; a computed one (an access review) cannot.
func (r *Resource) HasTable() bool { return r.Compute == nil }

// WithHooks returns a copy of r with hooks h: for a row whose hooks need
// what exists only once the server runs (a Service's allocators), made
// before the row is published.
func (r *Resource) WithHooks(h *Hooks) *Resource {
	c := *r
	c.Hooks = h
	return &c
}

// WithSubresource returns a copy of r with one more subresource, or s in
// place of the one of its name, made before the row is published
// (serviceaccounts/token, which needs the token signer; a pod certificate
// request's status, which needs the authorizer).
func (r *Resource) WithSubresource(s *Subresource) *Resource {
	c := *r
	c.Subresources = slices.DeleteFunc(slices.Clone(r.Subresources), func(o *Subresource) bool { return o.Name == s.Name })
	c.Subresources = append(c.Subresources, s)
	return &c
}

// AllVerbs is what a resource supports unless its row says otherwise.
var AllVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// VerbList returns the verbs discovery shows.
func (r *Resource) VerbList() []string {
	if r.Verbs == nil {
		return AllVerbs
	}
	return r.Verbs
}

// Supports reports whether verb is allowed on the resource.
func (r *Resource) Supports(verb string) bool {
	for _, v := range r.VerbList() {
		if v == verb {
			return true
		}
	}
	return false
}

// Key is the prefix under which the resource's objects are stored, without
// the etcd prefix, e.g. "services/specs".
func (r *Resource) Key() string {
	if r.KeyPrefix != "" {
		return r.KeyPrefix
	}
	return r.Name
}

// SingularName is the singular form discovery shows.
func (r *Resource) SingularName() string {
	if r.Singular != "" {
		return r.Singular
	}
	return lower(r.Kind)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
