package authorization

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/request"
)

// fake records what it is asked and answers as told.
type fake struct {
	asked    authz.Attributes
	decision authz.Decision
	reason   string
	err      error
}

func (f *fake) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	f.asked = a
	return f.decision, f.reason, f.err
}

func (f *fake) RulesFor(_ context.Context, u *request.User, ns string) ([]authz.ResourceRule, []authz.NonResourceRule, bool, error) {
	f.asked = authz.Attributes{User: u, Namespace: ns}
	if u.Name == "nobody" {
		return nil, nil, false, nil
	}
	return []authz.ResourceRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}},
		[]authz.NonResourceRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/api"}}}, true, f.err
}

func rows(f *fake) map[string]*registry.Resource {
	out := map[string]*registry.Resource{}
	for _, r := range Resources(f, f) {
		out[r.Name] = r
	}
	return out
}

var bob = &request.User{Name: "bob", Groups: []string{"system:authenticated"}}

func TestSelfSubjectAccessReview(t *testing.T) {
	f := &fake{decision: authz.Allow, reason: "RBAC: allowed by x"}
	r := rows(f)["selfsubjectaccessreviews"]
	ctx := request.WithUser(context.Background(), bob)
	out, err := r.Compute(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "deployments", Group: "apps", Subresource: "scale", Namespace: "dev", Name: "web"}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := out.(*authorizationv1.SelfSubjectAccessReview).Status
	if !st.Allowed || st.Denied || st.Reason != "RBAC: allowed by x" || st.EvaluationError != "" {
		t.Errorf("status %+v", st)
	}
	want := authz.Attributes{User: bob, Verb: "get", ResourceRequest: true, APIGroup: "apps", APIVersion: "*", Resource: "deployments",
		Subresource: "scale", Namespace: "dev", Name: "web"}
	if f.asked != want {
		t.Errorf("asked %+v\nwant  %+v", f.asked, want)
	}

	// A non-resource review; an explicit deny; an evaluation error.
	f = &fake{decision: authz.Deny, err: errors.New("webhook down")}
	r = rows(f)["selfsubjectaccessreviews"]
	out, _ = r.Compute(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/metrics"}}}, nil, nil)
	st = out.(*authorizationv1.SelfSubjectAccessReview).Status
	if st.Allowed || !st.Denied || st.EvaluationError != "webhook down" || f.asked.ResourceRequest || f.asked.Path != "/metrics" {
		t.Errorf("status %+v, asked %+v", st, f.asked)
	}

	// Bad label selectors are noted, not fatal.
	out, _ = r.Compute(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods",
			LabelSelector: &authorizationv1.LabelSelectorAttributes{RawSelector: "a in ("}}}}, nil, nil)
	if e := out.(*authorizationv1.SelfSubjectAccessReview).Status.EvaluationError; e != "webhook down; spec.resourceAttributes.labelSelector ignored due to parse error" {
		t.Errorf("evaluation error %q", e)
	}

	// Without a user, 400.
	_, err = r.Compute(context.Background(), &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/"}}}, nil, nil)
	if !apierrors.IsBadRequest(err) {
		t.Errorf("no user: %v", err)
	}
}

