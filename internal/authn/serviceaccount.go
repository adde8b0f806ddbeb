package authn

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/klog/v2"

	"kapi/internal/request"
)

// Lookup finds an object a token names ("ServiceAccount", "Pod", "Secret",
// "Node"): its uid, and whether it exists.
type Lookup func(ctx context.Context, kind, namespace, name string) (uid string, found bool, err error)

// ServiceAccounts issues and authenticates service-account tokens: JWTs
// signed with --service-account-signing-key-file, verified with
// --service-account-key-file, whose issuer is one of
// --service-account-issuer and whose audience is one of --api-audiences.
// A token is refused once its service account (or the pod or secret it is
// bound to) is gone or replaced.
type ServiceAccounts struct {
	Issuers   []string // the first issues
	Audiences []string
	Keys      KeySet
	Signer    TokenSigner
	Lookup    Lookup
	// LegacySecret reads a legacy token's Secret: its "token" and its
	// labels; found is false when the Secret is gone or being deleted.
	// Without it a legacy token is checked against its Secret's existence
	// only.
	LegacySecret func(ctx context.Context, namespace, name string) (token []byte, labels map[string]string, found bool, err error)
	// LegacyServiceAccount reads a legacy token's ServiceAccount: its uid
	// and the names of the Secrets it lists (.secrets, where
	// kube-controller-manager put the token Secrets it made before 1.24);
	// found is false when it is gone or being deleted. A legacy token of
	// a Secret its account lists is an auto-generated one, any other a
	// manually created one. Without it the account is checked against its
	// existence and uid only, and every legacy token counts as manual.
	LegacyServiceAccount func(ctx context.Context, namespace, name string) (uid string, secrets []string, found bool, err error)
	// LegacyTokenUsed labels a legacy token's Secret as used on date
	// (kubernetes.io/legacy-token-last-used), as kube-apiserver's legacy
	// token tracking does once a day per Secret; kube-controller-manager's
	// legacy-service-account-token-cleaner reads the label.
	LegacyTokenUsed func(ctx context.Context, namespace, name, date string) error
	// NoLegacyLookup is --service-account-lookup=false: a legacy token is
	// taken on its signature and claims alone, its Secret and account not
	// read, its use not tracked (kube's legacy validator without lookup).
	NoLegacyLookup bool
	// MaxExpiration is --service-account-max-token-expiration: a
	// TokenRequest for longer is shortened to it (0: no limit).
	MaxExpiration time.Duration
	Now           func() time.Time
}

// Ref names an object a token is bound to.
type Ref struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

type kubeClaims struct {
	Namespace      string `json:"namespace"`
	ServiceAccount *Ref   `json:"serviceaccount,omitempty"`
	Pod            *Ref   `json:"pod,omitempty"`
	Secret         *Ref   `json:"secret,omitempty"`
	Node           *Ref   `json:"node,omitempty"`
	// WarnAfter is an extended token's "warnafter" (Unix seconds).
	WarnAfter int64 `json:"warnafter,omitempty"`
}

// claims of a kube service-account token, bound (kubernetes.io) or legacy
// (kubernetes.io/serviceaccount/*).
type claims struct {
	Issuer     string      `json:"iss"`
	Subject    string      `json:"sub"`
	Audience   audience    `json:"aud,omitempty"`
	Expiry     int64       `json:"exp,omitempty"`
	IssuedAt   int64       `json:"iat,omitempty"`
	NotBefore  int64       `json:"nbf,omitempty"`
	ID         string      `json:"jti,omitempty"`
	Kubernetes *kubeClaims `json:"kubernetes.io,omitempty"`

	LegacyNamespace string `json:"kubernetes.io/serviceaccount/namespace,omitempty"`
	LegacySecret    string `json:"kubernetes.io/serviceaccount/secret.name,omitempty"`
	LegacyName      string `json:"kubernetes.io/serviceaccount/service-account.name,omitempty"`
	LegacyUID       string `json:"kubernetes.io/serviceaccount/service-account.uid,omitempty"`
}

// audience is a JWT "aud": one string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// legacyIssuer is the issuer of the old secret-based tokens.
const legacyIssuer = "kubernetes/serviceaccount"

// Token is what Issue needs to know.
type Token struct {
	Namespace, ServiceAccount, ServiceAccountUID string
	Audiences                                    []string
	// Expiration is the token's lifetime, as the caller decided it
	// (shortened to --service-account-max-token-expiration, or extended).
	Expiration time.Duration
	// BoundKind is "Pod", "Secret", "Node" or "".
	BoundKind string
	Bound     Ref
	// Node is, for a pod-bound token, the pod's node (its name, and uid
	// when known): named in the token, not checked when it is used.
	Node *Ref
	// WarnAfter is, for an extended token, when its use starts being
	// recorded as stale (kube's "warnafter" claim); zero for none.
	WarnAfter time.Time
}

