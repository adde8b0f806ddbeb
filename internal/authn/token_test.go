package authn

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"kapi/internal/request"
)

// TestAudienceAgnostic: a token that names no audience is good for the
// API audiences, and not for others (a TokenReview's), as kube's
// WrapAudienceAgnosticToken makes it.
func TestAudienceAgnostic(t *testing.T) {
	file := &TokenFile{tokens: map[string]*request.User{"t0k3n": {Name: "alice"}}}
	a := AudienceAgnostic{APIAudiences: []string{"https://kubernetes.default.svc", "api"}, Tokens: file}
	for _, c := range []struct {
		audiences []string
		want      bool
	}{{nil, true}, {[]string{"api"}, true}, {[]string{"vault", "https://kubernetes.default.svc"}, true}, {[]string{"vault"}, false}} {
		_, ok, err := a.AuthenticateToken(context.Background(), "t0k3n", c.audiences, &TokenUse{})
		if err != nil || ok != c.want {
			t.Errorf("audiences %q: got %v, %v; want %v", c.audiences, ok, err, c.want)
		}
	}
}

// tokenFunc is a TokenAuthenticator of a function.
type tokenFunc func(use *TokenUse) (*request.User, bool, error)

func (f tokenFunc) AuthenticateToken(_ context.Context, _ string, _ []string, use *TokenUse) (*request.User, bool, error) {
	return f(use)
}

// TestTokenUnion: as kube's union, an authenticator that finds the token
// bad does not stop the next from accepting it; what a refusing one
// recorded is dropped; when none accepts, the errors are the answer.
func TestTokenUnion(t *testing.T) {
	badBecause := func(why string) tokenFunc {
		return func(use *TokenUse) (*request.User, bool, error) {
			use.Annotate("refused", "yes")
			return nil, false, errors.New(why)
		}
	}
	bad := badBecause("token expired")
	notMine := tokenFunc(func(*TokenUse) (*request.User, bool, error) { return nil, false, nil })
	good := tokenFunc(func(use *TokenUse) (*request.User, bool, error) {
		use.Warn("accepted")
		return &request.User{Name: "alice"}, true, nil
	})
	var use TokenUse
	u, ok, err := TokenUnion{bad, notMine, good}.AuthenticateToken(context.Background(), "t", nil, &use)
	if err != nil || !ok || u.Name != "alice" {
		t.Fatalf("got %+v, %v, %v; want alice", u, ok, err)
	}
	if len(use.annotations) != 0 || !reflect.DeepEqual(use.warnings, []string{"accepted"}) {
		t.Fatalf("recorded %+v, want the accepting authenticator's warning only", use)
	}
	_, ok, err = TokenUnion{bad, notMine, badBecause("bad issuer")}.AuthenticateToken(context.Background(), "t", nil, &TokenUse{})
	if ok || err == nil || err.Error() != "[token expired, bad issuer]" {
		t.Fatalf("none accepting: %v, %v", ok, err)
	}
	if _, ok, err = (TokenUnion{notMine}).AuthenticateToken(context.Background(), "t", nil, &TokenUse{}); ok || err != nil {
		t.Fatalf("nobody's token: %v, %v", ok, err)
	}
}
