package filters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/transport"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// recordingAuthorizer answers by rules and records every check.
type recordingAuthorizer struct {
	rules  func(a authz.Attributes) (authz.Decision, string, error)
	mu     sync.Mutex
	checks []impersonationCheck
}

type impersonationCheck struct {
	a authz.Attributes
	d authz.Decision
}

func (z *recordingAuthorizer) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	d, reason, err := z.rules(a)
	z.mu.Lock()
	z.checks = append(z.checks, impersonationCheck{a, d})
	z.mu.Unlock()
	return d, reason, err
}

// kubeConstrainedRules are the rules of the authorizer of kube's tests of
// constrained impersonation
// (k8s.io/apiserver/pkg/endpoints/filters/impersonation/constrained_impersonation_test.go),
// rule for rule.
func kubeConstrainedRules(a authz.Attributes) (authz.Decision, string, error) {
	u, verb, res := a.User, a.Verb, a.Resource
	group0 := ""
	if len(u.Groups) > 0 {
		group0 = u.Groups[0]
	}
	allow := func(name, verb2, res2 string) bool { return u.Name == name && verb == verb2 && res == res2 }
	allowGroup := func(group, verb2, res2 string) bool { return group0 == group && verb == verb2 && res == res2 }
	switch {
	case allow("sa-impersonater", "impersonate:serviceaccount", "serviceaccounts"),
		allow("system:serviceaccount:default:node", "impersonate:arbitrary-node", "nodes"),
		allow("node-impersonater", "impersonate:arbitrary-node", "nodes"),
		allowGroup("associate-node-impersonater", "impersonate:associated-node", "nodes"),
		allow("user-impersonater", "impersonate:user-info", "users"),
		allow("user-impersonater", "impersonate:user-info", "uids"),
		allowGroup("group-impersonater", "impersonate:user-info", "groups"),
		allowGroup("extra-setter-scopes", "impersonate:user-info", "userextras") && a.Subresource == "pandas.io/scopes",
		u.Name == "legacy-impersonater" && verb == "impersonate",
		strings.HasPrefix(verb, "impersonate-on:") && (strings.HasSuffix(verb, "list") || strings.HasSuffix(verb, "get")),
		allow("many-groups-impersonater", "impersonate:user-info", "users"),
		allow("many-groups-impersonater", "impersonate:user-info", "groups") && a.Name == "*",
		allow("many-extras-impersonater", "impersonate:user-info", "users"),
		allow("many-extras-impersonater", "impersonate:user-info", "userextras") && a.Subresource == "*" && a.Name == "*",
		allow("mixed-impersonater", "impersonate:user-info", "users"),
		allow("mixed-impersonater", "impersonate:user-info", "groups") && a.Name != "*",
		allow("mixed-impersonater", "impersonate:user-info", "userextras") && a.Subresource == "tags.io/env" && a.Name != "*":
		return authz.Allow, "", nil
	}
	return authz.NoOpinion, "deny by default", nil
}

func (z *recordingAuthorizer) take() []impersonationCheck {
	z.mu.Lock()
	defer z.mu.Unlock()
	c := z.checks
	z.checks = nil
	return c
}

// impersonationRequest is one request of a case: who sends it, what it
// asks (its request info, and the URL's query), whom it impersonates
// (sent by client-go's impersonating round tripper), and what kube does.
type impersonationRequest struct {
	requestor *request.User
	info      *request.Info
	query     string
	as        transport.ImpersonationConfig
	// header is sent as is, besides (client-go escapes extra keys).
	header http.Header

	code    int
	message string        // of a refusal
	user    *request.User // the impersonated user, on success
	// checks are the authorization checks, in order; made for requestor
	// unless checkedAs says otherwise (associated-node).
	checks    []impersonationCheck
	checkedAs *request.User
	// attempt is the mode label of the attempt ("" when denied);
	// authorizations counts the checks by "mode/decision".
	attempt        string
	authorizations map[string]int
}

var (
	getPod        = &request.Info{IsResourceRequest: true, Verb: "get", APIVersion: "v1", Resource: "pods", Name: "foo", Namespace: "bar"}
	getAnotherPod = &request.Info{IsResourceRequest: true, Verb: "get", APIVersion: "v1", Resource: "pods", Name: "foo1", Namespace: "bar1"}
	createPod     = &request.Info{IsResourceRequest: true, Verb: "create", APIVersion: "v1", Resource: "pods", Name: "foo", Namespace: "bar"}
	getDeployment = &request.Info{IsResourceRequest: true, Verb: "get", APIGroup: "apps", APIVersion: "v1", Resource: "deployments", Name: "foo", Namespace: "bar"}
	getSecret     = &request.Info{IsResourceRequest: true, Verb: "get", APIVersion: "v1", Resource: "secrets", Name: "foo", Namespace: "bar"}
	listPods      = &request.Info{IsResourceRequest: true, Verb: "list", APIVersion: "v1", Resource: "pods"}
)

// allow and deny are expected checks (User filled in by the harness).
func allow(a authz.Attributes) impersonationCheck { return impersonationCheck{a, authz.Allow} }
func deny(a authz.Attributes) impersonationCheck  { return impersonationCheck{a, authz.NoOpinion} }

// on is impersonate-on:<mode>:<verb> on the request's attributes.
func on(info *request.Info, mode string, query string) authz.Attributes {
	a := authz.Attributes{Verb: "impersonate-on:" + mode + ":" + info.Verb, ResourceRequest: info.IsResourceRequest}
	if !info.IsResourceRequest {
		a.Path = info.Path
		return a
	}
	a.APIGroup, a.APIVersion, a.Resource, a.Subresource, a.Namespace, a.Name = info.APIGroup, info.APIVersion, info.Resource, info.Subresource, info.Namespace, info.Name
	q, _ := url.ParseQuery(query)
	a.FieldSelector, a.LabelSelector = q.Get("fieldSelector"), q.Get("labelSelector")
	return a
}

// constrained is impersonate:<mode> on an identity, legacy impersonate.
func constrained(mode, resource, namespace, name string) authz.Attributes {
	return authz.Attributes{Verb: "impersonate:" + mode, ResourceRequest: true, APIGroup: "authentication.k8s.io", APIVersion: "v1",
		Resource: resource, Namespace: namespace, Name: name}
}

func legacy(group, resource, namespace, name string) authz.Attributes {
	return authz.Attributes{Verb: "impersonate", ResourceRequest: true, APIGroup: group, APIVersion: "v1", Resource: resource, Namespace: namespace, Name: name}
}

func extraCheck(mode, key, value string) authz.Attributes {
	a := constrained(mode, "userextras", "", value)
	a.Subresource = key
	return a
}

// impersonationHarness serves requests through one Impersonate filter.
type impersonationHarness struct {
	az      *recordingAuthorizer
	handler http.Handler

	// what the next handler and the audit hook saw
	got, audited *request.User
	constraint   string
	headersLeft  []string
}

func newImpersonationHarness(rules func(authz.Attributes) (authz.Decision, string, error)) *impersonationHarness {
	return newImpersonationHarnessOf(Impersonate, rules)
}

// newImpersonationHarnessOf is newImpersonationHarness of another filter
// (LegacyImpersonate).
func newImpersonationHarnessOf(filter func(authz.Authorizer, func(*http.Request, *request.User, string)) func(http.Handler) http.Handler,
	rules func(authz.Attributes) (authz.Decision, string, error)) *impersonationHarness {
	h := &impersonationHarness{az: &recordingAuthorizer{rules: rules}}
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.got = request.UserFrom(r.Context())
		for k := range r.Header {
			if strings.HasPrefix(k, "Impersonate-") {
				h.headersLeft = append(h.headersLeft, k)
			}
		}
	})
	h.handler = filter(h.az, func(r *http.Request, u *request.User, constraint string) {
		h.audited, h.constraint = u, constraint
	})(echo)
	return h
}

