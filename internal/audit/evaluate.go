package audit

import (
	"slices"
	"strings"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/request"
)

// Config is how one request is audited: the level of the first matching
// rule, the stages not to record (the policy's and the rule's), and whether
// managedFields are left out of the request and response objects.
type Config struct {
	Level             auditv1.Level
	OmitStages        []auditv1.Stage
	OmitManagedFields bool
}

// omits reports whether stage s is not recorded.
func (c Config) omits(s auditv1.Stage) bool { return slices.Contains(c.OmitStages, s) }

// Evaluate finds the audit Config of a request from user u on what info
// describes, as kube-apiserver does: the rules in order, the first that
// matches wins; no match is level None.
//
// A rule matches when each of its non-empty lists matches: users (the
// user's name), userGroups (any of the user's groups), verbs, and then
// either resources and namespaces (resource requests only) or
// nonResourceURLs (non-resource requests only). Example:
//
//	rules:
//	- level: Metadata
//	  resources: [{group: "", resources: ["pods/status", "*/scale"]}]
//	  namespaces: ["default"]
//
// matches PUT /api/v1/namespaces/default/pods/p/status but not GET
// /api/v1/namespaces/default/pods/p.
func Evaluate(p *auditv1.Policy, u *request.User, info *request.Info) Config {
	for i := range p.Rules {
		r := &p.Rules[i]
		if ruleMatches(r, u, info) {
			omf := p.OmitManagedFields
			if r.OmitManagedFields != nil {
				omf = *r.OmitManagedFields
			}
			return Config{Level: r.Level, OmitStages: unionStages(p.OmitStages, r.OmitStages), OmitManagedFields: omf}
		}
	}
	return Config{Level: auditv1.LevelNone, OmitStages: p.OmitStages, OmitManagedFields: p.OmitManagedFields}
}

func unionStages(a, b []auditv1.Stage) []auditv1.Stage {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func ruleMatches(r *auditv1.PolicyRule, u *request.User, info *request.Info) bool {
	if len(r.Users) > 0 && (u == nil || !slices.Contains(r.Users, u.Name)) {
		return false
	}
	if len(r.UserGroups) > 0 && (u == nil || !slices.ContainsFunc(u.Groups, func(g string) bool { return slices.Contains(r.UserGroups, g) })) {
		return false
	}
	if len(r.Verbs) > 0 && !slices.Contains(r.Verbs, info.Verb) {
		return false
	}
	switch {
	case len(r.Namespaces) > 0 || len(r.Resources) > 0:
		return resourceMatches(r, info)
	case len(r.NonResourceURLs) > 0:
		return !info.IsResourceRequest && slices.ContainsFunc(r.NonResourceURLs, func(spec string) bool { return pathMatches(info.Path, spec) })
	}
	return true
}

// pathMatches matches a non-resource URL against "*", an exact path, or a
// prefix ending in "*" ("/healthz*" matches "/healthz" and "/healthz/etcd").
func pathMatches(path, spec string) bool {
	if spec == "*" || spec == path {
		return true
	}
	return strings.HasSuffix(spec, "*") && strings.HasPrefix(path, strings.TrimRight(spec, "*"))
}

// resourceMatches matches the namespaces (cluster-scoped requests have the
// namespace "") and the group resources of a rule. A resource entry is a
// resource ("pods"), a resource and subresource ("pods/status"), every
// subresource of a resource ("pods/*"), a subresource of every resource
// ("*/scale"), or everything ("*"); resourceNames restrict it to names.
func resourceMatches(r *auditv1.PolicyRule, info *request.Info) bool {
	if !info.IsResourceRequest {
		return false
	}
	if len(r.Namespaces) > 0 && !slices.Contains(r.Namespaces, info.Namespace) {
		return false
	}
	if len(r.Resources) == 0 {
		return true
	}
	combined := info.Resource
	if info.Subresource != "" {
		combined += "/" + info.Subresource
	}
	for _, gr := range r.Resources {
		if gr.Group != info.APIGroup && gr.Group != "*" {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		if len(gr.ResourceNames) > 0 && !slices.Contains(gr.ResourceNames, info.Name) {
			continue
		}
		for _, res := range gr.Resources {
			switch {
			case res == "*" || res == combined:
				return true
			case info.Subresource != "" && res == "*/"+info.Subresource:
				return true
			case strings.HasSuffix(res, "/*") && info.Resource == strings.TrimSuffix(res, "/*"):
				return true
			}
		}
	}
	return false
}
