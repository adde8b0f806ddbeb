// Package admission runs admission on every write, in kube-apiserver's
// two phases: mutating plugins may change the object after it is decoded
// and defaulted; validating plugins may only refuse the final object,
// inside the write, with the stored object beside it.
//
// The registry asks a registry.Admission of each write; a Request (one
// per HTTP request: who asks, what, with which options) answers it from
// a Chain of plugins.
package admission

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"kapi/internal/registry"
	"kapi/internal/request"
	"kapi/internal/storage"
)

// Operation is what a write does.
type Operation string

const (
	Create  Operation = "CREATE"
	Update  Operation = "UPDATE"
	Delete  Operation = "DELETE"
	Connect Operation = "CONNECT"
)

// Attributes describe one write as admission sees it: everything a
// webhook's AdmissionReview and a policy's CEL are given.
type Attributes struct {
	Operation Operation
	// Resource is the row written; Kind the kind of Object (the row's, or
	// the subresource's: autoscaling/v1 Scale).
	Resource    *registry.Resource
	Subresource string
	Kind        schema.GroupVersionKind
	Namespace   string
	Name        string
	// Object is the new object (nil for deletes); OldObject the stored
	// one (nil for creates). A mutating plugin may replace Object.
	Object, OldObject runtime.Object
	// Options are the request's CreateOptions, UpdateOptions or
	// DeleteOptions.
	Options runtime.Object
	DryRun  bool
	User    *request.User
	// UID names the request: the same in every call for one write.
	UID types.UID
	// Charges are what validating plugins charge to other objects (a
	// ResourceQuota's usage): written in the transaction of the write.
	Charges []storage.Charge
	// Reinvocation tracks, in the mutating phase, which reinvocable parts
	// ran and what changed after them.
	Reinvocation *Reinvocation
}

// Reinvocation is kube-apiserver's reinvocation of mutating webhooks and
// policies with reinvocationPolicy IfNeeded: after the first pass of the
// mutating plugins, each such part that ran is called once more if the
// object changed after it ran.
type Reinvocation struct {
	// Round is 0 in the first pass, 1 in the reinvocation.
	Round   int
	changes int
	invoked map[string]int
}

// Changed records a change of the object.
func (r *Reinvocation) Changed() { r.changes++ }

// Invoked records that the reinvocable part key ran (after its own
// change, which does not call it again).
func (r *Reinvocation) Invoked(key string) {
	if r.invoked == nil {
		r.invoked = map[string]int{}
	}
	r.invoked[key] = r.changes
}

// Again reports whether key is to run in the reinvocation: it ran, and
// the object changed after it.
func (r *Reinvocation) Again(key string) bool {
	n, ok := r.invoked[key]
	return ok && n < r.changes
}

func (r *Reinvocation) pending() bool {
	for _, n := range r.invoked {
		if n < r.changes {
			return true
		}
	}
	return false
}

// GVR is the resource written.
func (a *Attributes) GVR() schema.GroupVersionResource { return a.Resource.GVR() }

// Mutator is a plugin of the mutating phase: it may change a.Object.
type Mutator interface {
	Admit(ctx context.Context, a *Attributes) error
}

// Validator is a plugin of the validating phase: it may only refuse.
type Validator interface {
	Validate(ctx context.Context, a *Attributes) error
}

// Chain is the plugins of both phases, each phase in order.
type Chain struct {
	Mutators   []Mutator
	Validators []Validator
}

// Add appends p to the phases it takes part in (a plugin may be a
// Mutator, a Validator or both).
func (c *Chain) Add(p any) {
	if m, ok := p.(Mutator); ok {
		c.Mutators = append(c.Mutators, m)
	}
	if v, ok := p.(Validator); ok {
		c.Validators = append(c.Validators, v)
	}
}

// Reinvoker is a mutating plugin with parts to call again when a later
// plugin changed the object (webhooks and policies with
// reinvocationPolicy IfNeeded).
type Reinvoker interface {
	Reinvoke(ctx context.Context, a *Attributes) error
}

// ConnectHandler is a plugin that takes part in CONNECTs (the requests of
// the connection subresources: pods/exec, pods/attach, pods/portforward
// and the proxies), as kube's plugins whose Handles(Connect) is true: the
// webhooks and the admission policies. The chain calls no other plugin
// for them.
type ConnectHandler interface {
	HandlesConnect() bool
}

func handlesConnect(p any) bool {
	h, ok := p.(ConnectHandler)
	return ok && h.HandlesConnect()
}

// skips reports whether plugin p sits out a: a CONNECT it does not handle.
func skips(p any, a *Attributes) bool { return a.Operation == Connect && !handlesConnect(p) }