// serve sends r as client-go would, and returns the response's code and
// Status message.
func (h *impersonationHarness) serve(t *testing.T, r impersonationRequest) (int, string) {
	t.Helper()
	h.got, h.audited, h.constraint, h.headersLeft = nil, nil, "", nil
	rt := transport.NewImpersonatingRoundTripper(r.as, roundTripFunc(func(req *http.Request) (*http.Response, error) {
		ctx := request.WithUser(req.Context(), r.requestor)
		ctx = request.WithInfo(ctx, r.info)
		w := httptest.NewRecorder()
		h.handler.ServeHTTP(w, req.WithContext(ctx))
		return w.Result(), nil
	}))
	path := "/"
	if !r.info.IsResourceRequest {
		path = r.info.Path
	}
	req := httptest.NewRequest(http.MethodGet, path+"?"+r.query, nil)
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	var st metav1.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Kind != "Status" || int(st.Code) != resp.StatusCode {
		t.Fatalf("the refusal is not a Status: %v %+v", err, st)
	}
	return resp.StatusCode, st.Message
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var impersonationModeLabels = []string{"", "legacy", "user-info", "serviceaccount", "arbitrary-node", "associated-node"}

// impersonationCounts reads the impersonation counters, by "mode/decision".
func impersonationCounts(t *testing.T) (attempts, authorizations map[string]float64) {
	t.Helper()
	attempts, authorizations = map[string]float64{}, map[string]float64{}
	for _, mode := range impersonationModeLabels {
		for _, decision := range []string{"allowed", "denied"} {
			for _, c := range []struct {
				into map[string]float64
				m    interface{ Write(*dto.Metric) error }
			}{{attempts, impersonationAttempts.WithLabelValues(mode, decision)}, {authorizations, impersonationAuthorizations.WithLabelValues(mode, decision)}} {
				var m dto.Metric
				if err := c.m.Write(&m); err != nil {
					t.Fatal(err)
				}
				c.into[mode+"/"+decision] = m.GetCounter().GetValue()
			}
		}
	}
	return attempts, authorizations
}

func countsSince(before, after map[string]float64) map[string]int {
	var d map[string]int
	for k, v := range after {
		if n := int(v - before[k]); n != 0 {
			if d == nil {
				d = map[string]int{}
			}
			d[k] = n
		}
	}
	return d
}

// check serves r and compares everything kube's tests compare: code,
// message, user, the authorization checks, the metrics and what audit
// is told.
func (h *impersonationHarness) check(t *testing.T, i int, r impersonationRequest) {
	t.Helper()
	attemptsBefore, authzBefore := impersonationCounts(t)
	code, msg := h.serve(t, r)
	if code != r.code || msg != r.message {
		t.Errorf("request %d: got %d %q, want %d %q", i, code, msg, r.code, r.message)
	}
	if r.code == http.StatusOK {
		if !reflect.DeepEqual(h.got, r.user) || !reflect.DeepEqual(h.audited, r.user) {
			t.Errorf("request %d: user %+v (audited %+v), want %+v", i, h.got, h.audited, r.user)
		}
		wantConstraint := ""
		if r.attempt != "legacy" {
			wantConstraint = "impersonate:" + r.attempt
		}
		if h.constraint != wantConstraint {
			t.Errorf("request %d: constraint %q, want %q", i, h.constraint, wantConstraint)
		}
		if len(h.headersLeft) > 0 {
			t.Errorf("request %d: impersonation headers left for the next handler: %v", i, h.headersLeft)
		}
	} else if h.got != nil || h.audited != nil {
		t.Errorf("request %d: refused, but served as %+v", i, h.got)
	}

	checkedAs := r.checkedAs
	if checkedAs == nil {
		checkedAs = r.requestor
	}
	got := h.az.take()
	if len(got) != len(r.checks) {
		t.Errorf("request %d: %d checks, want %d:", i, len(got), len(r.checks))
	}
	for j := range max(len(got), len(r.checks)) {
		var want, have impersonationCheck
		if j < len(r.checks) {
			want = r.checks[j]
			want.a.User = checkedAs
		}
		if j < len(got) {
			have = got[j]
		}
		if !reflect.DeepEqual(have, want) {
			t.Errorf("request %d: check %d:\n got %+v %+v\nwant %+v %+v", i, j, have, have.a.User, want, want.a.User)
		}
	}

	attemptsAfter, authzAfter := impersonationCounts(t)
	decision := "allowed"
	if r.code != http.StatusOK {
		decision = "denied"
	}
	if d, want := countsSince(attemptsBefore, attemptsAfter), map[string]int{r.attempt + "/" + decision: 1}; !reflect.DeepEqual(d, want) {
		t.Errorf("request %d: attempts %v, want %v", i, d, want)
	}
	if d := countsSince(authzBefore, authzAfter); !reflect.DeepEqual(d, r.authorizations) {
		t.Errorf("request %d: authorization checks %v, want %v", i, d, r.authorizations)
	}
}

// impersonationCase is a sequence of requests through one filter.
type impersonationCase struct {
	name     string
	requests []impersonationRequest
}

// constrainedImpersonationCases are kube's TestConstrainedImpersonationFilter's,
// case by case: the same requestors, requests, checks, messages and
// metrics; each case's requests go through one filter, in order, so that
// its caches are exercised as in kube.
func constrainedImpersonationCases() []impersonationCase {
	userImpersonator := &request.User{Name: "user-impersonater"}
	anyone := transport.ImpersonationConfig{UserName: "anyone"}
	anyoneAuthenticated := &request.User{Name: "anyone", Groups: []string{"system:authenticated"}}
	saOn := func(node string) *request.User {
		return &request.User{Name: "system:serviceaccount:default:default", Groups: []string{"associate-node-impersonater"},
			Extra: map[string][]string{"authentication.kubernetes.io/node-name": {node}}}
	}
	// associated-node's checks are made for the service account with its
	// extra reduced to its keys.
	saOnAnyNode := &request.User{Name: "system:serviceaccount:default:default", Groups: []string{"associate-node-impersonater"},
		Extra: map[string][]string{"authentication.kubernetes.io/associated-node-keys": {"authentication.kubernetes.io/node-name"}}}
	node := func(name string) *request.User {
		return &request.User{Name: "system:node:" + name, Groups: []string{"system:nodes", "system:authenticated"}}
	}
	ok := http.StatusOK
	forbidden := http.StatusForbidden

	return []impersonationCase{{
		name: "impersonating-error",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "tester"}, info: getPod, as: anyone,
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				deny(constrained("user-info", "users", "", "anyone")),
				deny(legacy("", "users", "", "anyone")),
			},
			code:           forbidden,
			message:        `users.authentication.k8s.io "anyone" is forbidden: User "tester" cannot impersonate:user-info resource "users" in API group "authentication.k8s.io" at the cluster scope: deny by default`,
			authorizations: map[string]int{"user-info/allowed": 1, "user-info/denied": 1, "legacy/denied": 1},
		}},
	}, {
		name: "impersonating-user-get-allowed-create-disallowed",
		requests: []impersonationRequest{{
			requestor: userImpersonator, info: getPod, as: anyone,
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				allow(constrained("user-info", "users", "", "anyone")),
			},
			code: ok, user: anyoneAuthenticated, attempt: "user-info",
			authorizations: map[string]int{"user-info/allowed": 2},
		}, {
			// the inner cache: impersonate:user-info is not asked again
			requestor: userImpersonator, info: getAnotherPod, as: anyone,
			checks: []impersonationCheck{allow(on(getAnotherPod, "user-info", ""))},
			code:   ok, user: anyoneAuthenticated, attempt: "user-info",
			authorizations: map[string]int{"user-info/allowed": 1},
		}, {
			requestor: userImpersonator, info: createPod, as: anyone,
			checks: []impersonationCheck{
				deny(on(createPod, "user-info", "")),
				deny(legacy("", "users", "", "anyone")),
			},
			code:           forbidden,
			message:        `pods "foo" is forbidden: User "user-impersonater" cannot impersonate-on:user-info:create resource "pods" in API group "" in the namespace "bar": deny by default`,
			authorizations: map[string]int{"user-info/denied": 1, "legacy/denied": 1},
		}},
	}, {
		name: "impersonating-sa-allowed",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "sa-impersonater"}, info: getPod, as: transport.ImpersonationConfig{UserName: "system:serviceaccount:default:default"},
			checks: []impersonationCheck{
				allow(on(getPod, "serviceaccount", "")),
				allow(constrained("serviceaccount", "serviceaccounts", "default", "default")),
			},
			code: ok, attempt: "serviceaccount",
			user: &request.User{Name: "system:serviceaccount:default:default",
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}},
			authorizations: map[string]int{"serviceaccount/allowed": 2},
		}},
	}, {
		name: "impersonating-node-not-allowed",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "sa-impersonater"}, info: getPod, as: transport.ImpersonationConfig{UserName: "system:node:node1"},
			checks: []impersonationCheck{
				allow(on(getPod, "arbitrary-node", "")),
				deny(constrained("arbitrary-node", "nodes", "", "node1")),
				deny(legacy("", "users", "", "system:node:node1")),
			},
			code:           forbidden,
			message:        `nodes.authentication.k8s.io "node1" is forbidden: User "sa-impersonater" cannot impersonate:arbitrary-node resource "nodes" in API group "authentication.k8s.io" at the cluster scope: deny by default`,
			authorizations: map[string]int{"arbitrary-node/allowed": 1, "arbitrary-node/denied": 1, "legacy/denied": 1},
		}},
	}, {
		name: "impersonating-node-not-allowed-action",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "node-impersonater"}, info: createPod, as: transport.ImpersonationConfig{UserName: "system:node:node1"},
			checks: []impersonationCheck{
				deny(on(createPod, "arbitrary-node", "")),
				deny(legacy("", "users", "", "system:node:node1")),
			},
			code:           forbidden,
			message:        `pods "foo" is forbidden: User "node-impersonater" cannot impersonate-on:arbitrary-node:create resource "pods" in API group "" in the namespace "bar": deny by default`,
			authorizations: map[string]int{"arbitrary-node/denied": 1, "legacy/denied": 1},
		}},
	}, {
		name: "impersonating-node-allowed",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "node-impersonater"}, info: getPod, as: transport.ImpersonationConfig{UserName: "system:node:node1"},
			checks: []impersonationCheck{
				allow(on(getPod, "arbitrary-node", "")),
				allow(constrained("arbitrary-node", "nodes", "", "node1")),
			},
			code: ok, user: node("node1"), attempt: "arbitrary-node",
			authorizations: map[string]int{"arbitrary-node/allowed": 2},
		}},
	}, {
		name: "disallowed-userextra-3",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "user-impersonater", Groups: []string{"group-impersonater"}}, info: getPod,
			as: transport.ImpersonationConfig{UserName: "system:admin", Groups: []string{"extra-setter-scopes"},
				Extra: map[string][]string{"pandas.io/scopes": {"scope-a", "scope-b"}}},
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				allow(constrained("user-info", "users", "", "system:admin")),
				allow(constrained("user-info", "groups", "", "extra-setter-scopes")),
				deny(extraCheck("user-info", "pandas.io/scopes", "scope-a")),
				deny(legacy("", "users", "", "system:admin")),
			},
			code:           forbidden,
			message:        `userextras.authentication.k8s.io "scope-a" is forbidden: User "user-impersonater" cannot impersonate:user-info resource "userextras/pandas.io/scopes" in API group "authentication.k8s.io" at the cluster scope: deny by default`,
			authorizations: map[string]int{"user-info/allowed": 3, "user-info/denied": 1, "legacy/denied": 1},
		}},
	}, {
		name: "allowed-userextras",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "user-impersonater", Groups: []string{"extra-setter-scopes"}}, info: getPod,
			as: transport.ImpersonationConfig{UserName: "system:admin",
				Extra: map[string][]string{"pandas.io/scopes": {"scope-a", "scope-b", "5", "4", "3", "2", "1"}}},
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				allow(constrained("user-info", "users", "", "system:admin")),
				deny(extraCheck("user-info", "*", "*")),
				allow(extraCheck("user-info", "pandas.io/scopes", "scope-a")),
				allow(extraCheck("user-info", "pandas.io/scopes", "scope-b")),
				allow(extraCheck("user-info", "pandas.io/scopes", "5")),
				allow(extraCheck("user-info", "pandas.io/scopes", "4")),
				allow(extraCheck("user-info", "pandas.io/scopes", "3")),
				allow(extraCheck("user-info", "pandas.io/scopes", "2")),
				allow(extraCheck("user-info", "pandas.io/scopes", "1")),
			},
			code: ok, attempt: "user-info",
			user: &request.User{Name: "system:admin", Groups: []string{"system:authenticated"},
				Extra: map[string][]string{"pandas.io/scopes": {"scope-a", "scope-b", "5", "4", "3", "2", "1"}}},
			authorizations: map[string]int{"user-info/allowed": 9, "user-info/denied": 1},
		}},
	}, {
		name: "allowed-associate-node",
		requests: []impersonationRequest{{
			requestor: saOn("node1"), info: getSecret, as: transport.ImpersonationConfig{UserName: "system:node:node1"},
			checkedAs: saOnAnyNode,
			checks: []impersonationCheck{
				allow(on(getSecret, "associated-node", "")),
				allow(constrained("associated-node", "nodes", "", "*")),
			},
			code: ok, user: node("node1"), attempt: "associated-node",
			authorizations: map[string]int{"associated-node/allowed": 2},
		}, {
			// the same service account on another node: a full cache hit
			requestor: saOn("node2"), info: getSecret, as: transport.ImpersonationConfig{UserName: "system:node:node2"},
			code: ok, user: node("node2"), attempt: "associated-node",
		}, {
			// not its node: the arbitrary-node mode's refusal
			requestor: saOn("node2"), info: getSecret, as: transport.ImpersonationConfig{UserName: "system:node:node1"},
			checks: []impersonationCheck{
				allow(on(getSecret, "arbitrary-node", "")),
				deny(constrained("arbitrary-node", "nodes", "", "node1")),
				deny(legacy("", "users", "", "system:node:node1")),
			},
			code:           forbidden,
			message:        `nodes.authentication.k8s.io "node1" is forbidden: User "system:serviceaccount:default:default" cannot impersonate:arbitrary-node resource "nodes" in API group "authentication.k8s.io" at the cluster scope: deny by default`,
			authorizations: map[string]int{"arbitrary-node/allowed": 1, "arbitrary-node/denied": 1, "legacy/denied": 1},
		}, {
			// another request: impersonate-on only (the inner cache)
			requestor: saOn("node2"), info: getPod, as: transport.ImpersonationConfig{UserName: "system:node:node2"},
			checkedAs: saOnAnyNode,
			checks:    []impersonationCheck{allow(on(getPod, "associated-node", ""))},
			code:      ok, user: node("node2"), attempt: "associated-node",
			authorizations: map[string]int{"associated-node/allowed": 1},
		}, {
			requestor: saOn("node1"), info: getPod, as: transport.ImpersonationConfig{UserName: "system:node:node1"},
			code: ok, user: node("node1"), attempt: "associated-node",
		}},
	}, {
		name: "disallowed-associate-node-without-sa",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "user-impersonater", Groups: []string{"associate-node-impersonater"},
				Extra: map[string][]string{"authentication.kubernetes.io/node-name": {"node1"}}},
			info: getPod, as: transport.ImpersonationConfig{UserName: "system:node:node1"},
			checks: []impersonationCheck{
				allow(on(getPod, "arbitrary-node", "")),
				deny(constrained("arbitrary-node", "nodes", "", "node1")),
				deny(legacy("", "users", "", "system:node:node1")),
			},
			code:           forbidden,
			message:        `nodes.authentication.k8s.io "node1" is forbidden: User "user-impersonater" cannot impersonate:arbitrary-node resource "nodes" in API group "authentication.k8s.io" at the cluster scope: deny by default`,
			authorizations: map[string]int{"arbitrary-node/allowed": 1, "arbitrary-node/denied": 1, "legacy/denied": 1},
		}},
	}, {
		name: "allowed-legacy-impersonator",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "legacy-impersonater"}, info: getPod, as: transport.ImpersonationConfig{UserName: "system:admin"},
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				deny(constrained("user-info", "users", "", "system:admin")),
				allow(legacy("", "users", "", "system:admin")),
			},
			code: ok, attempt: "legacy", user: &request.User{Name: "system:admin", Groups: []string{"system:authenticated"}},
			authorizations: map[string]int{"user-info/allowed": 1, "user-info/denied": 1, "legacy/allowed": 1},
		}},
	}, {
		name: "system:masters-group-not-allowed",
		requests: []impersonationRequest{{
			requestor: userImpersonator, info: getPod, as: transport.ImpersonationConfig{UserName: "admin-user", Groups: []string{"system:masters"}},
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				allow(constrained("user-info", "users", "", "admin-user")),
				deny(legacy("", "users", "", "admin-user")),
			},
			code:           forbidden,
			message:        `groups.authentication.k8s.io "system:masters" is forbidden: User "user-impersonater" cannot impersonate:user-info resource "groups" in API group "authentication.k8s.io" at the cluster scope: impersonating the system:masters group is not allowed`,
			authorizations: map[string]int{"user-info/allowed": 2, "legacy/denied": 1},
		}},
	}, {
		name: "many-groups-wildcard-allowed",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "many-groups-impersonater"}, info: getPod,
			as: transport.ImpersonationConfig{UserName: "bob", Groups: []string{"group1", "group2", "group3", "group4"}},
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				allow(constrained("user-info", "users", "", "bob")),
				allow(constrained("user-info", "groups", "", "*")),
			},
			code: ok, attempt: "user-info", user: &request.User{Name: "bob", Groups: []string{"group1", "group2", "group3", "group4", "system:authenticated"}},
			authorizations: map[string]int{"user-info/allowed": 3},
		}},
	}, {
		name: "many-extras-wildcard-allowed",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "many-extras-impersonater"}, info: getPod,
			as: transport.ImpersonationConfig{UserName: "alice", Extra: map[string][]string{
				"scopes.example.com/key1": {"val1"}, "scopes.example.com/key2": {"val2"}, "scopes.example.com/key3": {"val3"}, "scopes.example.com/key4": {"val4"}}},
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				allow(constrained("user-info", "users", "", "alice")),
				allow(extraCheck("user-info", "*", "*")),
			},
			code: ok, attempt: "user-info",
			user: &request.User{Name: "alice", Groups: []string{"system:authenticated"}, Extra: map[string][]string{
				"scopes.example.com/key1": {"val1"}, "scopes.example.com/key2": {"val2"}, "scopes.example.com/key3": {"val3"}, "scopes.example.com/key4": {"val4"}}},
			authorizations: map[string]int{"user-info/allowed": 3},
		}},
	}, {
		name: "mixed-groups-extras-wildcard-denied-individuals-allowed",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "mixed-impersonater"}, info: getPod,
			as: transport.ImpersonationConfig{UserName: "frank", Groups: []string{"dev", "ops", "security", "audit"},
				Extra: map[string][]string{"tags.io/env": {"prod", "staging", "dev"}}},
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				allow(constrained("user-info", "users", "", "frank")),
				deny(constrained("user-info", "groups", "", "*")),
				allow(constrained("user-info", "groups", "", "dev")),
				allow(constrained("user-info", "groups", "", "ops")),
				allow(constrained("user-info", "groups", "", "security")),
				allow(constrained("user-info", "groups", "", "audit")),
				allow(extraCheck("user-info", "tags.io/env", "prod")),
				allow(extraCheck("user-info", "tags.io/env", "staging")),
				allow(extraCheck("user-info", "tags.io/env", "dev")),
			},
			code: ok, attempt: "user-info",
			user: &request.User{Name: "frank", Groups: []string{"dev", "ops", "security", "audit", "system:authenticated"},
				Extra: map[string][]string{"tags.io/env": {"prod", "staging", "dev"}}},
			authorizations: map[string]int{"user-info/allowed": 9, "user-info/denied": 1},
		}},
	}, {
		name: "continuous-same-allowed-user-requests",
		requests: []impersonationRequest{{
			requestor: userImpersonator, info: getDeployment, as: transport.ImpersonationConfig{UserName: "bob"},
			checks: []impersonationCheck{
				allow(on(getDeployment, "user-info", "")),
				allow(constrained("user-info", "users", "", "bob")),
			},
			code: ok, attempt: "user-info", user: &request.User{Name: "bob", Groups: []string{"system:authenticated"}},
			authorizations: map[string]int{"user-info/allowed": 2},
		}, {
			// the outer cache: no check at all
			requestor: userImpersonator, info: getDeployment, as: transport.ImpersonationConfig{UserName: "bob"},
			code: ok, attempt: "user-info", user: &request.User{Name: "bob", Groups: []string{"system:authenticated"}},
		}},
	}, {
		name: "impersonating-user-with-uid",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "user-impersonater", UID: "requestor-uid-123"}, info: getPod,
			as: transport.ImpersonationConfig{UserName: "anyone", UID: "wanted-uid-456"},
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				allow(constrained("user-info", "users", "", "anyone")),
				allow(constrained("user-info", "uids", "", "wanted-uid-456")),
			},
			code: ok, attempt: "user-info", user: &request.User{Name: "anyone", UID: "wanted-uid-456", Groups: []string{"system:authenticated"}},
			authorizations: map[string]int{"user-info/allowed": 3},
		}},
	}, {
		name: "impersonating-user-subresource-request",
		requests: []impersonationRequest{{
			requestor: userImpersonator, as: anyone,
			info: &request.Info{IsResourceRequest: true, Verb: "get", APIVersion: "v1", Resource: "pods", Subresource: "status", Name: "foo", Namespace: "bar"},
			checks: []impersonationCheck{
				allow(on(&request.Info{IsResourceRequest: true, Verb: "get", APIVersion: "v1", Resource: "pods", Subresource: "status", Name: "foo", Namespace: "bar"}, "user-info", "")),
				allow(constrained("user-info", "users", "", "anyone")),
			},
			code: ok, attempt: "user-info", user: anyoneAuthenticated,
			authorizations: map[string]int{"user-info/allowed": 2},
		}},
	}, {
		name: "impersonating-user-non-resource-request",
		requests: []impersonationRequest{{
			requestor: userImpersonator, as: anyone, info: &request.Info{Verb: "get", Path: "/healthz"},
			checks: []impersonationCheck{
				allow(on(&request.Info{Verb: "get", Path: "/healthz"}, "user-info", "")),
				allow(constrained("user-info", "users", "", "anyone")),
			},
			code: ok, attempt: "user-info", user: anyoneAuthenticated,
			authorizations: map[string]int{"user-info/allowed": 2},
		}},
	}, {
		name: "impersonating-user-with-field-and-label-selectors",
		requests: []impersonationRequest{{
			requestor: userImpersonator, as: anyone,
			info:  &request.Info{IsResourceRequest: true, Verb: "list", APIVersion: "v1", Resource: "pods", Namespace: "bar"},
			query: "fieldSelector=spec.nodeName%3Dnode1&labelSelector=app%3Dweb",
			checks: []impersonationCheck{
				allow(on(&request.Info{IsResourceRequest: true, Verb: "list", APIVersion: "v1", Resource: "pods", Namespace: "bar"}, "user-info",
					"fieldSelector=spec.nodeName%3Dnode1&labelSelector=app%3Dweb")),
				allow(constrained("user-info", "users", "", "anyone")),
			},
			code: ok, attempt: "user-info", user: anyoneAuthenticated,
			authorizations: map[string]int{"user-info/allowed": 2},
		}},
	}, {
		name: "legacy-fallback",
		requests: []impersonationRequest{{
			requestor: &request.User{Name: "legacy-impersonater"}, info: getPod, as: anyone,
			checks: []impersonationCheck{
				allow(on(getPod, "user-info", "")),
				deny(constrained("user-info", "users", "", "anyone")),
				allow(legacy("", "users", "", "anyone")),
			},
			code: ok, attempt: "legacy", user: anyoneAuthenticated,
			authorizations: map[string]int{"user-info/allowed": 1, "user-info/denied": 1, "legacy/allowed": 1},
		}, {
			// the mode that last allowed is tried first
			requestor: &request.User{Name: "legacy-impersonater"}, info: getDeployment, as: anyone,
			checks: []impersonationCheck{allow(legacy("", "users", "", "anyone"))},
			code:   ok, attempt: "legacy", user: anyoneAuthenticated,
			authorizations: map[string]int{"legacy/allowed": 1},
		}},
	}}
}

