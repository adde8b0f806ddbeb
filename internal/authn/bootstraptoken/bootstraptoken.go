// Package bootstraptoken is the format of bootstrap tokens: Secrets of
// type bootstrap.kubernetes.io/token in kube-system, named
// bootstrap-token-<id>, which `kubeadm token create` writes so that a
// joining node can find the cluster (the signed cluster-info ConfigMap)
// and authenticate as system:bootstrap:<id> until it has a certificate.
//
// It follows k8s.io/cluster-bootstrap (token/api, util/secrets,
// util/tokens, token/jws), which kube-apiserver's authenticator and
// kube-controller-manager's bootstrap signer and token cleaner use; the
// authenticator (package authn) and the two loops (package controllers)
// share it here. Its tests hold the signature against cluster-bootstrap's
// own check, the one kubeadm's discovery runs.
package bootstraptoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The Secret's type, name and keys, and the cluster-info ConfigMap's.
const (
	SecretType   corev1.SecretType = "bootstrap.kubernetes.io/token"
	SecretPrefix                   = "bootstrap-token-"

	IDKey                  = "token-id"
	SecretKey              = "token-secret"
	ExpirationKey          = "expiration"
	ExtraGroupsKey         = "auth-extra-groups"
	UsageSigningKey        = "usage-bootstrap-signing"
	UsageAuthenticationKey = "usage-bootstrap-authentication"

	// ClusterInfo is the ConfigMap in kube-public whose KubeConfigKey the
	// signer signs, under SignaturePrefix+<id>, with every token that may
	// sign.
	ClusterInfo     = "cluster-info"
	KubeConfigKey   = "kubeconfig"
	SignaturePrefix = "jws-kubeconfig-"

	// UserPrefix+<id> is the token's user, in DefaultGroup and its extra
	// groups.
	UserPrefix   = "system:bootstrap:"
	DefaultGroup = "system:bootstrappers"

	groupPattern = `\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z`
)

var (
	tokenRe = regexp.MustCompile(`\A([a-z0-9]{6})\.([a-z0-9]{16})\z`)
	nameRe  = regexp.MustCompile(`^` + regexp.QuoteMeta(SecretPrefix) + `([a-z0-9]{6})$`)
	groupRe = regexp.MustCompile(groupPattern)
)

// Parse splits a bearer token "<id>.<secret>"; ok is false for anything
// else (another authenticator's token).
func Parse(token string) (id, secret string, ok bool) {
	m := tokenRe.FindStringSubmatch(token)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// IDFromName returns the id a Secret's name holds, bootstrap-token-<id>.
func IDFromName(name string) (string, bool) {
	m := nameRe.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Data returns the Secret's value of key, "" when it has none.
func Data(s *corev1.Secret, key string) string { return string(s.Data[key]) }

// Expiration says how long the token has left at now: 0 and false when it
// has no expiration, expired when its time has passed or cannot be read
// (RFC 3339), as cluster-bootstrap reads it.
func Expiration(s *corev1.Secret, now time.Time) (left time.Duration, expired bool) {
	v := Data(s, ExpirationKey)
	if v == "" {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return 0, true
	}
	if left = t.Sub(now); left <= 0 {
		return 0, true
	}
	return left, false
}

// Groups returns the token's groups, sorted: DefaultGroup and those of
// ExtraGroupsKey, each of which must be system:bootstrappers:<name>.
func Groups(s *corev1.Secret) ([]string, error) {
	groups := []string{DefaultGroup}
	if extra := Data(s, ExtraGroupsKey); extra != "" {
		for _, g := range strings.Split(extra, ",") {
			if !groupRe.MatchString(g) {
				return nil, fmt.Errorf("bootstrap group %q is invalid (must match %s)", g, groupPattern)
			}
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	return slices.Compact(groups), nil
}

// ForSigning returns the id and secret of a token that may sign
// cluster-info at now: named for its id, with a secret, not expired, and
// marked for signing (kube-controller-manager's validateSecretForSigning).
func ForSigning(s *corev1.Secret, now time.Time) (id, secret string, ok bool) {
	nameID, ok := IDFromName(s.Name)
	if !ok {
		return "", "", false
	}
	id, secret = Data(s, IDKey), Data(s, SecretKey)
	if id == "" || id != nameID || secret == "" {
		return "", "", false
	}
	if _, expired := Expiration(s, now); expired || Data(s, UsageSigningKey) != "true" {
		return "", "", false
	}
	return id, secret, true
}

// DetachedSignature signs content with the token as cluster-bootstrap's
// jws.ComputeDetachedSignature does: a compact JWS, HS256 keyed with the
// secret, "kid" the id, without its payload ("<header>..<signature>").
// kubeadm's discovery computes the same string and compares.
func DetachedSignature(content, id, secret string) string {
	enc := base64.RawURLEncoding
	// go-jose writes the protected header's keys sorted.
	header := enc.EncodeToString(fmt.Appendf(nil, `{"alg":"HS256","kid":%q}`, id))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(header + "." + enc.EncodeToString([]byte(content))))
	return header + ".." + enc.EncodeToString(mac.Sum(nil))
}
