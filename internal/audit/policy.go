// Package audit records what was done to the API server, as
// kube-apiserver's auditing does: a policy (audit.k8s.io/v1 Policy) says
// at which level each request is recorded, each request yields one
// audit.k8s.io/v1 Event per stage, and sinks (a log file, a webhook) take
// the events asynchronously, so that a slow or broken sink never slows a
// request down: what does not fit their buffer is dropped and counted.
package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"
)

// levels orders the audit levels: a level records everything the levels
// before it record.
var levels = map[auditv1.Level]int{
	auditv1.LevelNone:            0,
	auditv1.LevelMetadata:        1,
	auditv1.LevelRequest:         2,
	auditv1.LevelRequestResponse: 3,
}

var stages = map[auditv1.Stage]bool{
	auditv1.StageRequestReceived:  true,
	auditv1.StageResponseStarted:  true,
	auditv1.StageResponseComplete: true,
	auditv1.StagePanic:            true,
}

// atLeast reports whether level l records what min records.
func atLeast(l, min auditv1.Level) bool { return levels[l] >= levels[min] }

// LoadPolicy reads an audit.k8s.io/v1 Policy from a YAML or JSON file.
func LoadPolicy(path string) (*auditv1.Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading audit policy: %w", err)
	}
	p, err := ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("audit policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy decodes and validates an audit.k8s.io/v1 Policy in YAML or
// JSON. As kube-apiserver, unknown fields are only warned about, but an
// unknown level or stage, a missing or other apiVersion or kind, or a
// policy without rules are errors.
func ParsePolicy(b []byte) (*auditv1.Policy, error) {
	js, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	p := &auditv1.Policy{}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		if !strings.Contains(err.Error(), "unknown field") {
			return nil, fmt.Errorf("decoding: %w", err)
		}
		klog.Warningf("Audit policy contains errors, falling back to lenient decoding: %v", err)
		p = &auditv1.Policy{}
		if err := json.Unmarshal(js, p); err != nil {
			return nil, fmt.Errorf("decoding: %w", err)
		}
	}
	if gv := auditv1.SchemeGroupVersion.String(); p.APIVersion != gv || p.Kind != "Policy" {
		return nil, fmt.Errorf("apiVersion %q, kind %q: want apiVersion %q, kind \"Policy\"", p.APIVersion, p.Kind, gv)
	}
	if err := validatePolicy(p); err != nil {
		return nil, err
	}
	if len(p.Rules) == 0 {
		return nil, errors.New("loaded illegal policy with 0 rules")
	}
	return p, nil
}

// validatePolicy checks what kube-apiserver checks: known levels and
// stages, non-resource URLs starting with "/" with "*" only at the end,
// resourceNames only with resources, and rules about either resources or
// non-resource URLs.
func validatePolicy(p *auditv1.Policy) error {
	var errs []error
	errs = append(errs, validateStages("omitStages", p.OmitStages)...)
	for i, r := range p.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if r.Level == "" {
			errs = append(errs, fmt.Errorf("%s.level: Required value", path))
		} else if _, ok := levels[r.Level]; !ok {
			errs = append(errs, fmt.Errorf("%s.level: Unsupported value: %q: supported values: \"None\", \"Metadata\", \"Request\", \"RequestResponse\"", path, r.Level))
		}
		errs = append(errs, validateStages(path+".omitStages", r.OmitStages)...)
		for j, u := range r.NonResourceURLs {
			if u == "*" {
				continue
			}
			if !strings.HasPrefix(u, "/") {
				errs = append(errs, fmt.Errorf("%s.nonResourceURLs[%d]: Invalid value: %q: non-resource URL rules must begin with a '/' character", path, j, u))
			}
			if u != "" && strings.Contains(u[:len(u)-1], "*") {
				errs = append(errs, fmt.Errorf("%s.nonResourceURLs[%d]: Invalid value: %q: non-resource URL wildcards '*' must be the final character of the rule", path, j, u))
			}
		}
		if len(r.NonResourceURLs) > 0 && (len(r.Resources) > 0 || len(r.Namespaces) > 0) {
			errs = append(errs, fmt.Errorf("%s.nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs", path))
		}
		for _, gr := range r.Resources {
			if len(gr.ResourceNames) > 0 && len(gr.Resources) == 0 {
				errs = append(errs, fmt.Errorf("%s.resources.resourceNames: Invalid value: %q: using resourceNames requires at least one resource", path, gr.ResourceNames))
			}
			if gr.Group != "" && gr.Group != "*" {
				if msgs := validation.IsDNS1123Subdomain(gr.Group); len(msgs) > 0 {
					errs = append(errs, fmt.Errorf("%s.resources.group: Invalid value: %q: %s", path, gr.Group, strings.Join(msgs, ",")))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func validateStages(path string, ss []auditv1.Stage) []error {
	var errs []error
	for i, s := range ss {
		if !stages[s] {
			errs = append(errs, fmt.Errorf("%s[%d]: Invalid value: %q: allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic", path, i, s))
		}
	}
	return errs
}