// TestConstrainedImpersonation: see constrainedImpersonationCases.
func TestConstrainedImpersonation(t *testing.T) {
	for _, c := range constrainedImpersonationCases() {
		t.Run(c.name, func(t *testing.T) {
			h := newImpersonationHarness(kubeConstrainedRules)
			for i, r := range c.requests {
				h.check(t, i, r)
			}
		})
	}
}

// kubeLegacyRules are the rules of the authorizer of kube's
// TestImpersonationFilter (impersonation_test.go), which kube runs through
// the constrained filter too: none grants a constrained verb.
func kubeLegacyRules(a authz.Attributes) (authz.Decision, string, error) {
	u := a.User
	group := func(i int, g string) bool { return len(u.Groups) > i && u.Groups[i] == g }
	imp := func(res string) bool { return a.Verb == "impersonate" && a.Resource == res }
	switch {
	case u.Name == "system:admin":
		return authz.Allow, "", nil
	case u.Name == "tester":
		return authz.NoOpinion, "", errors.New("works on my machine")
	case u.Name == "deny-me":
		return authz.NoOpinion, "denied", nil
	}
	switch {
	case group(0, "wheel") && imp("users"),
		group(0, "sa-impersonater") && imp("serviceaccounts"),
		group(0, "regular-impersonater") && imp("users"),
		group(1, "group-impersonater") && imp("groups"),
		group(1, "extra-setter-scopes") && imp("userextras") && a.Subresource == "scopes",
		group(1, "escaped-scopes"), group(1, "almost-escaped-scopes"),
		group(1, "extra-setter-particular-scopes") && imp("userextras") && a.Subresource == "scopes" && a.Name == "scope-a" && a.APIGroup == "authentication.k8s.io",
		group(1, "extra-setter-project") && imp("userextras") && a.Subresource == "project" && a.APIGroup == "authentication.k8s.io",
		group(0, "everything-impersonater") && imp("users") && a.APIGroup == "",
		group(0, "everything-impersonater") && imp("uids") && a.Name == "some-uid" && a.APIGroup == "authentication.k8s.io",
		group(0, "everything-impersonater") && imp("groups") && a.APIGroup == "",
		group(0, "everything-impersonater") && imp("userextras") && a.Subresource == "scopes" && a.APIGroup == "authentication.k8s.io":
		return authz.Allow, "", nil
	}
	return authz.NoOpinion, "deny by default", nil
}

