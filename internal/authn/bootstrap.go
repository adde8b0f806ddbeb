package authn

import (
	"context"
	"crypto/subtle"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"kapi/internal/authn/bootstraptoken"
	"kapi/internal/request"
)

// BootstrapTokens authenticates bootstrap tokens ("<id>.<secret>") against
// their Secrets, kube-system/bootstrap-token-<id>, as kube-apiserver does
// with --enable-bootstrap-token-auth: the user system:bootstrap:<id>, in
// system:bootstrappers and the Secret's auth-extra-groups. A token whose
// Secret is missing, being deleted, of another type, with another secret
// or id, expired, not marked usage-bootstrap-authentication=true or with a
// bad group is not this authenticator's (kube logs why, at V(3), and
// lets the next authenticator try).
type BootstrapTokens struct {
	// Secret reads kube-system's Secret name; nil when there is none.
	Secret func(ctx context.Context, name string) (*corev1.Secret, error)
}

// AuthenticateToken implements TokenAuthenticator.
func (b *BootstrapTokens) AuthenticateToken(ctx context.Context, token string, _ []string, _ *TokenUse) (*request.User, bool, error) {
	id, secret, ok := bootstraptoken.Parse(token)
	if !ok {
		return nil, false, nil
	}
	s, err := b.Secret(ctx, bootstraptoken.SecretPrefix+id)
	if err != nil || s == nil {
		return nil, false, err
	}
	refuse := func(why string, args ...any) (*request.User, bool, error) {
		klog.V(3).Infof("Bootstrap secret %s/%s matching bearer token "+why, append([]any{s.Namespace, s.Name}, args...)...)
		return nil, false, nil
	}
	switch {
	case s.DeletionTimestamp != nil:
		return refuse("is deleted and awaiting removal")
	case s.Type != bootstraptoken.SecretType || s.Data == nil:
		return refuse("has invalid type, expected %s.", bootstraptoken.SecretType)
	case subtle.ConstantTimeCompare([]byte(bootstraptoken.Data(s, bootstraptoken.SecretKey)), []byte(secret)) != 1:
		return refuse("has invalid value for key %s.", bootstraptoken.SecretKey)
	case bootstraptoken.Data(s, bootstraptoken.IDKey) != id:
		return refuse("has invalid value for key %s.", bootstraptoken.IDKey)
	}
	if _, expired := bootstraptoken.Expiration(s, time.Now()); expired {
		return refuse("has expired.")
	}
	if bootstraptoken.Data(s, bootstraptoken.UsageAuthenticationKey) != "true" {
		return refuse("not marked %s=true.", bootstraptoken.UsageAuthenticationKey)
	}
	groups, err := bootstraptoken.Groups(s)
	if err != nil {
		return refuse("has invalid value for key %s: %v.", bootstraptoken.ExtraGroupsKey, err)
	}
	return &request.User{Name: bootstraptoken.UserPrefix + id, Groups: groups}, true, nil
}
