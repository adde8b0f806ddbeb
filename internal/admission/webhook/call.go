package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"github.com/google/uuid"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"kapi/internal/admission"
	"kapi/internal/admission/match"
	"kapi/internal/audit"
	"kapi/internal/registry"
	"kapi/internal/request"
	"kapi/internal/tracing"
)

// maxResponseBytes bounds what kapi reads of a webhook's answer.
const maxResponseBytes = 3 * 1024 * 1024

// callError is a webhook that could not be asked, or answered something
// that is not an answer: its failurePolicy decides what follows.
type callError struct {
	name   string
	reason error
	// code is the HTTP status the call ended with, for the metrics (0:
	// none).
	code int
}

func (e *callError) Error() string {
	return fmt.Sprintf("failed calling webhook %q: %v", e.name, e.reason)
}

// invocation is one call of a hook for a write: the objects as the hook
// sees them (converted to the version it asked for, under matchPolicy
// Equivalent).
type invocation struct {
	h        *hook
	as       *registry.Resource
	kind     schema.GroupVersionKind
	obj, old runtime.Object
	// objJSON is obj as sent, the document a patch applies to; oldJSON
	// old as sent. encoded tells they are.
	objJSON, oldJSON []byte
	encoded          bool
}

// encode encodes the invocation's objects, once. (It may set their
// apiVersion and kind: call it before sharing them between goroutines.)
func (inv *invocation) encode() error {
	if inv.encoded {
		return nil
	}
	var err error
	if inv.objJSON, err = encode(inv.obj, inv.kind); err != nil {
		return err
	}
	if inv.oldJSON, err = encode(inv.old, inv.kind); err != nil {
		return err
	}
	inv.encoded = true
	return nil
}

// answer is what a hook answered: nil patched when it changed nothing.
type answer struct {
	patched runtime.Object
	patch   []byte
}

// invocationFor prepares a call of c for a; the objects are converted to
// the hook's version when it sees the write as an equivalent resource.
func invocationFor(c candidate, a *admission.Attributes) (*invocation, error) {
	inv := &invocation{h: c.h, as: c.as, kind: a.Kind, obj: a.Object, old: a.OldObject}
	if c.as != a.Resource && a.Kind == a.Resource.GVK() {
		inv.kind = c.as.GVK()
		var err error
		if inv.obj, err = match.Convert(a.Resource, inv.obj, inv.kind.GroupVersion()); err != nil {
			return nil, err
		}
		if inv.old, err = match.Convert(a.Resource, inv.old, inv.kind.GroupVersion()); err != nil {
			return nil, err
		}
	}
	return inv, nil
}

// encode is obj as JSON, with its apiVersion and kind; nil for nil.
func encode(obj runtime.Object, gvk schema.GroupVersionKind) ([]byte, error) {
	if obj == nil || reflect.ValueOf(obj).IsNil() {
		return nil, nil
	}
	if obj.GetObjectKind().GroupVersionKind() != gvk {
		obj.GetObjectKind().SetGroupVersionKind(gvk)
	}
	return json.Marshal(obj)
}