// impersonationOutcome is one request through a new filter, and what
// kube answers.
type impersonationOutcome struct {
	name      string
	requestor *request.User
	info      *request.Info
	as        transport.ImpersonationConfig
	header    http.Header // sent as is
	code      int
	message   string
	user      *request.User
	mode      string // that allowed it; "" for any
}

// legacyImpersonationCases are kube's TestImpersonationFilter's, through
// the constrained filter: legacy impersonation works as before, and a
// refusal is the first mode's (user-info's impersonate-on for a user).
func legacyImpersonationCases() []impersonationOutcome {
	info := &request.Info{IsResourceRequest: true, Verb: "get", APIVersion: "v1", Resource: "pods"}
	devIn := func(groups ...string) *request.User { return &request.User{Name: "dev", Groups: groups} }
	admin := &request.User{Name: "system:admin"}
	const devRefused = `pods is forbidden: User "dev" cannot impersonate-on:user-info:get resource "pods" in API group "" at the cluster scope: deny by default`
	cases := []impersonationOutcome{
		{name: "impersonating-error", requestor: &request.User{Name: "tester"}, as: transport.ImpersonationConfig{UserName: "anyone"},
			code: 403, message: `pods is forbidden: User "tester" cannot impersonate-on:user-info:get resource "pods" in API group "" at the cluster scope: works on my machine`},
		{name: "impersonating-group-without-user", requestor: &request.User{Name: "tester"}, as: transport.ImpersonationConfig{Groups: []string{"some-group"}},
			code: 400, message: `requested &user.DefaultInfo{Name:"", UID:"", Groups:[]string{"some-group"}, Extra:map[string][]string(nil)} without impersonating a user name`},
		{name: "impersonating-extra-without-user", requestor: &request.User{Name: "tester"}, as: transport.ImpersonationConfig{Extra: map[string][]string{"scopes": {"scope-a"}}},
			code: 400, message: `requested &user.DefaultInfo{Name:"", UID:"", Groups:[]string(nil), Extra:map[string][]string{"scopes":[]string{"scope-a"}}} without impersonating a user name`},
		{name: "impersonating-uid-without-user", requestor: &request.User{Name: "tester"}, as: transport.ImpersonationConfig{UID: "some-uid"},
			code: 400, message: `requested &user.DefaultInfo{Name:"", UID:"some-uid", Groups:[]string(nil), Extra:map[string][]string(nil)} without impersonating a user name`},
		{name: "disallowed-group", requestor: devIn("wheel"), as: transport.ImpersonationConfig{UserName: "system:admin", Groups: []string{"some-group"}},
			code: 403, message: devRefused},
		{name: "allowed-group", requestor: devIn("wheel", "group-impersonater"), as: transport.ImpersonationConfig{UserName: "system:admin", Groups: []string{"some-group"}},
			code: 200, user: &request.User{Name: "system:admin", Groups: []string{"some-group", "system:authenticated"}}, mode: "legacy"},
		{name: "disallowed-userextra-1", requestor: devIn("wheel"),
			as:   transport.ImpersonationConfig{UserName: "system:admin", Groups: []string{"some-group"}, Extra: map[string][]string{"scopes": {"scope-a"}}},
			code: 403, message: devRefused},
		{name: "disallowed-userextra-2", requestor: devIn("wheel", "extra-setter-project"),
			as:   transport.ImpersonationConfig{UserName: "system:admin", Groups: []string{"some-group"}, Extra: map[string][]string{"scopes": {"scope-a"}}},
			code: 403, message: devRefused},
		{name: "disallowed-userextra-3", requestor: devIn("wheel", "extra-setter-particular-scopes"),
			as:   transport.ImpersonationConfig{UserName: "system:admin", Groups: []string{"some-group"}, Extra: map[string][]string{"scopes": {"scope-a", "scope-b"}}},
			code: 403, message: devRefused},
		{name: "allowed-userextras", requestor: devIn("wheel", "extra-setter-scopes"),
			as:   transport.ImpersonationConfig{UserName: "system:admin", Extra: map[string][]string{"scopes": {"scope-a", "scope-b"}}},
			code: 200, user: &request.User{Name: "system:admin", Groups: []string{"system:authenticated"}, Extra: map[string][]string{"scopes": {"scope-a", "scope-b"}}}, mode: "legacy"},
		// user-info refuses the key, which is no domain-prefixed path; legacy allows it
		{name: "percent-escaped-userextras", requestor: devIn("wheel", "escaped-scopes"),
			as:     transport.ImpersonationConfig{UserName: "system:admin"},
			header: http.Header{"Impersonate-Extra-Example.com%2fescaped%e1%9b%84scopes": {"scope-a", "scope-b"}},
			code:   200, user: &request.User{Name: "system:admin", Groups: []string{"system:authenticated"}, Extra: map[string][]string{"example.com/escapedᛄscopes": {"scope-a", "scope-b"}}}, mode: "legacy"},
		{name: "almost-percent-escaped-userextras", requestor: devIn("wheel", "almost-escaped-scopes"),
			as:     transport.ImpersonationConfig{UserName: "system:admin"},
			header: http.Header{"Impersonate-Extra-Almost%zzpercent%xxencoded": {"scope-a", "scope-b"}},
			code:   200, user: &request.User{Name: "system:admin", Groups: []string{"system:authenticated"}, Extra: map[string][]string{"almost%zzpercent%xxencoded": {"scope-a", "scope-b"}}}, mode: "legacy"},
		{name: "allowed-users-impersonation", requestor: devIn("regular-impersonater"), as: transport.ImpersonationConfig{UserName: "tester"},
			code: 200, user: &request.User{Name: "tester", Groups: []string{"system:authenticated"}}, mode: "legacy"},
		{name: "disallowed-impersonating", requestor: devIn("sa-impersonater"), as: transport.ImpersonationConfig{UserName: "tester"},
			code: 403, message: devRefused},
		{name: "allowed-sa-impersonating", requestor: devIn("sa-impersonater"), as: transport.ImpersonationConfig{UserName: "system:serviceaccount:foo:default"},
			code: 200, user: &request.User{Name: "system:serviceaccount:foo:default", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:foo", "system:authenticated"}}, mode: "legacy"},
		// system:admin may do anything: the user-info mode allows first
		{name: "anonymous-username-prevents-adding-authenticated-group", requestor: admin, as: transport.ImpersonationConfig{UserName: "system:anonymous"},
			code: 200, user: &request.User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}, mode: "user-info"},
		{name: "unauthenticated-group-prevents-adding-authenticated-group", requestor: admin, as: transport.ImpersonationConfig{UserName: "unknown", Groups: []string{"system:unauthenticated"}},
			code: 200, user: &request.User{Name: "unknown", Groups: []string{"system:unauthenticated"}}, mode: "user-info"},
		{name: "unauthenticated-group-prevents-double-adding-authenticated-group", requestor: admin, as: transport.ImpersonationConfig{UserName: "unknown", Groups: []string{"system:authenticated"}},
			code: 200, user: &request.User{Name: "unknown", Groups: []string{"system:authenticated"}}, mode: "user-info"},
		{name: "specified-authenticated-group-prevents-double-adding-authenticated-group", requestor: devIn("wheel", "group-impersonater"),
			as:   transport.ImpersonationConfig{UserName: "system:admin", Groups: []string{"some-group", "system:authenticated"}},
			code: 200, user: &request.User{Name: "system:admin", Groups: []string{"some-group", "system:authenticated"}}, mode: "legacy"},
		{name: "anonymous-user-prevents-double-adding-unauthenticated-group", requestor: admin, as: transport.ImpersonationConfig{UserName: "system:anonymous", Groups: []string{"system:unauthenticated"}},
			code: 200, user: &request.User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}, mode: "user-info"},
		{name: "allowed-user-impersonation-with-uid", requestor: devIn("everything-impersonater"), as: transport.ImpersonationConfig{UserName: "tester", UID: "some-uid"},
			code: 200, user: &request.User{Name: "tester", UID: "some-uid", Groups: []string{"system:authenticated"}}, mode: "legacy"},
		{name: "disallowed-user-impersonation-with-uid", requestor: devIn("everything-impersonater"), as: transport.ImpersonationConfig{UserName: "tester", UID: "disallowed-uid"},
			code: 403, message: devRefused},
		{name: "allowed-impersonation-with-all-headers", requestor: devIn("everything-impersonater"),
			as: transport.ImpersonationConfig{UserName: "tester", UID: "some-uid", Groups: []string{"system:authenticated"},
				Extra: map[string][]string{"scopes": {"scope-a", "scope-b"}}},
			code: 200, user: &request.User{Name: "tester", UID: "some-uid", Groups: []string{"system:authenticated"}, Extra: map[string][]string{"scopes": {"scope-a", "scope-b"}}}, mode: "legacy"},
	}
	for i := range cases {
		cases[i].info = info
	}
	return cases
}

