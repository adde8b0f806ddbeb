package authz

import (
	"context"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"kapi/internal/request"
)

// RulesFor says that AlwaysAllow allows everything, as kube-apiserver's
// AlwaysAllow answers a SelfSubjectRulesReview.
func (AlwaysAllow) RulesFor(context.Context, *request.User, string) ([]ResourceRule, []NonResourceRule, bool, error) {
	return []ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
		[]NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}, false, nil
}

// UnionRules lists the rules of every resolver, in the order of
// --authorization-mode (the rule resolvers of the authorizers in the
// Union). The answer is incomplete if any part is, and carries every
// part's error.
type UnionRules []RuleResolver

// RulesFor implements RuleResolver.
func (u UnionRules) RulesFor(ctx context.Context, user *request.User, namespace string) ([]ResourceRule, []NonResourceRule, bool, error) {
	var (
		resource    []ResourceRule
		nonResource []NonResourceRule
		incomplete  bool
		errs        []error
	)
	for _, r := range u {
		rr, nr, inc, err := r.RulesFor(ctx, user, namespace)
		resource = append(resource, rr...)
		nonResource = append(nonResource, nr...)
		incomplete = incomplete || inc
		if err != nil {
			errs = append(errs, err)
		}
	}
	return resource, nonResource, incomplete, utilerrors.NewAggregate(errs)
}