// call asks inv's hook about a.
func (h *hooks) call(ctx context.Context, a *admission.Attributes, inv *invocation) (answer, error) {
	ctx, span := startCall(ctx, a, inv)
	defer span.End()
	name := inv.h.name
	if err := inv.encode(); err != nil {
		return answer{}, apierrors.NewInternalError(err)
	}
	var optsJSON []byte
	var err error
	if a.Options != nil {
		if optsJSON, err = json.Marshal(a.Options); err != nil {
			return answer{}, apierrors.NewInternalError(err)
		}
	}
	uid := types.UID(uuid.NewString())
	setUID(span, uid)
	dry := a.DryRun
	requestKind, requestResource := metav1.GroupVersionKind(a.Kind), metav1.GroupVersionResource(a.GVR())
	version := "admission.k8s.io/v1"
	if inv.h.v1beta1 {
		version = "admission.k8s.io/v1beta1"
	}
	// The v1beta1 request and response have the v1 fields: one Go type
	// serves both.
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: version, Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: uid, Kind: metav1.GroupVersionKind(inv.kind), Resource: metav1.GroupVersionResource(inv.as.GVR()),
			SubResource: a.Subresource, RequestKind: &requestKind, RequestResource: &requestResource,
			RequestSubResource: a.Subresource, Name: a.Name, Namespace: a.Namespace,
			Operation: admissionv1.Operation(a.Operation), UserInfo: userInfo(a.User),
			Object: runtime.RawExtension{Raw: inv.objJSON}, OldObject: runtime.RawExtension{Raw: inv.oldJSON},
			DryRun: &dry, Options: runtime.RawExtension{Raw: optsJSON},
		},
	}
	body, err := json.Marshal(&review)
	if err != nil {
		return answer{}, apierrors.NewInternalError(err)
	}
	// The round trip is left out of the request's SLI latency.
	var resp *admissionv1.AdmissionReview
	var code int
	request.TrackWebhook(ctx, inv.h.mutating, func() { resp, code, err = h.post(ctx, inv.h, body) })
	if err != nil {
		return answer{}, &callError{name: name, reason: fmt.Errorf("failed to call webhook: %w", err), code: code}
	}
	if err := verify(resp, version, uid, inv.h.mutating); err != nil {
		return answer{}, &callError{name: name, reason: fmt.Errorf("received invalid webhook response: %w", err), code: http.StatusServiceUnavailable}
	}
	r := resp.Response
	for _, w := range r.Warnings {
		request.AddWarning(ctx, w)
	}
	for k, v := range r.AuditAnnotations {
		audit.AddAnnotation(ctx, name+"/"+k, v)
	}
	if !r.Allowed {
		return answer{}, rejection(name, r.Result)
	}
	if len(r.Patch) == 0 {
		return answer{}, nil
	}
	if a.Object == nil {
		return answer{}, apierrors.NewInternalError(fmt.Errorf("admission webhook %q attempted to modify the object, which is not supported for this operation", name))
	}
	return h.applyPatch(a, inv, r.Patch)
}

// post sends body to the hook's endpoint, within its timeout, and decodes
// the answer.
func (h *hooks) post(ctx context.Context, k *hook, body []byte) (*admissionv1.AdmissionReview, int, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	url := k.client.url
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	tracing.Inject(ctx, req.Header)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if k.client.token != "" {
		req.Header.Set("Authorization", "Bearer "+k.client.token)
	}
	q := req.URL.Query()
	q.Set("timeout", k.timeout.String())
	req.URL.RawQuery = q.Encode()
	resp, err := k.client.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	if len(data) > maxResponseBytes {
		return nil, resp.StatusCode, fmt.Errorf("the response is larger than %d bytes", maxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("the server responded with the status code %d but did not return more information (post %s)", resp.StatusCode, url)
	}
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(data, review); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("couldn't decode the response as an AdmissionReview: %w", err)
	}
	return review, resp.StatusCode, nil
}

// verify checks an answer as kube-apiserver does: the version asked, the
// request's uid, a patch only from a mutating webhook and with its type.
func verify(r *admissionv1.AdmissionReview, version string, uid types.UID, mutating bool) error {
	if r.APIVersion != version || r.Kind != "AdmissionReview" {
		return fmt.Errorf("expected webhook response of %s, Kind=AdmissionReview, got %s, Kind=%s", version, r.APIVersion, r.Kind)
	}
	if r.Response == nil {
		return errors.New("webhook response was absent")
	}
	if r.Response.UID != uid && version == "admission.k8s.io/v1" {
		return fmt.Errorf("expected response.uid=%q, got %q", uid, r.Response.UID)
	}
	hasPatch, hasType := len(r.Response.Patch) > 0, r.Response.PatchType != nil
	switch {
	case !mutating && hasPatch:
		return errors.New("validating webhook may not return response.patch")
	case hasPatch && !hasType && version == "admission.k8s.io/v1":
		return errors.New("webhook returned response.patch but not response.patchType")
	case hasType && !hasPatch:
		return errors.New("webhook returned response.patchType but not response.patch")
	case hasType && *r.Response.PatchType != admissionv1.PatchTypeJSONPatch:
		return fmt.Errorf("webhook returned invalid response.patchType of %q", *r.Response.PatchType)
	}
	return nil
}