// TestLegacyImpersonation: see legacyImpersonationCases.
func TestLegacyImpersonation(t *testing.T) {
	for _, c := range legacyImpersonationCases() {
		t.Run(c.name, func(t *testing.T) {
			h := newImpersonationHarness(kubeLegacyRules)
			code, msg := h.serve(t, impersonationRequest{requestor: c.requestor, info: c.info, as: c.as, header: c.header})
			if code != c.code || msg != c.message {
				t.Errorf("got %d %q, want %d %q", code, msg, c.code, c.message)
			}
			if code != http.StatusOK {
				return
			}
			if !reflect.DeepEqual(h.got, c.user) {
				t.Errorf("user %+v, want %+v", h.got, c.user)
			}
			if got := modeOfConstraint(h.constraint); got != c.mode {
				t.Errorf("allowed by %s, want %s", got, c.mode)
			}
		})
	}

	// Without impersonation headers, the request goes on as it came.
	h := newImpersonationHarness(kubeLegacyRules)
	h.handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(request.WithUser(context.Background(), &request.User{Name: "tester"})))
	if h.got == nil || h.got.Name != "tester" || h.audited != nil || len(h.az.take()) != 0 {
		t.Errorf("not impersonating: served as %+v, audited %+v", h.got, h.audited)
	}
}

