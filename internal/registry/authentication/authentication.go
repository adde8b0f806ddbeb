// Package authentication holds the authentication.k8s.io/v1 resources,
// which are never stored: TokenReview (is this token valid, and whose is
// it?) and SelfSubjectReview (who am I? — kubectl auth whoami).
package authentication

import (
	"context"
	"errors"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/request"
)

// TokenAuthenticator checks a bearer token for one of audiences; good are
// those of them it is good for.
type TokenAuthenticator func(ctx context.Context, token string, audiences []string) (u *request.User, good []string, ok bool, err error)

// Resources returns the rows; tokens authenticates TokenReviews.
func Resources(tokens TokenAuthenticator, audiences []string) []*registry.Resource {
	return []*registry.Resource{
		{Group: "authentication.k8s.io", Version: "v1", Name: "selfsubjectreviews", Kind: "SelfSubjectReview",
			Verbs: []string{"create"}, Compute: selfSubjectReview},
		{Group: "authentication.k8s.io", Version: "v1", Name: "tokenreviews", Kind: "TokenReview",
			Verbs: []string{"create"}, Compute: tokenReview(tokens, audiences)},
	}
}

// UserInfo is the authentication.k8s.io form of a user.
func UserInfo(u *request.User) authenticationv1.UserInfo {
	info := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		info.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range u.Extra {
			info.Extra[k] = v
		}
	}
	return info
}

func selfSubjectReview(ctx context.Context, obj runtime.Object, _ *metav1.CreateOptions, validate registry.ValidateFunc) (runtime.Object, error) {
	// kube asks validating admission before anything else here.
	if err := validate.Check(ctx, obj); err != nil {
		return nil, err
	}
	u := request.UserFrom(ctx)
	if u == nil {
		return nil, apierrors.NewInternalError(errors.New("no user in the request context"))
	}
	out := obj.(*authenticationv1.SelfSubjectReview)
	out.Status.UserInfo = UserInfo(u)
	return out, nil
}

// tokenReview answers whether spec.token is valid for one of the spec's
// audiences (the API audiences when none is given).
func tokenReview(tokens TokenAuthenticator, apiAudiences []string) func(context.Context, runtime.Object, *metav1.CreateOptions, registry.ValidateFunc) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object, _ *metav1.CreateOptions, validate registry.ValidateFunc) (runtime.Object, error) {
		tr := obj.(*authenticationv1.TokenReview)
		if tr.Spec.Token == "" {
			return nil, apierrors.NewBadRequest("token is required for TokenReview in authentication")
		}
		if err := validate.Check(ctx, obj); err != nil {
			return nil, err
		}
		auds := tr.Spec.Audiences
		if len(auds) == 0 {
			auds = apiAudiences
		}
		tr.Status = authenticationv1.TokenReviewStatus{}
		u, good, ok, err := tokens(ctx, tr.Spec.Token, auds)
		switch {
		case err != nil:
			tr.Status.Error = err.Error()
		case !ok:
			tr.Status.Error = "invalid bearer token"
		case len(auds) > 0 && !slices.ContainsFunc(good, func(a string) bool { return slices.Contains(auds, a) }):
			// kube's check that the authenticator answered for the
			// audiences asked for.
			return nil, apierrors.NewInternalError(errors.New("error validating audiences"))
		default:
			tr.Status.Authenticated = true
			tr.Status.User = UserInfo(u)
			tr.Status.Audiences = good
		}
		return tr, nil
	}
}