// Issue signs a bound token now; it returns the token and its expiry.
func (s *ServiceAccounts) Issue(ctx context.Context, t Token) (string, time.Time, error) {
	return s.IssueAt(ctx, t, s.now())
}

// IssueAt signs a bound token issued at now.
func (s *ServiceAccounts) IssueAt(ctx context.Context, t Token, now time.Time) (string, time.Time, error) {
	if s.Signer == nil {
		return "", time.Time{}, errors.New("no service-account signing key")
	}
	exp := t.Expiration
	aud := t.Audiences
	if len(aud) == 0 {
		aud = s.Audiences
	}
	var jti [16]byte
	rand.Read(jti[:])
	c := claims{
		Issuer: s.Issuers[0], Subject: ServiceAccountUser(t.Namespace, t.ServiceAccount), Audience: aud,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(exp).Unix(), ID: hex.EncodeToString(jti[:]),
		Kubernetes: &kubeClaims{Namespace: t.Namespace, ServiceAccount: &Ref{Name: t.ServiceAccount, UID: t.ServiceAccountUID}},
	}
	switch t.BoundKind {
	case "Pod":
		c.Kubernetes.Pod = &t.Bound
		c.Kubernetes.Node = t.Node
	case "Secret":
		c.Kubernetes.Secret = &t.Bound
	case "Node":
		c.Kubernetes.Node = &t.Bound
	}
	if !t.WarnAfter.IsZero() {
		c.Kubernetes.WarnAfter = t.WarnAfter.Unix()
	}
	tok, err := s.Signer.Sign(ctx, c)
	return tok, now.Add(exp), err
}