// refusalRules allow everyone everything but what is listed.
func refusalRules(a authz.Attributes) (authz.Decision, string, error) {
	switch {
	case a.User.Name == "erring":
		return authz.NoOpinion, "because", errors.New("boom")
	case a.User.Name == "forbidding":
		return authz.Deny, "", authz.Forbidden(authz.Attributes{User: a.User, Verb: "x", ResourceRequest: true, Resource: "y"}, "as is")
	case a.Verb == "impersonate" || a.Verb == "impersonate:associated-node" || a.Verb == "impersonate:arbitrary-node":
		return authz.NoOpinion, "deny by default", nil
	}
	return authz.Allow, "", nil
}

// impersonationRefusalCases: what the constrained modes refuse whatever
// the authorizer says, and how a refusal is worded, as kube's
// constrained_impersonation.go and mode.go do (with refusalRules).
func impersonationRefusalCases() []impersonationOutcome {
	sa := &request.User{Name: "system:serviceaccount:default:agent", Extra: map[string][]string{
		"authentication.kubernetes.io/node-name": {"node1"}, "authentication.kubernetes.io/pod-name": {"p"}}}
	bob := &request.User{Name: "bob"}
	extra := func(h ...string) http.Header {
		hdr := http.Header{}
		for i := 0; i < len(h); i += 2 {
			hdr[h[i]] = append(hdr[h[i]], h[i+1])
		}
		return hdr
	}
	cases := []impersonationOutcome{{
		// the node is checked as "*": one answer for every node of the requestor
		name: "associated node without impersonate:associated-node", requestor: sa, as: transport.ImpersonationConfig{UserName: "system:node:node1"},
		code: 403, message: `nodes.authentication.k8s.io "*" is forbidden: User "system:serviceaccount:default:agent" cannot impersonate:associated-node resource "nodes" in API group "authentication.k8s.io" at the cluster scope: deny by default`,
	}, {
		name: "another node", requestor: sa, as: transport.ImpersonationConfig{UserName: "system:node:node2"},
		code: 403, message: `nodes.authentication.k8s.io "node2" is forbidden: User "system:serviceaccount:default:agent" cannot impersonate:arbitrary-node resource "nodes" in API group "authentication.k8s.io" at the cluster scope: deny by default`,
	}, {
		// a node's or service account's groups are the server's: with groups, only legacy applies
		name: "node with groups", requestor: bob, as: transport.ImpersonationConfig{UserName: "system:node:node1", Groups: []string{"system:nodes"}},
		code: 403, message: `users "system:node:node1" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope: deny by default`,
	}, {
		name: "service account with groups", requestor: bob, as: transport.ImpersonationConfig{UserName: "system:serviceaccount:ns:sa", Groups: []string{"g"}},
		code: 403, message: `serviceaccounts "sa" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "ns": deny by default`,
	}, {
		name: "service account", requestor: bob, as: transport.ImpersonationConfig{UserName: "system:serviceaccount:ns:sa"},
		code: 200, user: &request.User{Name: "system:serviceaccount:ns:sa", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"}},
	}, {
		// not a valid node name, nor service account: any user, for user-info
		name: "invalid node name", requestor: bob, as: transport.ImpersonationConfig{UserName: "system:node:Not_A_Node"},
		code: 200, user: &request.User{Name: "system:node:Not_A_Node", Groups: []string{"system:authenticated"}},
	}, {
		name: "invalid service account name", requestor: bob, as: transport.ImpersonationConfig{UserName: "system:serviceaccount:ns:a:b"},
		code: 200, user: &request.User{Name: "system:serviceaccount:ns:a:b", Groups: []string{"system:authenticated"}},
	}, {
		name: "empty group", requestor: bob, as: transport.ImpersonationConfig{UserName: "alice", Groups: []string{"dev", ""}},
		code: 403, message: `groups.authentication.k8s.io is forbidden: User "bob" cannot impersonate:user-info resource "groups" in API group "authentication.k8s.io" at the cluster scope: impersonating the empty string group is not allowed`,
	}, {
		name: "invalid extra key", requestor: bob, as: transport.ImpersonationConfig{UserName: "alice", Extra: map[string][]string{"scopes": {"a"}}},
		code: 403, message: `userextras.authentication.k8s.io is forbidden: User "bob" cannot impersonate:user-info resource "userextras" in API group "authentication.k8s.io" at the cluster scope: impersonating an invalid key in extra is not allowed: extra.key: Invalid value: "scopes": must be a domain-prefixed path (such as "acme.io/foo")`,
	}, {
		// %53 is S: the key is lower-cased before it is unescaped
		name: "upper-case extra key", requestor: bob, as: transport.ImpersonationConfig{UserName: "alice"}, header: extra("Impersonate-Extra-Example.com%2f%53copes", "a"),
		code: 403, message: `userextras.authentication.k8s.io is forbidden: User "bob" cannot impersonate:user-info resource "userextras" in API group "authentication.k8s.io" at the cluster scope: impersonating a non-lowercase key in extra is not allowed: "example.com/Scopes"`,
	}, {
		name: "empty extra value", requestor: bob, as: transport.ImpersonationConfig{UserName: "alice", Extra: map[string][]string{"example.com/scopes": {"a", ""}}},
		code: 403, message: `userextras.authentication.k8s.io is forbidden: User "bob" cannot impersonate:user-info resource "userextras" in API group "authentication.k8s.io" at the cluster scope: impersonating the empty string value in extra is not allowed`,
	}, {
		name: "an authorizer's error and reason", requestor: &request.User{Name: "erring"}, as: transport.ImpersonationConfig{UserName: "alice"},
		code: 403, message: `pods "foo" is forbidden: User "erring" cannot impersonate-on:user-info:get resource "pods" in API group "" in the namespace "bar": boom: because`,
	}, {
		name: "an authorizer's forbidden error, as is", requestor: &request.User{Name: "forbidding"}, as: transport.ImpersonationConfig{UserName: "alice"},
		code: 403, message: `y is forbidden: User "forbidding" cannot x resource "y" in API group "" at the cluster scope: as is`,
	}}
	for i := range cases {
		cases[i].info = getPod
	}
	return cases
}

// TestImpersonationRefusals: see impersonationRefusalCases.
func TestImpersonationRefusals(t *testing.T) {
	for _, c := range impersonationRefusalCases() {
		t.Run(c.name, func(t *testing.T) {
			h := newImpersonationHarness(refusalRules)
			code, msg := h.serve(t, impersonationRequest{requestor: c.requestor, info: c.info, as: c.as, header: c.header})
			if code != c.code || msg != c.message {
				t.Errorf("got %d %q, want %d %q", code, msg, c.code, c.message)
			}
			if code == http.StatusOK && !reflect.DeepEqual(h.got, c.user) {
				t.Errorf("user %+v, want %+v", h.got, c.user)
			}
		})
	}
}

// TestImpersonationConcurrent sends many impersonations at once through
// one filter (kube's TestConstrainedImpersonationParallel): each gets its
// own answer, whatever the shared caches hold.
func TestImpersonationConcurrent(t *testing.T) {
	az := &recordingAuthorizer{rules: kubeConstrainedRules}
	handler := Impersonate(az, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(request.UserFrom(r.Context()))
	}))
	wants := []struct {
		requestor string
		info      *request.Info
		as        string
		code      int
		groups    []string
	}{
		{"user-impersonater", getPod, "alice", 200, []string{"system:authenticated"}},
		{"user-impersonater", createPod, "alice", 403, nil},
		{"user-impersonater", getPod, "bob", 200, []string{"system:authenticated"}},
		{"node-impersonater", getPod, "system:node:node1", 200, []string{"system:nodes", "system:authenticated"}},
		{"node-impersonater", getPod, "system:node:node2", 200, []string{"system:nodes", "system:authenticated"}},
		{"sa-impersonater", listPods, "system:serviceaccount:default:default", 200, []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}},
		{"legacy-impersonater", getDeployment, "bob", 200, []string{"system:authenticated"}},
		{"sa-impersonater", getPod, "system:node:node1", 403, nil},
	}
	var wg sync.WaitGroup
	for i := range 25 * len(wants) {
		w := wants[i%len(wants)]
		wg.Go(func() {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Impersonate-User", w.as)
			r = r.WithContext(request.WithInfo(request.WithUser(r.Context(), &request.User{Name: w.requestor}), w.info))
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, r)
			if rec.Code != w.code {
				t.Errorf("%s as %s: %d, want %d", w.requestor, w.as, rec.Code, w.code)
				return
			}
			if w.code != 200 {
				return
			}
			var got request.User
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Name != w.as || !reflect.DeepEqual(got.Groups, w.groups) {
				t.Errorf("%s as %s: served as %+v (%v), want groups %v", w.requestor, w.as, got, err, w.groups)
			}
		})
	}
	wg.Wait()
}

