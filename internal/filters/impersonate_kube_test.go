package filters

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/filters/impersonation"
	kuberequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/transport"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// TestImpersonationAsKube sends every case of this file's tables through
// both kapi's filter and kube-apiserver's own handler
// (k8s.io/apiserver/pkg/endpoints/filters/impersonation, v1.37), with the
// same authorizer, and wants the same answer: code, Status message,
// impersonated user, and the same authorization checks in the same order.
func TestImpersonationAsKube(t *testing.T) {
	type sequence struct {
		name     string
		rules    func(authz.Attributes) (authz.Decision, string, error)
		requests []impersonationRequest
	}
	var all []sequence
	for _, c := range constrainedImpersonationCases() {
		all = append(all, sequence{"constrained/" + c.name, kubeConstrainedRules, c.requests})
	}
	for _, set := range []struct {
		name  string
		rules func(authz.Attributes) (authz.Decision, string, error)
		cases []impersonationOutcome
	}{{"legacy", kubeLegacyRules, legacyImpersonationCases()}, {"refusals", refusalRules, impersonationRefusalCases()}} {
		for _, c := range set.cases {
			all = append(all, sequence{set.name + "/" + c.name, set.rules,
				[]impersonationRequest{{requestor: c.requestor, info: c.info, as: c.as, header: c.header}}})
		}
	}
	for _, s := range all {
		t.Run(s.name, func(t *testing.T) {
			h := newImpersonationHarness(s.rules)
			kube := newKubeImpersonation(s.rules)
			for i, r := range s.requests {
				code, msg := h.serve(t, r)
				kubeCode, kubeMsg, kubeUser := kube.serve(t, r)
				if code != kubeCode || msg != kubeMsg {
					t.Errorf("request %d: kapi %d %q, kube %d %q", i, code, msg, kubeCode, kubeMsg)
				}
				if code == http.StatusOK && !reflect.DeepEqual(h.got, kubeUser) {
					t.Errorf("request %d: kapi's user %+v, kube's %+v", i, h.got, kubeUser)
				}
				got, want := h.az.take(), kube.az.take()
				if len(got) != len(want) {
					t.Errorf("request %d: kapi checked %d times, kube %d", i, len(got), len(want))
				}
				for j := range min(len(got), len(want)) {
					if !reflect.DeepEqual(got[j], want[j]) {
						t.Errorf("request %d: check %d:\nkapi %+v %+v\nkube %+v %+v", i, j, got[j], got[j].a.User, want[j], want[j].a.User)
					}
				}
			}
		})
	}
}

// kubeImpersonation is kube-apiserver's impersonation handler, asking the
// rules through a kapi authorizer.
type kubeImpersonation struct {
	az      *recordingAuthorizer
	handler http.Handler
}

func newKubeImpersonation(rules func(authz.Attributes) (authz.Decision, string, error)) *kubeImpersonation {
	k := &kubeImpersonation{az: &recordingAuthorizer{rules: rules}}
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, metav1.SchemeGroupVersion)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := kuberequest.UserFrom(r.Context())
		json.NewEncoder(w).Encode(&request.User{Name: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()})
	})
	k.handler = impersonation.WithConstrainedImpersonation(echo, kubeAuthorizer{k.az}, serializer.NewCodecFactory(s))
	return k
}

func (k *kubeImpersonation) serve(t *testing.T, r impersonationRequest) (int, string, *request.User) {
	t.Helper()
	q, _ := url.ParseQuery(r.query)
	info := &kuberequest.RequestInfo{IsResourceRequest: r.info.IsResourceRequest, Path: r.info.Path, Verb: r.info.Verb,
		APIGroup: r.info.APIGroup, APIVersion: r.info.APIVersion, Namespace: r.info.Namespace, Resource: r.info.Resource,
		Subresource: r.info.Subresource, Name: r.info.Name, FieldSelector: q.Get("fieldSelector"), LabelSelector: q.Get("labelSelector")}
	requestor := &user.DefaultInfo{Name: r.requestor.Name, UID: r.requestor.UID, Groups: r.requestor.Groups, Extra: r.requestor.Extra}
	rt := transport.NewImpersonatingRoundTripper(r.as, roundTripFunc(func(req *http.Request) (*http.Response, error) {
		ctx := kuberequest.WithRequestInfo(kuberequest.WithUser(req.Context(), requestor), info)
		w := httptest.NewRecorder()
		k.handler.ServeHTTP(w, req.WithContext(ctx))
		return w.Result(), nil
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for name, v := range r.header {
		req.Header[name] = v
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		var u request.User
		if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, "", &u
	}
	var st metav1.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, st.Message, nil
}

// kubeAuthorizer asks a kapi authorizer kube's checks, turned into kapi's
// attributes (the path of resource requests, which kapi's do not carry,
// dropped; the parsed selectors written back).
type kubeAuthorizer struct{ az authz.Authorizer }

func (k kubeAuthorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	u := a.GetUser()
	ka := authz.Attributes{User: &request.User{Name: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()},
		Verb: a.GetVerb(), ResourceRequest: a.IsResourceRequest(), APIGroup: a.GetAPIGroup(), APIVersion: a.GetAPIVersion(),
		Resource: a.GetResource(), Subresource: a.GetSubresource(), Namespace: a.GetNamespace(), Name: a.GetName()}
	if !a.IsResourceRequest() {
		ka.Path = a.GetPath()
	}
	if fs, _ := a.GetFieldSelector(); len(fs) > 0 {
		var s []string
		for _, r := range fs {
			s = append(s, r.Field+string(r.Operator)+r.Value)
		}
		ka.FieldSelector = strings.Join(s, ",")
	}
	if ls, _ := a.GetLabelSelector(); len(ls) > 0 {
		var s []string
		for _, r := range ls {
			s = append(s, r.String())
		}
		ka.LabelSelector = strings.Join(s, ",")
	}
	d, reason, err := k.az.Authorize(ctx, ka)
	switch d {
	case authz.Allow:
		return authorizer.DecisionAllow, reason, err
	case authz.Deny:
		return authorizer.DecisionDeny, reason, err
	}
	return authorizer.DecisionNoOpinion, reason, err
}
