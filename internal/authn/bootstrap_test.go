package authn

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/request"
)

// TestBootstrapTokens holds the authenticator to the cases of kube's own
// test (plugin/pkg/auth/authenticator/token/bootstrap), and a Secret of
// another type.
func TestBootstrapTokens(t *testing.T) {
	const id, secret = "foobar", "circumnavigation"
	now := metav1.Now()
	token := func(name string, data map[string]string, change func(*corev1.Secret)) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"},
			Type: "bootstrap.kubernetes.io/token", Data: map[string][]byte{}}
		for k, v := range map[string]string{"token-id": id, "token-secret": secret, "usage-bootstrap-authentication": "true"} {
			s.Data[k] = []byte(v)
		}
		for k, v := range data {
			if v == "" {
				delete(s.Data, k)
			} else {
				s.Data[k] = []byte(v)
			}
		}
		if change != nil {
			change(s)
		}
		return s
	}
	user := func(groups ...string) *request.User {
		return &request.User{Name: "system:bootstrap:" + id, Groups: groups}
	}
	for _, c := range []struct {
		name   string
		secret *corev1.Secret
		token  string
		want   *request.User // nil: not this authenticator's token
	}{
		{"valid token", token("bootstrap-token-foobar", nil, nil), id + "." + secret, user("system:bootstrappers")},
		{"valid token with extra group", token("bootstrap-token-foobar", map[string]string{"auth-extra-groups": "system:bootstrappers:foo"}, nil),
			id + "." + secret, user("system:bootstrappers", "system:bootstrappers:foo")},
		{"extra groups sorted, the default once", token("bootstrap-token-foobar", map[string]string{"auth-extra-groups": "system:bootstrappers:z,system:bootstrappers:a"}, nil),
			id + "." + secret, user("system:bootstrappers", "system:bootstrappers:a", "system:bootstrappers:z")},
		{"invalid group", token("bootstrap-token-foobar", map[string]string{"auth-extra-groups": "foo"}, nil), id + "." + secret, nil},
		{"invalid secret name", token("bad-name", nil, nil), id + "." + secret, nil},
		{"no usage", token("bootstrap-token-foobar", map[string]string{"usage-bootstrap-authentication": ""}, nil), id + "." + secret, nil},
		{"usage false", token("bootstrap-token-foobar", map[string]string{"usage-bootstrap-authentication": "false"}, nil), id + "." + secret, nil},
		{"wrong token", token("bootstrap-token-foobar", nil, nil), "barfoo." + secret, nil},
		{"wrong secret", token("bootstrap-token-foobar", nil, nil), id + ".circumnavigatio0", nil},
		{"id in the data not the token's", token("bootstrap-token-foobar", map[string]string{"token-id": "barfoo"}, nil), id + "." + secret, nil},
		{"deleted token", token("bootstrap-token-foobar", nil, func(s *corev1.Secret) { s.DeletionTimestamp = &now }), id + "." + secret, nil},
		{"expired token", token("bootstrap-token-foobar", map[string]string{"expiration": "2009-11-10T23:00:00Z"}, nil), id + "." + secret, nil},
		{"unreadable expiration", token("bootstrap-token-foobar", map[string]string{"expiration": "tomorrow"}, nil), id + "." + secret, nil},
		{"not expired token", token("bootstrap-token-foobar", map[string]string{"expiration": "2109-11-10T23:00:00Z"}, nil), id + "." + secret, user("system:bootstrappers")},
		{"another type", token("bootstrap-token-foobar", nil, func(s *corev1.Secret) { s.Type = corev1.SecretTypeOpaque }), id + "." + secret, nil},
		{"token id wrong length", token("bootstrap-token-foo", map[string]string{"token-id": "foo"}, nil), "foo." + secret, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &BootstrapTokens{Secret: func(_ context.Context, name string) (*corev1.Secret, error) {
				if name == c.secret.Name {
					return c.secret, nil
				}
				return nil, nil
			}}
			u, ok, err := b.AuthenticateToken(context.Background(), c.token, nil, &TokenUse{})
			if err != nil {
				t.Fatal(err)
			}
			if ok != (c.want != nil) || (ok && !reflect.DeepEqual(u, c.want)) {
				t.Fatalf("got %+v, %v; want %+v", u, ok, c.want)
			}
		})
	}
}
