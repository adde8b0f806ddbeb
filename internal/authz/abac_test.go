package authz

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kapi/internal/request"
)

func loadPolicies(t *testing.T, lines ...string) ABAC {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	pl, err := LoadABAC(path)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// TestABAC: kube's ABAC matching (its abac_test cases' rules): users,
// groups and "*", namespaces, resources, API groups, read-only policies,
// non-resource paths with a trailing "*", and v0 lines converted as kube
// converts them.
func TestABAC(t *testing.T) {
	pl := loadPolicies(t,
		`# comments and blank lines are skipped`,
		``,
		`{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"alice","namespace":"projectCaribou","resource":"pods","apiGroup":"*","readonly":true}}`,
		`{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"group":"devs","namespace":"*","resource":"deployments","apiGroup":"apps"}}`,
		`{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"*","nonResourcePath":"/version*","readonly":true}}`,
		`{"user":"bob","namespace":"projectCaribou"}`,
		`{"readonly":true}`,
	)
	alice := &request.User{Name: "alice", Groups: []string{"system:authenticated"}}
	bob := &request.User{Name: "bob", Groups: []string{"system:authenticated"}}
	dev := &request.User{Name: "carol", Groups: []string{"devs", "system:authenticated"}}
	anonymous := &request.User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}
	res := func(u *request.User, verb, group, resource, ns string) Attributes {
		return Attributes{User: u, Verb: verb, ResourceRequest: true, APIGroup: group, Resource: resource, Namespace: ns}
	}
	path := func(u *request.User, verb, p string) Attributes { return Attributes{User: u, Verb: verb, Path: p} }
	for _, c := range []struct {
		a    Attributes
		want Decision
	}{
		{res(alice, "get", "", "pods", "projectCaribou"), Allow},
		{res(alice, "delete", "", "pods", "projectCaribou"), NoOpinion},  // read-only for her; the v0 read-only rule is too
		{res(alice, "get", "", "secrets", "other"), Allow},               // the unversioned {"readonly":true}: every authenticated user reads
		{res(dev, "create", "apps", "deployments", "any"), Allow},        // her group, any namespace
		{res(dev, "create", "", "deployments", "any"), NoOpinion},        // not the core group
		{res(bob, "delete", "batch", "jobs", "projectCaribou"), Allow},   // v0: every resource and API group of the namespace
		{res(bob, "delete", "batch", "jobs", "elsewhere"), NoOpinion},    //
		{path(anonymous, "get", "/version"), NoOpinion},                  // user "*" is every authenticated user, as in kube
		{path(alice, "get", "/versions/x"), Allow},                       // trailing *
		{path(alice, "post", "/version"), NoOpinion},                     // read-only
		{path(alice, "get", "/healthz"), Allow},                          // the v0 {"readonly":true} allows every path to read
		{path(anonymous, "get", "/healthz"), NoOpinion},                  // but only to authenticated users
		{res(anonymous, "get", "", "pods", "projectCaribou"), NoOpinion}, //
	} {
		want := c.want
		d, reason, err := pl.Authorize(context.Background(), c.a)
		if err != nil || d != want || (d == NoOpinion && reason != "No policy matched.") {
			t.Errorf("%+v: %v %q %v, want %v", c.a, d, reason, err, want)
		}
	}

	// As kube's, the rules of the policies of her namespace or "*": the
	// /version* policy names no namespace, so it is not listed.
	rr, nr, incomplete, err := pl.RulesFor(context.Background(), alice, "projectCaribou")
	if err != nil || incomplete || len(rr) != 2 || len(nr) != 1 ||
		strings.Join(rr[0].Verbs, ",") != "get,list,watch" || rr[0].Resources[0] != "pods" || rr[1].Resources[0] != "*" ||
		nr[0].NonResourceURLs[0] != "*" {
		t.Errorf("alice's rules in projectCaribou: %+v %+v %v %v", rr, nr, incomplete, err)
	}
}

// TestABACLoadErrors: a line that is not a policy fails the load with
// kube's message naming the file and the line.
func TestABACLoadErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.jsonl")
	for _, line := range []string{`{"user":`, `{"apiVersion":"abac.authorization.kubernetes.io/v1","kind":"Policy","spec":{}}`} {
		os.WriteFile(path, []byte("# first\n"+line+"\n"), 0o600)
		_, err := LoadABAC(path)
		if err == nil || !strings.HasPrefix(err.Error(), "error reading policy file "+path+", line 2: "+line+": ") {
			t.Errorf("%s: %v", line, err)
		}
	}
	if _, err := LoadABAC(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing file loaded")
	}
}