// rejection is the error of a webhook that denied a request, in
// kube-apiserver's words.
func rejection(name string, result *metav1.Status) error {
	deniedBy := fmt.Sprintf("admission webhook %q denied the request", name)
	st := metav1.Status{Status: metav1.StatusFailure}
	if result != nil {
		st = *result
	}
	if st.Code < http.StatusBadRequest {
		st.Code = http.StatusBadRequest
	}
	if st.Status == "" || st.Status == metav1.StatusSuccess {
		st.Status = metav1.StatusFailure
	}
	switch {
	case st.Message != "":
		st.Message = deniedBy + ": " + st.Message
	case st.Reason != "":
		st.Message = deniedBy + ": " + string(st.Reason)
	default:
		st.Message = deniedBy + " without explanation"
	}
	return &apierrors.StatusError{ErrStatus: st}
}

// applyPatch applies a JSONPatch to the object sent, and decodes the
// result as the object to write: converted back from the hook's version,
// defaulted and pruned as a decoded object of the row. A patch that does
// not apply or breaks the object fails the call; one that renames the
// object, or moves it to another namespace, is refused.
func (h *hooks) applyPatch(a *admission.Attributes, inv *invocation, patch []byte) (answer, error) {
	name := inv.h.name
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return answer{}, &callError{name: name, reason: fmt.Errorf("received undecodable patch in webhook response: %w", err), code: http.StatusServiceUnavailable}
	}
	doc, err := p.Apply(inv.objJSON)
	if err != nil {
		return answer{}, apierrors.NewInternalError(fmt.Errorf("admission webhook %q returned a patch that does not apply: %w", name, err))
	}
	if bytes.Equal(doc, inv.objJSON) {
		return answer{}, nil
	}
	out, err := decodeLike(inv.obj, doc)
	if err != nil {
		return answer{}, apierrors.NewInternalError(fmt.Errorf("admission webhook %q returned a patch that breaks the object: %w", name, err))
	}
	if gvk := out.GetObjectKind().GroupVersionKind(); gvk != inv.kind {
		return answer{}, apierrors.NewInternalError(fmt.Errorf("admission webhook %q changed the object's kind from %s to %s", name, inv.kind, gvk))
	}
	if inv.kind != a.Kind {
		if out, err = match.Convert(a.Resource, out, a.Kind.GroupVersion()); err != nil {
			return answer{}, apierrors.NewInternalError(err)
		}
	}
	if a.Kind == a.Resource.GVK() && a.Resource.Type.Decoded != nil {
		if _, err := a.Resource.Type.Decoded(out); err != nil {
			return answer{}, apierrors.NewInternalError(fmt.Errorf("admission webhook %q returned a patch that breaks the object: %w", name, err))
		}
	}
	if err := sameIdentity(a.Object, out); err != nil {
		return answer{}, apierrors.NewInternalError(fmt.Errorf("admission webhook %q attempted to change the object's %w", name, err))
	}
	return answer{patched: out, patch: patch}, nil
}

// decodeLike decodes doc into a new object of obj's Go type.
func decodeLike(obj runtime.Object, doc []byte) (runtime.Object, error) {
	if _, ok := obj.(*unstructured.Unstructured); ok {
		u := &unstructured.Unstructured{}
		if err := utiljson.Unmarshal(doc, &u.Object); err != nil {
			return nil, err
		}
		return u, nil
	}
	out := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(runtime.Object)
	if err := json.Unmarshal(doc, out); err != nil {
		return nil, err
	}
	return out, nil
}

// sameIdentity refuses a name or namespace a webhook changed (a name it
// gave an object created with generateName is its to give).
func sameIdentity(before, after runtime.Object) error {
	b, err1 := meta.Accessor(before)
	c, err2 := meta.Accessor(after)
	if err1 != nil || err2 != nil {
		return nil
	}
	if b.GetName() != "" && b.GetName() != c.GetName() {
		return fmt.Errorf("name from %q to %q, which is not allowed", b.GetName(), c.GetName())
	}
	if b.GetNamespace() != c.GetNamespace() {
		return fmt.Errorf("namespace from %q to %q, which is not allowed", b.GetNamespace(), c.GetNamespace())
	}
	return nil
}

func userInfo(u *request.User) authenticationv1.UserInfo {
	if u == nil {
		return authenticationv1.UserInfo{}
	}
	out := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		out.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range u.Extra {
			out.Extra[k] = v
		}
	}
	return out
}