func TestSubjectAccessReview(t *testing.T) {
	f := &fake{}
	r := rows(f)["subjectaccessreviews"]
	ctx := request.WithUser(context.Background(), bob)
	out, err := r.Compute(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: "alice", Groups: []string{"g"}, UID: "u1", Extra: map[string]authorizationv1.ExtraValue{"k": {"v"}},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods", Version: "v1"}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := out.(*authorizationv1.SubjectAccessReview).Status
	if st.Allowed || st.Denied {
		t.Errorf("no opinion is neither allowed nor denied: %+v", st)
	}
	u := f.asked.User
	if u.Name != "alice" || u.UID != "u1" || u.Groups[0] != "g" || u.Extra["k"][0] != "v" || f.asked.APIVersion != "v1" {
		t.Errorf("asked about %+v (%+v)", u, f.asked)
	}
}

func TestReviewValidation(t *testing.T) {
	f := &fake{}
	r := rows(f)
	ctx := request.WithUser(context.Background(), bob)
	both := authorizationv1.SubjectAccessReviewSpec{User: "a", ResourceAttributes: &authorizationv1.ResourceAttributes{},
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{}}
	cases := []struct {
		name, row string
		obj       runtime.Object
		code      int32
		message   string
	}{
		{"neither", "subjectaccessreviews", &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "a"}}, 422,
			`SubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified`},
		{"both", "subjectaccessreviews", &authorizationv1.SubjectAccessReview{Spec: both}, 422, "cannot be specified in combination with resourceAttributes"},
		{"nobody", "subjectaccessreviews", &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{}}}, 422, "at least one of user or group must be specified"},
		{"metadata", "selfsubjectaccessreviews", &authorizationv1.SelfSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Name: "x"},
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{}}}, 422, "metadata: Invalid value"},
		{"local: other namespace in spec", "localsubjectaccessreviews", &authorizationv1.LocalSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Namespace: "dev"},
			Spec: authorizationv1.SubjectAccessReviewSpec{User: "a", ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "prod"}}}, 422,
			`spec.resourceAttributes.namespace: Invalid value: "prod": must match metadata.namespace`},
		{"local: non-resource", "localsubjectaccessreviews", &authorizationv1.LocalSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Namespace: "dev"},
			Spec: authorizationv1.SubjectAccessReviewSpec{User: "a", NonResourceAttributes: &authorizationv1.NonResourceAttributes{}}}, 422, "disallowed on this kind of request"},
		{"local: fine", "localsubjectaccessreviews", &authorizationv1.LocalSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Namespace: "dev"},
			Spec: authorizationv1.SubjectAccessReviewSpec{User: "a", ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "dev"}}}, 0, ""},
		{"rules: no namespace", "selfsubjectrulesreviews", &authorizationv1.SelfSubjectRulesReview{}, 400, "no namespace on request"},
		{"wrong kind", "selfsubjectrulesreviews", &authorizationv1.SubjectAccessReview{}, 400, "not a SelfSubjectRulesReview"},
	}
	for _, c := range cases {
		_, err := r[c.row].Compute(ctx, c.obj, nil, nil)
		var code int32
		if se, ok := err.(apierrors.APIStatus); ok {
			code = se.Status().Code
		} else if err != nil {
			code = -1
		}
		if code != c.code || (c.message != "" && !strings.Contains(err.Error(), c.message)) {
			t.Errorf("%s: %d %v, want %d %q", c.name, code, err, c.code, c.message)
		}
	}
}

func TestSelfSubjectRulesReview(t *testing.T) {
	f := &fake{err: errors.New("partial")}
	r := rows(f)["selfsubjectrulesreviews"]
	ctx := request.WithUser(context.Background(), bob)
	out, err := r.Compute(ctx, &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "dev"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srr := out.(*authorizationv1.SelfSubjectRulesReview)
	st := srr.Status
	if f.asked.Namespace != "dev" || f.asked.User != bob || !st.Incomplete || st.EvaluationError != "partial" ||
		len(st.ResourceRules) != 1 || st.ResourceRules[0].Resources[0] != "pods" || st.NonResourceRules[0].NonResourceURLs[0] != "/api" {
		t.Errorf("review %+v", srr)
	}
	if srr.Spec.Namespace != "" {
		t.Errorf("kube-apiserver answers without the spec: %+v", srr.Spec)
	}
	// No rules: empty lists, not null (kubectl reads them).
	out, _ = r.Compute(request.WithUser(ctx, &request.User{Name: "nobody"}),
		&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "dev"}}, nil, nil)
	b, _ := json.Marshal(out)
	if !strings.Contains(string(b), `"resourceRules":[],"nonResourceRules":[]`) {
		t.Errorf("JSON %s", b)
	}
}

func TestRows(t *testing.T) {
	for _, r := range Resources(&fake{}, &fake{}) {
		if r.Group != "authorization.k8s.io" || r.Version != "v1" || len(r.Verbs) != 1 || r.Verbs[0] != "create" || r.Compute == nil {
			t.Errorf("row %+v", r)
		}
		if r.Namespaced != (r.Name == "localsubjectaccessreviews") {
			t.Errorf("%s namespaced %v", r.Name, r.Namespaced)
		}
		if _, err := registry.Scheme.New(r.GVK()); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
	}
}