// BenchmarkImpersonation measures an impersonated request through the
// filter (kube's BenchmarkImpersonation): legacy (the mode index sends it
// straight to the legacy checks), constrained served from the outer cache,
// and constrained with a new request each time (the inner cache: one
// impersonate-on check).
func BenchmarkImpersonation(b *testing.B) {
	for _, c := range []struct {
		name      string
		requestor string
		as        string
		vary      bool
	}{
		{"legacy", "legacy-impersonater", "anyone", false},
		{"constrained-cached", "user-impersonater", "anyone", false},
		{"constrained-new-request", "user-impersonater", "anyone", true},
		{"associated-node", "system:serviceaccount:default:default", "system:node:node1", false},
	} {
		b.Run(c.name, func(b *testing.B) {
			handler := Impersonate(authorizerFunc(func(a authz.Attributes) (authz.Decision, string, error) {
				if a.Verb == "impersonate" && a.User.Name != "legacy-impersonater" {
					return authz.NoOpinion, "", nil
				}
				return authz.Allow, "", nil
			}), nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			requestor := &request.User{Name: c.requestor, Extra: map[string][]string{"authentication.kubernetes.io/node-name": {"node1"}}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				info := getPod
				if c.vary {
					i++
					info = &request.Info{IsResourceRequest: true, Verb: "get", APIVersion: "v1", Resource: "pods", Name: "p" + strconv.Itoa(i), Namespace: "bar"}
				}
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Impersonate-User", c.as)
				r = r.WithContext(request.WithInfo(request.WithUser(r.Context(), requestor), info))
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}

type authorizerFunc func(authz.Attributes) (authz.Decision, string, error)

func (f authorizerFunc) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	return f(a)
}

// TestLegacyImpersonationFilter: with the ConstrainedImpersonation gate
// off, kube's filter of before the feature (LegacyImpersonate). Kube's
// TestImpersonationFilter cases (legacyImpersonationCases) get the same
// codes and users, refusals name the "impersonate" verb on the identity
// the first failing check was about, checked in the old order (user,
// groups, extra, uid), and a header without a user is the old 400.
// Constrained rights allow nothing, and no impersonation metric counts.
func TestLegacyImpersonationFilter(t *testing.T) {
	for _, c := range legacyImpersonationCases() {
		t.Run(c.name, func(t *testing.T) {
			h := newImpersonationHarnessOf(LegacyImpersonate, kubeLegacyRules)
			code, msg := h.serve(t, impersonationRequest{requestor: c.requestor, info: c.info, as: c.as, header: c.header})
			if code != c.code {
				t.Fatalf("got %d %q, want %d", code, msg, c.code)
			}
			switch {
			case code == http.StatusForbidden && (!strings.Contains(msg, " cannot impersonate resource ") || strings.Contains(msg, "impersonate-on")):
				t.Errorf("refusal %q does not name the legacy verb on an identity", msg)
			case code == http.StatusOK && (!reflect.DeepEqual(h.got, c.user) || h.constraint != ""):
				t.Errorf("user %+v (constraint %q), want %+v", h.got, h.constraint, c.user)
			}
		})
	}
	tester, dev := &request.User{Name: "tester"}, &request.User{Name: "dev", Groups: []string{"wheel"}}
	info := &request.Info{IsResourceRequest: true, Verb: "get", APIVersion: "v1", Resource: "pods"}
	for _, c := range []struct {
		requestor *request.User
		as        transport.ImpersonationConfig
		code      int
		message   string
	}{
		{tester, transport.ImpersonationConfig{UserName: "anyone"}, 403,
			`users "anyone" is forbidden: User "tester" cannot impersonate resource "users" in API group "" at the cluster scope: works on my machine`},
		{tester, transport.ImpersonationConfig{Groups: []string{"some-group"}}, 400,
			fmt.Sprintf("requested %v without impersonating a user", []corev1.ObjectReference{{Kind: "Group", Name: "some-group"}})},
		{tester, transport.ImpersonationConfig{UID: "u", Extra: map[string][]string{"scopes": {"a"}}}, 400,
			`requested [{UserExtra  a  authentication.k8s.io/v1  scopes} {UID  u  authentication.k8s.io/v1  }] without impersonating a user`},
		// The groups before the uid, as the old filter asks.
		{dev, transport.ImpersonationConfig{UserName: "tester", UID: "x", Groups: []string{"g"}}, 403,
			`groups "g" is forbidden: User "dev" cannot impersonate resource "groups" in API group "" at the cluster scope: deny by default`},
	} {
		h := newImpersonationHarnessOf(LegacyImpersonate, kubeLegacyRules)
		if code, msg := h.serve(t, impersonationRequest{requestor: c.requestor, info: info, as: c.as}); code != c.code || msg != c.message {
			t.Errorf("as %+v: got %d %q, want %d %q", c.as, code, msg, c.code, c.message)
		}
	}

	// Constrained rights: user-info may act as alice for gets of pods.
	constrainedOnly := func(a authz.Attributes) (authz.Decision, string, error) {
		if a.Verb == "impersonate:user-info" && a.Resource == "users" || a.Verb == "impersonate-on:user-info:get" && a.Resource == "pods" {
			return authz.Allow, "", nil
		}
		return authz.NoOpinion, "deny by default", nil
	}
	bob := &request.User{Name: "bob"}
	asAlice := transport.ImpersonationConfig{UserName: "alice"}
	if code, msg := newImpersonationHarness(constrainedOnly).serve(t, impersonationRequest{requestor: bob, info: info, as: asAlice}); code != 200 {
		t.Fatalf("constrained filter: %d %q", code, msg)
	}
	attempts, checks := impersonationCounts(t)
	code, msg := newImpersonationHarnessOf(LegacyImpersonate, constrainedOnly).serve(t, impersonationRequest{requestor: bob, info: info, as: asAlice})
	if want := `users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope: deny by default`; code != 403 || msg != want {
		t.Errorf("legacy filter, constrained rights only: %d %q, want 403 %q", code, msg, want)
	}
	attemptsAfter, checksAfter := impersonationCounts(t)
	if d := countsSince(attempts, attemptsAfter); d != nil {
		t.Errorf("the legacy filter counted attempts: %v", d)
	}
	if d := countsSince(checks, checksAfter); d != nil {
		t.Errorf("the legacy filter counted checks: %v", d)
	}
}