// Connect admits a CONNECT whose options (PodExecOptions, PodProxyOptions,
// ...) are a.Object: the mutating phase, then the validating one, as
// kube-apiserver's ConnectResource does before it connects; only the
// plugins that handle CONNECT take part.
func (c *Chain) Connect(ctx context.Context, a *Attributes) error {
	if c == nil {
		return nil
	}
	a.Operation = Connect
	if err := c.Mutate(ctx, a); err != nil {
		return err
	}
	return c.Validate(ctx, a)
}

// Mutate runs the mutating phase; it stops at the first refusal. As in
// kube-apiserver, reinvocable parts of plugins (Reinvokers) that ran
// before the object changed run once more, after the first pass.
func (c *Chain) Mutate(ctx context.Context, a *Attributes) (err error) {
	defer func(start time.Time) { admitStep.observe(a.Operation, start, err) }(time.Now())
	ctx, end := traceStep(ctx, "Mutating admission", a)
	defer func() { end(err) }()
	if a.Reinvocation == nil {
		a.Reinvocation = &Reinvocation{}
	}
	for _, p := range c.Mutators {
		if skips(p, a) {
			continue
		}
		before := a.Object
		if err := p.Admit(ctx, a); err != nil {
			return err
		}
		if _, ok := p.(Reinvoker); !ok && a.Object != before {
			a.Reinvocation.Changed()
		}
	}
	if !a.Reinvocation.pending() {
		return nil
	}
	a.Reinvocation.Round = 1
	for _, p := range c.Mutators {
		if r, ok := p.(Reinvoker); ok && !skips(p, a) {
			if err := r.Reinvoke(ctx, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate runs the validating phase; it stops at the first refusal.
func (c *Chain) Validate(ctx context.Context, a *Attributes) (err error) {
	defer func(start time.Time) { validateStep.observe(a.Operation, start, err) }(time.Now())
	ctx, end := traceStep(ctx, "Validating admission", a)
	defer func() { end(err) }()
	for _, p := range c.Validators {
		if skips(p, a) {
			continue
		}
		if err := p.Validate(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// Request is the admission of one request's writes: the registry.Admission
// the endpoints hand to the store. The operation follows from what the
// store passes (a PUT that creates is a CREATE with CreateOptions, as in
// kube-apiserver).
type Request struct {
	Chain       *Chain
	Resource    *registry.Resource
	Subresource string
	Kind        schema.GroupVersionKind
	Namespace   string
	Name        string
	// Options of the request: CreateOptions, UpdateOptions (a patch's
	// too) or DeleteOptions.
	Options runtime.Object
	DryRun  bool
	User    *request.User
	UID     types.UID
}

var _ registry.Admission = (*Request)(nil)

// Mutate runs the mutating phase on obj.
func (r *Request) Mutate(ctx context.Context, obj, old runtime.Object) (runtime.Object, error) {
	if r.Chain == nil || len(r.Chain.Mutators) == 0 {
		return obj, nil
	}
	a := r.attributes(obj, old)
	if err := r.Chain.Mutate(ctx, a); err != nil {
		return nil, err
	}
	return a.Object, nil
}

// Validate runs the validating phase on the final obj, and answers what
// it charged.
func (r *Request) Validate(ctx context.Context, obj, old runtime.Object) ([]storage.Charge, error) {
	if r.Chain == nil || len(r.Chain.Validators) == 0 {
		return nil, nil
	}
	a := r.attributes(obj, old)
	if err := r.Chain.Validate(ctx, a); err != nil {
		return nil, err
	}
	return a.Charges, nil
}

func (r *Request) attributes(obj, old runtime.Object) *Attributes {
	a := &Attributes{Resource: r.Resource, Subresource: r.Subresource, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
		Object: obj, OldObject: old, Options: r.Options, DryRun: r.DryRun, User: r.User, UID: r.UID}
	switch {
	case obj == nil:
		a.Operation = Delete
	case old == nil:
		a.Operation = Create
		a.Options = createOptions(r.Options)
	default:
		a.Operation = Update
	}
	if a.Name == "" && obj != nil {
		if m, ok := obj.(metav1.Object); ok {
			a.Name = m.GetName()
		}
	}
	return a
}

// createOptions are the options of a create made by an update (PUT of a
// missing object, apply): kube-apiserver gives admission CreateOptions.
func createOptions(opts runtime.Object) runtime.Object {
	u, ok := opts.(*metav1.UpdateOptions)
	if !ok {
		return opts
	}
	c := &metav1.CreateOptions{DryRun: u.DryRun, FieldManager: u.FieldManager, FieldValidation: u.FieldValidation}
	c.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("CreateOptions"))
	return c
}
