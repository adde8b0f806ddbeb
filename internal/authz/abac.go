package authz

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/klog/v2"
	sigsjson "sigs.k8s.io/json"

	"kapi/internal/request"
)

// ABAC is kube's attribute-based authorizer (--authorization-mode=ABAC):
// the policies of --authorization-policy-file, each allowing what it
// matches; what none matches has no opinion ("No policy matched."). It
// follows kube's pkg/auth/authorizer/abac, which is not importable.
type ABAC []abacSpec

// abacSpec is a policy, kube's abac.PolicySpec.
type abacSpec struct {
	User            string `json:"user,omitempty"`
	Group           string `json:"group,omitempty"`
	Readonly        bool   `json:"readonly,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	NonResourcePath string `json:"nonResourcePath,omitempty"`
}

const (
	abacGroup     = "abac.authorization.kubernetes.io"
	abacV1beta1   = abacGroup + "/v1beta1"
	abacV0        = abacGroup + "/v0"
	authenticated = "system:authenticated"
)

// LoadABAC reads a policy file as kube does: one JSON policy a line,
// blank lines and lines starting with # skipped; a line of
// abac.authorization.kubernetes.io/v1beta1 is taken as it is, one of v0
// or without a version as v0 (with kube's warning), converted as kube
// converts it.
func LoadABAC(path string) (ABAC, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out ABAC
	sc := bufio.NewScanner(f)
	unversioned := 0
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if t := strings.TrimSpace(string(b)); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		p, v0, err := parseABAC(b)
		if err != nil {
			return nil, fmt.Errorf("error reading policy file %s, line %d: %s: %v", path, line, b, err)
		}
		if v0 {
			unversioned++
		}
		out = append(out, p)
	}
	if unversioned > 0 {
		klog.Warningf("Policy file %s contained unversioned rules. See docs/admin/authorization.md#abac-mode for ABAC file format details.", path)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("error reading policy file %s: %v", path, err)
	}
	return out, nil
}

// parseABAC reads one policy line; v0 reports an unversioned one.
func parseABAC(b []byte) (p abacSpec, v0 bool, err error) {
	var head struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Spec       abacSpec `json:"spec"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(b, &head); err != nil {
		return p, false, err
	}
	switch {
	case head.APIVersion == abacV1beta1 && head.Kind == "Policy":
		p = head.Spec
		// In v1beta1, * user or group maps to all authenticated subjects.
		if p.User == "*" || p.Group == "*" {
			p.Group, p.User = authenticated, ""
		}
		return p, false, nil
	case head.APIVersion == abacV0 && head.Kind == "Policy", head.APIVersion == "" || head.Kind == "":
		var old struct {
			User      string `json:"user,omitempty"`
			Group     string `json:"group,omitempty"`
			Readonly  bool   `json:"readonly,omitempty"`
			Resource  string `json:"resource,omitempty"`
			Namespace string `json:"namespace,omitempty"`
		}
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(b, &old); err != nil {
			return p, true, err
		}
		return abacFromV0(old.User, old.Group, old.Resource, old.Namespace, old.Readonly), true, nil
	}
	return p, false, fmt.Errorf("no kind %q is registered for version %q", head.Kind, head.APIVersion)
}

// abacFromV0 is kube's conversion of a v0 policy.
func abacFromV0(user, group, resource, namespace string, readonly bool) abacSpec {
	p := abacSpec{User: user, Group: group, Resource: resource, Namespace: namespace, Readonly: readonly, APIGroup: "*"}
	// Unspecified user and group, or either "*": every authenticated
	// subject.
	if user == "" && group == "" {
		p.Group = authenticated
	}
	if user == "*" || group == "*" {
		p.Group, p.User = authenticated, ""
	}
	if namespace == "" {
		p.Namespace = "*"
	}
	if resource == "" {
		p.Resource = "*"
	}
	// Neither namespace nor resource: non-resource paths too.
	if namespace == "" && resource == "" {
		p.NonResourcePath = "*"
	}
	return p
}

// Authorize implements Authorizer.
func (pl ABAC) Authorize(_ context.Context, a Attributes) (Decision, string, error) {
	for i := range pl {
		if pl[i].matches(a) {
			return Allow, "", nil
		}
	}
	return NoOpinion, "No policy matched.", nil
}

func (p *abacSpec) matches(a Attributes) bool {
	if !p.subjectMatches(a.User) {
		return false
	}
	// Every policy allows reads; a read-only one nothing else.
	if readOnly := a.Verb == "get" || a.Verb == "list" || a.Verb == "watch"; !readOnly && p.Readonly {
		return false
	}
	if a.ResourceRequest {
		return (p.Namespace == "*" || p.Namespace == a.Namespace) && (p.Resource == "*" || p.Resource == a.Resource) &&
			(p.APIGroup == "*" || p.APIGroup == a.APIGroup)
	}
	return p.NonResourcePath == "*" || p.NonResourcePath == a.Path ||
		strings.HasSuffix(p.NonResourcePath, "*") && strings.HasPrefix(a.Path, strings.TrimRight(p.NonResourcePath, "*"))
}

// subjectMatches: the user, if the policy names one ("*" any), and a
// group of the user's, if it names one; a policy naming neither matches
// no one.
func (p *abacSpec) subjectMatches(u *request.User) bool {
	if u == nil {
		return false
	}
	matched := false
	if p.User != "" {
		if matched = p.User == "*" || p.User == u.Name; !matched {
			return false
		}
	}
	if p.Group != "" {
		if matched = p.Group == "*" || slices.Contains(u.Groups, p.Group); !matched {
			return false
		}
	}
	return matched
}

// RulesFor implements RuleResolver, as kube's: the policies of the user
// in the namespace, a read-only one's verbs get, list and watch.
func (pl ABAC) RulesFor(_ context.Context, user *request.User, namespace string) ([]ResourceRule, []NonResourceRule, bool, error) {
	var rr []ResourceRule
	var nr []NonResourceRule
	for i := range pl {
		p := &pl[i]
		if !p.subjectMatches(user) || p.Namespace != "*" && p.Namespace != namespace {
			continue
		}
		verbs := []string{"*"}
		if p.Readonly {
			verbs = []string{"get", "list", "watch"}
		}
		if p.Resource != "" {
			rr = append(rr, ResourceRule{Verbs: verbs, APIGroups: []string{p.APIGroup}, Resources: []string{p.Resource}})
		}
		if p.NonResourcePath != "" {
			nr = append(nr, NonResourceRule{Verbs: verbs, NonResourceURLs: []string{p.NonResourcePath}})
		}
	}
	return rr, nr, false, nil
}
