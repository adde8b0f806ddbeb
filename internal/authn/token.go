package authn

import (
	"context"
	"net/http"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/authenticator"

	"kapi/internal/audit"
	"kapi/internal/request"
)

// TokenAuthenticator checks bearer tokens: the token file, service-account
// tokens, identity providers' JWTs, a token webhook. It checks token for
// one of audiences (nil: the API server's own, as for a request) and
// records into use the audit annotations and warnings that the request
// carrying the token gets if the token is accepted. ok is false when the
// token is not of its kind; err is a token of its kind that is bad.
//
// An authenticator records into a TokenUse rather than into the request's
// context so that its answer is a value: a refused token leaves nothing
// on the request, and the token cache keeps a success's annotations and
// warnings with its user and gives them to every request it answers from
// memory, as kube-apiserver's token cache replays them.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string, audiences []string, use *TokenUse) (u *request.User, ok bool, err error)
}

// TokenUnion asks each token authenticator in order, as kube's union
// does: the first that accepts the token decides; one that finds it bad
// (an error) does not stop the others, and when none accepts it the
// errors are the answer.
type TokenUnion []TokenAuthenticator

// AuthenticateToken implements TokenAuthenticator.
func (un TokenUnion) AuthenticateToken(ctx context.Context, token string, audiences []string, use *TokenUse) (*request.User, bool, error) {
	var errs []error
	for _, a := range un {
		// What a refusing authenticator recorded is not the request's.
		var mine TokenUse
		u, ok, err := a.AuthenticateToken(ctx, token, audiences, &mine)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			use.add(&mine)
			return u, true, nil
		}
	}
	return nil, false, utilerrors.NewAggregate(errs)
}

// AuthenticateToken asks tokens about token for audiences and, when the
// token is accepted, records what they recorded on ctx's request: its
// audit annotations and its warnings. auds are those of the audiences
// asked for that the token is good for (kube's Response.Audiences).
// TokenReview asks this way; the request path asks through Bearer.
func AuthenticateToken(ctx context.Context, tokens TokenAuthenticator, token string, audiences []string) (u *request.User, auds []string, ok bool, err error) {
	var use TokenUse
	u, ok, err = tokens.AuthenticateToken(ctx, token, audiences, &use)
	if !ok || err != nil {
		return nil, nil, false, err
	}
	use.record(ctx)
	return u, use.audiences, true, nil
}

// Bearer authenticates a request by its "Authorization: Bearer" token.
type Bearer struct{ Tokens TokenAuthenticator }

// AuthenticateRequest implements Authenticator.
func (b Bearer) AuthenticateRequest(r *http.Request) (*request.User, bool, error) {
	token, ok := BearerToken(r)
	if !ok {
		return nil, false, nil
	}
	u, _, ok, err := AuthenticateToken(r.Context(), b.Tokens, token, nil)
	return u, ok, err
}

// TokenUse is what authenticating one token records for the request that
// carries it: audit annotations ("authentication.k8s.io/legacy-token":
// "system:serviceaccount:ns:sa", ...) and warnings to its client. The
// request gets them only when the token is accepted: kube-apiserver
// authenticates a token in a context of its own (its token cache's) and
// passes what it collected on to the request when the token is accepted,
// and drops it when the token is refused. So a refused token leaves no
// annotation, not even kube's "legacy-token-invalidated"; its metrics are
// counted all the same.
//
// It also holds the audiences, of those asked for, that an accepted token
// is good for: a TokenReview answers with them.
type TokenUse struct {
	annotations [][2]string
	warnings    []string
	audiences   []string
}

// Annotate records an audit annotation; as on an audit event, a key
// keeps its first value.
func (u *TokenUse) Annotate(key, value string) {
	u.annotations = append(u.annotations, [2]string{key, value})
}

// Warn records a warning to the client.
func (u *TokenUse) Warn(text string) { u.warnings = append(u.warnings, text) }

// Audiences records the audiences the token is good for.
func (u *TokenUse) Audiences(auds []string) { u.audiences = auds }

// add records everything other recorded.
func (u *TokenUse) add(other *TokenUse) {
	u.annotations = append(u.annotations, other.annotations...)
	u.warnings = append(u.warnings, other.warnings...)
	if other.audiences != nil {
		u.audiences = other.audiences
	}
}

// record adds the annotations to ctx's audit event and the warnings to its
// response.
func (u *TokenUse) record(ctx context.Context) {
	for _, a := range u.annotations {
		audit.AddAnnotation(ctx, a[0], a[1])
	}
	for _, w := range u.warnings {
		request.AddWarning(ctx, w)
	}
}

// AudienceAgnostic wraps an authenticator whose tokens are not checked
// for the audiences asked for (the token file, bootstrap tokens, identity
// providers' JWTs, whose audiences are their clients'). As kube's
// WrapAudienceAgnosticToken, such a token is good for the API audiences
// only: asked for other audiences (a TokenReview's), it is not this
// authenticator's; accepted, it is good for those of the API audiences
// asked for.
type AudienceAgnostic struct {
	APIAudiences []string
	Tokens       TokenAuthenticator
}

// AuthenticateToken implements TokenAuthenticator.
func (a AudienceAgnostic) AuthenticateToken(ctx context.Context, token string, audiences []string, use *TokenUse) (*request.User, bool, error) {
	if audiences == nil {
		return a.Tokens.AuthenticateToken(ctx, token, audiences, use)
	}
	auds := authenticator.Audiences(a.APIAudiences).Intersect(audiences)
	if len(auds) == 0 {
		return nil, false, nil
	}
	u, ok, err := a.Tokens.AuthenticateToken(ctx, token, audiences, use)
	if ok && err == nil {
		use.Audiences(auds)
	}
	return u, ok, err
}
