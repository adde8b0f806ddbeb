package e2e

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// tokenSecret is a Secret of type kubernetes.io/service-account-token
// for the service account sa.
func tokenSecret(name, sa string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
		Type: corev1.SecretTypeServiceAccountToken}
}

// refusedSoon tries until try's error is a 401, for 15 seconds, and
// returns its last error. kube-apiserver's token cache (kapi's too) keeps
// an accepted token for 10 seconds without checking its service account,
// Secret or pod again: a token accepted a moment ago whose object has
// since gone or changed is refused within 10 seconds, not at once.
func refusedSoon(try func() error) error {
	var err error
	waitUntil(15*time.Second, func() bool {
		err = try()
		return apierrors.IsUnauthorized(err)
	})
	return err
}

// whoAmI asks kapi who the bearer of token is (SelfSubjectReview).
func whoAmI(k *kapi, token string) (authenticationv1.UserInfo, error) {
	c := kubernetes.NewForConfigOrDie(&rest.Config{Host: k.srv.URL, BearerToken: token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: k.srv.PKI.CACert}})
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

// TestLegacyTokenController: a token Secret of a service account gets
// its token, ca.crt and namespace and the account's uid annotation, as
// from kube-controller-manager's token controller; the token is a legacy
// JWT that authenticates as the account (its use tracked by a label, as
// kube-apiserver tracks it), until its Secret is marked invalid, deleted
// or holds another token. A token Secret of an account that does not exist
// is deleted, and so are an account's token Secrets when it goes.
func TestLegacyTokenController(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	ns := "tok"
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa, err := k.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secrets := k.client.CoreV1().Secrets(ns)
	filled := func(name string) *corev1.Secret {
		t.Helper()
		var s *corev1.Secret
		if err := waitUntil(60*time.Second, func() bool {
			s, err = secrets.Get(ctx, name, metav1.GetOptions{})
			return err == nil && len(s.Data["token"]) > 0 && len(s.Data["ca.crt"]) > 0 && len(s.Data["namespace"]) > 0
		}); err != nil {
			t.Fatalf("secret %s not filled: %+v (%v)", name, s, err)
		}
		return s
	}
	if _, err := secrets.Create(ctx, tokenSecret("builder-token", "builder"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := filled("builder-token")
	if got := string(s.Data["ca.crt"]); got != readFile(t, k.srv.PKI.CACert) {
		t.Errorf("ca.crt is not kapi's CA:\n%s", got)
	}
	if got := string(s.Data["namespace"]); got != ns {
		t.Errorf("namespace %q, want %q", got, ns)
	}
	if got := s.Annotations[corev1.ServiceAccountUIDKey]; got != string(sa.UID) {
		t.Errorf("annotation %s %q, want %q", corev1.ServiceAccountUIDKey, got, sa.UID)
	}
	token := string(s.Data["token"])
	claims := jwtClaims(t, token)
	for claim, want := range map[string]any{
		"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:tok:builder",
		"kubernetes.io/serviceaccount/namespace":            ns,
		"kubernetes.io/serviceaccount/secret.name":          "builder-token",
		"kubernetes.io/serviceaccount/service-account.name": "builder",
		"kubernetes.io/serviceaccount/service-account.uid":  string(sa.UID),
	} {
		if claims[claim] != want {
			t.Errorf("claim %s = %v, want %v", claim, claims[claim], want)
		}
	}
	if _, ok := claims["exp"]; ok {
		t.Errorf("a legacy token has an expiry: %v", claims)
	}
	u, err := whoAmI(k, token)
	if err != nil {
		t.Fatalf("the token does not authenticate: %v", err)
	}
	if u.Username != "system:serviceaccount:tok:builder" || u.UID != string(sa.UID) {
		t.Errorf("the token is %s (uid %s)", u.Username, u.UID)
	}

	// Its use is tracked, as kube-apiserver tracks legacy tokens.
	if err := waitUntil(30*time.Second, func() bool {
		s, err = secrets.Get(ctx, "builder-token", metav1.GetOptions{})
		if err != nil {
			return false
		}
		d, err := time.Parse(time.DateOnly, s.Labels["kubernetes.io/legacy-token-last-used"])
		return err == nil && time.Since(d) >= -24*time.Hour && time.Since(d) < 48*time.Hour
	}); err != nil {
		t.Errorf("the used token's Secret is labelled %v", s.Labels)
	}
	// Marked invalid (by kube-controller-manager's legacy token cleaner),
	// it is refused; unmarked, it works again.
	s.Labels["kubernetes.io/legacy-token-invalid-since"] = "2020-01-01"
	if s, err = secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The token was accepted a moment ago: kube's token cache may accept
	// it up to 10 s more.
	if err := refusedSoon(func() error { _, err := whoAmI(k, token); return err }); !apierrors.IsUnauthorized(err) {
		t.Errorf("a token marked invalid: %v, want 401", err)
	}
	delete(s.Labels, "kubernetes.io/legacy-token-invalid-since")
	if s, err = secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := whoAmI(k, token); err != nil {
		t.Errorf("a token no longer marked invalid: %v", err)
	}

	// Another token in the Secret: the old one no longer authenticates.
	s.Data["token"] = []byte("replaced")
	if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The token was accepted a moment ago: kube's token cache may accept
	// it up to 10 s more.
	if err := refusedSoon(func() error { _, err := whoAmI(k, token); return err }); !apierrors.IsUnauthorized(err) {
		t.Errorf("a token its Secret no longer holds: %v, want 401", err)
	}

	// A token Secret whose Secret is deleted no longer authenticates.
	if _, err := secrets.Create(ctx, tokenSecret("second", "builder"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	second := string(filled("second").Data["token"])
	if _, err := whoAmI(k, second); err != nil {
		t.Fatalf("the second token does not authenticate: %v", err)
	}
	if err := secrets.Delete(ctx, "second", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The token was accepted a moment ago: kube's token cache may accept
	// it up to 10 s more.
	if err := refusedSoon(func() error { _, err := whoAmI(k, second); return err }); !apierrors.IsUnauthorized(err) {
		t.Errorf("the token of a deleted Secret: %v, want 401", err)
	}

	// No such account: the Secret is deleted.
	if _, err := secrets.Create(ctx, tokenSecret("orphan", "nobody"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gone := func(name string) {
		t.Helper()
		if err := waitUntil(60*time.Second, func() bool {
			_, err := secrets.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}); err != nil {
			t.Errorf("secret %s is still there", name)
		}
	}
	gone("orphan")

	// The account deleted: its token Secrets go, and its tokens stop working.
	if err := k.client.CoreV1().ServiceAccounts(ns).Delete(ctx, "builder", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gone("builder-token")
}

// TestLegacyTokenTrackingConfigMap: kapi publishes
// kube-system/kube-apiserver-legacy-service-account-token-tracking with
// "since" a date, as kube-apiserver does (kube-controller-manager's
// legacy token cleaner reads it), puts a date back when it is not one,
// and makes it again when deleted (at the next start: kube-apiserver
// makes it at most once every 30 minutes).
func TestLegacyTokenTrackingConfigMap(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	const name = "kube-apiserver-legacy-service-account-token-tracking"
	cms := k.client.CoreV1().ConfigMaps("kube-system")
	dated := func(not string) string {
		t.Helper()
		var since, uid string
		if err := waitUntil(90*time.Second, func() bool {
			cm, err := cms.Get(ctx, name, metav1.GetOptions{})
			if err != nil || string(cm.UID) == not {
				return false
			}
			since, uid = cm.Data["since"], string(cm.UID)
			_, err = time.Parse("2006-01-02", since)
			return err == nil
		}); err != nil {
			t.Fatalf("%s: since %q", name, since)
		}
		// Today in UTC, give or take the midnight the test may span.
		if d, _ := time.Parse("2006-01-02", since); time.Since(d) < 0 || time.Since(d) > 48*time.Hour {
			t.Errorf("since %s is not today (UTC)", since)
		}
		return uid
	}
	uid := dated("")

	cm, err := cms.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["since"] = "yesterday"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := dated(""); got != uid {
		t.Errorf("the ConfigMap was replaced, not mended")
	}
	if err := cms.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	k.restart()
	cms = k.client.CoreV1().ConfigMaps("kube-system")
	dated(uid)
}