func (s *ServiceAccounts) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ServiceAccountUser is the user name of a service account.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// SplitServiceAccountUser splits system:serviceaccount:<ns>:<name>.
func SplitServiceAccountUser(user string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(user, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	return namespace, name, ok && namespace != "" && name != ""
}

// ServiceAccountGroups are the groups of a service account's user.
func ServiceAccountGroups(namespace string) []string {
	return []string{request.ServiceAccountGroup, request.ServiceAccountGroup + ":" + namespace}
}

// AuthenticateToken implements TokenAuthenticator for the JWTs of one of
// the accepted issuers: checks token for one of audiences (nil: the API
// audiences). Its use is counted, and recorded into use: the audit
// annotations of a legacy or stale token, the warning to the user of an
// auto-generated legacy token.
func (s *ServiceAccounts) AuthenticateToken(ctx context.Context, token string, audiences []string, use *TokenUse) (*request.User, bool, error) {
	if audiences == nil {
		audiences = s.Audiences
	}
	var c claims
	err := verifyJWT(ctx, token, s.Keys, &c)
	if errors.Is(err, errNotJWT) {
		return nil, false, nil
	}
	if err != nil {
		// Not signed by our keys: another issuer's token is not ours.
		if unverifiedIssuer(token) != "" && !s.acceptsIssuer(unverifiedIssuer(token)) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("service account token: %w", err)
	}
	if !s.acceptsIssuer(c.Issuer) {
		return nil, false, nil
	}
	if len(c.Audience) == 0 {
		// As kube's JWT authenticator: a token without an audience is a
		// legacy one, counted whether or not it is then accepted.
		use.Annotate(annotationLegacyToken, c.Subject)
		legacyTokensTotal.WithLabelValues().Inc()
	}
	// As kube's: a token is good for the audiences asked for that it
	// names (a legacy one, without an audience, for the API audiences);
	// checked before its expiry and its objects.
	tokenAuds := []string(c.Audience)
	if len(tokenAuds) == 0 {
		tokenAuds = s.Audiences
	}
	auds := authenticator.Audiences(tokenAuds).Intersect(audiences)
	if len(auds) == 0 && len(s.Audiences) != 0 {
		return nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", tokenAuds, audiences)
	}
	use.Audiences(auds)
	if c.Issuer == legacyIssuer {
		return s.legacy(ctx, token, &c, use)
	}
	now := s.now()
	if c.Expiry != 0 && now.Unix() >= c.Expiry {
		return nil, false, errors.New("service account token has expired")
	}
	if c.NotBefore != 0 && now.Add(time.Minute).Unix() < c.NotBefore {
		return nil, false, errors.New("service account token is not valid yet")
	}
	k := c.Kubernetes
	if k == nil || k.ServiceAccount == nil {
		return nil, false, errors.New("service account token lacks its kubernetes.io claims")
	}
	ns, name, ok := SplitServiceAccountUser(c.Subject)
	if !ok || ns != k.Namespace || name != k.ServiceAccount.Name {
		return nil, false, errors.New("service account token subject does not match its claims")
	}
	if err := s.exists(ctx, "ServiceAccount", ns, *k.ServiceAccount); err != nil {
		return nil, false, err
	}
	u := &request.User{Name: c.Subject, UID: k.ServiceAccount.UID, Groups: ServiceAccountGroups(ns), Extra: map[string][]string{}}
	// The bound object must still be there, with its uid. A pod-bound
	// token's node is only named (the pod's node when it was issued);
	// a node-bound token's node is checked. The user's extra names the
	// pod and the node, not a secret, as kube's.
	for _, b := range []struct {
		kind string
		ref  *Ref
	}{{"Pod", k.Pod}, {"Secret", k.Secret}, {"Node", k.Node}} {
		if b.ref == nil || (b.kind == "Node" && k.Pod != nil) {
			continue
		}
		bns := ns
		if b.kind == "Node" {
			bns = ""
		}
		if err := s.exists(ctx, b.kind, bns, *b.ref); err != nil {
			return nil, false, err
		}
	}
	use.warnAfter(c.Subject, k.WarnAfter, now)
	if k.Pod != nil && k.Pod.Name != "" && k.Pod.UID != "" {
		u.Extra["authentication.kubernetes.io/pod-name"] = []string{k.Pod.Name}
		u.Extra["authentication.kubernetes.io/pod-uid"] = []string{k.Pod.UID}
	}
	if k.Node != nil && k.Node.Name != "" {
		u.Extra["authentication.kubernetes.io/node-name"] = []string{k.Node.Name}
		if k.Node.UID != "" {
			u.Extra["authentication.kubernetes.io/node-uid"] = []string{k.Node.UID}
		}
	}
	if c.ID != "" {
		u.Extra["authentication.kubernetes.io/credential-id"] = []string{"JTI=" + c.ID}
	}
	return u, true, nil
}

// legacy authenticates an old secret-based token as kube-apiserver's
// legacy validator: its claims complete, its Secret still there (not
// being deleted) and holding this very token, its service account there
// with the uid it names. With the Secret read (LegacySecret), its use is
// tracked as kube tracks it: a Secret marked invalid is refused (counted
// and labelled as used all the same); an auto-generated token (its Secret
// listed by its account) gets kube's warning; each kind is counted and
// annotated (see TokenUse: a refused token's annotations are dropped).
func (s *ServiceAccounts) legacy(ctx context.Context, token string, c *claims, use *TokenUse) (*request.User, bool, error) {
	for _, claim := range []struct{ name, value string }{{"sub", c.Subject}, {"namespace", c.LegacyNamespace},
		{"secretName", c.LegacySecret}, {"serviceAccountName", c.LegacyName}, {"serviceAccountUID", c.LegacyUID}} {
		if claim.value == "" {
			return nil, false, fmt.Errorf("%s claim is missing", claim.name)
		}
	}
	ns, name, ok := SplitServiceAccountUser(c.Subject)
	if !ok || ns != c.LegacyNamespace || name != c.LegacyName {
		return nil, false, errors.New("sub claim is invalid")
	}
	u := &request.User{Name: c.Subject, UID: c.LegacyUID, Groups: ServiceAccountGroups(ns)}
	if s.NoLegacyLookup {
		return u, true, nil
	}
	if s.LegacySecret == nil {
		if err := s.exists(ctx, "Secret", ns, Ref{Name: c.LegacySecret}); err != nil {
			return nil, false, err
		}
		if err := s.exists(ctx, "ServiceAccount", ns, Ref{Name: name, UID: c.LegacyUID}); err != nil {
			return nil, false, err
		}
		s.legacyUsed(ctx, ns, c.LegacySecret, nil)
		return u, true, nil
	}
	stored, labels, found, err := s.LegacySecret(ctx, ns, c.LegacySecret)
	if err != nil || !found {
		return nil, false, errors.New("Token has been invalidated")
	}
	if subtle.ConstantTimeCompare(stored, []byte(token)) != 1 {
		return nil, false, errors.New("Token does not match server's copy")
	}
	autoGenerated, err := s.legacyAccount(ctx, ns, name, c.LegacyUID, c.LegacySecret)
	if err != nil {
		return nil, false, err
	}
	// Tracked, as kube-apiserver tracks legacy tokens (the ConfigMap
	// kube-apiserver-legacy-service-account-token-tracking says since
	// when), also when the token is refused for having been invalidated.
	if labels[legacyTokenInvalidSince] != "" {
		// kube's value is the Secret's name, then its namespace; its token
		// cache drops it with the refused token's other annotations.
		use.Annotate(annotationLegacyTokenInvalidated, c.LegacySecret+"/"+ns)
		invalidLegacyTokensTotal.WithLabelValues().Inc()
		s.legacyUsed(ctx, ns, c.LegacySecret, labels)
		return nil, false, fmt.Errorf("the token in secret %s/%s for service account %s/%s has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the '%s' label from the secret to temporarily allow use of this token",
			ns, c.LegacySecret, ns, name, legacyTokenInvalidSince)
	}
	if autoGenerated {
		use.Warn(warningAutoGeneratedToken)
		use.Annotate(annotationLegacyTokenAutoGenerated, c.LegacySecret)
		autoLegacyTokensTotal.WithLabelValues().Inc()
	} else {
		use.Annotate(annotationLegacyTokenManual, c.LegacySecret)
		manualLegacyTokensTotal.WithLabelValues().Inc()
	}
	s.legacyUsed(ctx, ns, c.LegacySecret, labels)
	return u, true, nil
}

// legacyAccount checks a legacy token's service account (there, not being
// deleted, of the uid the token names) and tells whether it lists the
// token's Secret, which makes the token an auto-generated one.
func (s *ServiceAccounts) legacyAccount(ctx context.Context, ns, name, uid, secret string) (autoGenerated bool, err error) {
	if s.LegacyServiceAccount == nil {
		return false, s.exists(ctx, "ServiceAccount", ns, Ref{Name: name, UID: uid})
	}
	got, secrets, found, err := s.LegacyServiceAccount(ctx, ns, name)
	switch {
	case err != nil:
		return false, fmt.Errorf("looking up ServiceAccount %s/%s: %w", ns, name, err)
	case !found:
		return false, fmt.Errorf("ServiceAccount %s/%s has been deleted", ns, name)
	case got != uid:
		return false, fmt.Errorf("ServiceAccount UID (%s) does not match claim (%s)", got, uid)
	}
	return slices.Contains(secrets, secret), nil
}

// The labels of legacy token tracking and clean-up.
const (
	legacyTokenLastUsed     = "kubernetes.io/legacy-token-last-used"
	legacyTokenInvalidSince = "kubernetes.io/legacy-token-invalid-since"
)

// legacyUsed records today's use of a legacy token unless its Secret
// says today (or tomorrow: another server's clock) already; a failure is
// only logged.
func (s *ServiceAccounts) legacyUsed(ctx context.Context, ns, secret string, labels map[string]string) {
	if s.LegacyTokenUsed == nil {
		return
	}
	now := s.now().UTC()
	today, tomorrow := now.Format(time.DateOnly), now.AddDate(0, 0, 1).Format(time.DateOnly)
	if last := labels[legacyTokenLastUsed]; last == today || last == tomorrow {
		return
	}
	if err := s.LegacyTokenUsed(ctx, ns, secret, today); err != nil {
		klog.ErrorS(err, "recording the use of a legacy service-account token", "secret", ns+"/"+secret)
	}
}

// LegacyToken signs the token kube-controller-manager's token controller
// puts into a Secret of type kubernetes.io/service-account-token: issuer
// kubernetes/serviceaccount, no audience and no expiry, the service
// account and the Secret in kubernetes.io/serviceaccount/* claims.
func LegacyToken(ctx context.Context, signer TokenSigner, namespace, serviceAccount, serviceAccountUID, secret string) (string, error) {
	if signer == nil {
		return "", errors.New("no service-account signing key")
	}
	return signer.Sign(ctx, claims{Issuer: legacyIssuer, Subject: ServiceAccountUser(namespace, serviceAccount),
		LegacyNamespace: namespace, LegacySecret: secret, LegacyName: serviceAccount, LegacyUID: serviceAccountUID})
}

// exists refuses a token whose object is gone or was replaced.
func (s *ServiceAccounts) exists(ctx context.Context, kind, ns string, ref Ref) error {
	uid, found, err := s.Lookup(ctx, kind, ns, ref.Name)
	if err != nil {
		return fmt.Errorf("looking up %s %s/%s: %w", kind, ns, ref.Name, err)
	}
	if !found {
		return fmt.Errorf("%s %s/%s has been deleted", kind, ns, ref.Name)
	}
	if ref.UID != "" && uid != ref.UID {
		return fmt.Errorf("%s %s/%s uid (%s) does not match the token's (%s)", kind, ns, ref.Name, uid, ref.UID)
	}
	return nil
}

func (s *ServiceAccounts) acceptsIssuer(iss string) bool {
	return iss == legacyIssuer || slices.Contains(s.Issuers, iss)
}

// unverifiedIssuer reads "iss" without checking the signature, to tell
// another issuer's token (not ours: next authenticator) from a forged one.
func unverifiedIssuer(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	json.Unmarshal(b, &c)
	return c.Issuer
}
