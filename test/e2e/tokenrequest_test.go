package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kapi/internal/server"
)

// TestTokenRequest: serviceaccounts/<name>/token as kube-apiserver 1.37's
// TokenREST: the body must name the service account, a pod may be bound
// only by its own service account and its node is named in the token, a
// kubelet's projected token (an hour and 7 seconds) is valid a year and
// warns after the hour, a lifetime over --service-account-max-token-expiration
// is shortened with a warning, and the user a token authenticates as
// carries kube's extra (pod and node, never a secret).
func TestTokenRequest(t *testing.T) {
	t.Parallel()
	k := startKapi(t, func(c *server.Config) { c.ServiceAccountMaxTokenExpiration = 2 * time.Hour })
	ctx := context.Background()
	ns := gcNamespace(t, k, "tokens")
	sas := k.client.CoreV1().ServiceAccounts(ns)
	bot, err := sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "bot"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node, err := k.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "tokens-n1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := func(name, sa string) *corev1.Pod {
		p, err := k.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{ServiceAccountName: sa, NodeName: node.Name, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	web, other := pod("web", "bot"), pod("other", "default")
	secret, err := k.client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	cfg := *k.rest
	cfg.WarningHandler = warningRecorder{&warnings}
	request := func(tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
		return kubernetes.NewForConfigOrDie(&cfg).CoreV1().ServiceAccounts(ns).CreateToken(ctx, "bot", tr, metav1.CreateOptions{})
	}
	bound := func(apiVersion, kind, name string, exp int64) *authenticationv1.TokenRequest {
		return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp,
			BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: apiVersion, Kind: kind, Name: name}}}
	}

	for _, c := range []struct {
		name string
		tr   *authenticationv1.TokenRequest
		ok   func(error) bool
		msg  string
	}{
		{"another service account's pod", bound("v1", "Pod", other.Name, 3600), apierrors.IsBadRequest,
			`cannot bind token for serviceaccount "bot" to pod running with different serviceaccount name.`},
		{"a name that is not the service account's", &authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{Name: "someone"}}, apierrors.IsInvalid,
			`TokenRequest.authentication.k8s.io "bot" is invalid: metadata.name: Invalid value: "someone": must match the service account name if specified`},
		{"another uid", &authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{UID: "0000"}}, apierrors.IsConflict,
			`Operation cannot be fulfilled on TokenRequest.authentication.k8s.io "bot": the UID in the token request (0000) does not match the UID of the service account (` + string(bot.UID) + `)`},
		{"too short", bound("v1", "Pod", web.Name, 100), apierrors.IsInvalid,
			`TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 100: may not specify a duration less than 10 minutes`},
		{"a Deployment", bound("apps/v1", "Deployment", "d", 3600), apierrors.IsBadRequest, `cannot bind token to object of type apps/v1, Kind=Deployment`},
		{"a pod of another uid", func() *authenticationv1.TokenRequest {
			tr := bound("v1", "Pod", web.Name, 3600)
			tr.Spec.BoundObjectRef.UID = "1111"
			return tr
		}(), apierrors.IsConflict,
			`Operation cannot be fulfilled on Pod "web": the UID in the bound object reference (1111) does not match the UID in record. The object might have been deleted and then recreated`},
		{"attestations", func() *authenticationv1.TokenRequest {
			tr := bound("v1", "Pod", web.Name, 3600)
			tr.Spec.Attestations = map[string]authenticationv1.AttestationValue{"x": {"y"}}
			return tr
		}(), apierrors.IsInvalid, `attestations may only be specified with a webhook bound object reference`},
	} {
		_, err := request(c.tr)
		if !c.ok(err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %q", c.name, err, c.msg)
		}
	}

	// A kubelet's projected token: a year, warning after the hour, the
	// pod's node named.
	before := time.Now()
	tr, err := request(bound("v1", "Pod", web.Name, 3607))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Name != "bot" || tr.Namespace != ns || tr.UID != bot.UID || *tr.Spec.ExpirationSeconds != 3607 ||
		tr.Status.ExpirationTimestamp.Sub(before) < 3600*time.Second || tr.Status.ExpirationTimestamp.Sub(before) > 3620*time.Second {
		t.Errorf("the answer: %+v", tr)
	}
	claims := jwtClaims(t, tr.Status.Token)
	kube := claims["kubernetes.io"].(map[string]any)
	if exp := int64(claims["exp"].(float64)); exp-before.Unix() < 365*24*3600-60 {
		t.Errorf("an extended token expires at %d, %d s from now", exp, exp-before.Unix())
	}
	if warn := int64(kube["warnafter"].(float64)); warn-before.Unix() < 3600 || warn-before.Unix() > 3620 {
		t.Errorf("warnafter %d", warn)
	}
	if n := kube["node"].(map[string]any); n["name"] != node.Name || n["uid"] != string(node.UID) {
		t.Errorf("the node claim %v", n)
	}
	u := whoami(t, k.asToken(t, tr.Status.Token))
	want := map[string]string{"pod-name": "web", "pod-uid": string(web.UID), "node-name": node.Name, "node-uid": string(node.UID)}
	for key, v := range want {
		if got := u.Extra["authentication.kubernetes.io/"+key]; len(got) != 1 || got[0] != v {
			t.Errorf("extra %s: %v, want %s", key, got, v)
		}
	}
	// The node is not checked for a pod-bound token.
	if err := k.client.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	settle(t, "the node's deletion", func() bool {
		_, err := k.client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	whoami(t, k.asToken(t, tr.Status.Token))
	// That use may have come from kube's token cache (the token was
	// checked a moment ago, for the API audiences); a TokenReview for
	// other audiences as well is another key of the cache: checked now.
	review, err := k.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{
		Token: tr.Status.Token, Audiences: []string{server.DefaultIssuer, "tokens.example.com"}}}, metav1.CreateOptions{})
	if err != nil || !review.Status.Authenticated {
		t.Errorf("a pod-bound token whose node is gone: %v %+v", err, review.Status)
	} else if !slices.Equal(review.Status.Audiences, []string{server.DefaultIssuer}) {
		t.Errorf("a token for the API reviewed for it and another audience: audiences %q, want the one it is good for", review.Status.Audiences)
	}

	// A TokenReview answers with the audiences asked for that the token
	// names, and refuses it for others with kube's error.
	if tr, err = request(&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"sts.example.com", "vault"}}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		auds, want []string
		err        string
	}{
		{auds: []string{"other", "vault"}, want: []string{"vault"}},
		{auds: []string{"vault", "sts.example.com"}, want: []string{"vault", "sts.example.com"}}, // kube keeps the order asked for
		{auds: []string{"other"}, err: `token audiences ["sts.example.com" "vault"] is invalid for the target audiences ["other"]`},
		{auds: nil, err: `token audiences ["sts.example.com" "vault"] is invalid for the target audiences ["` + server.DefaultIssuer + `"]`},
	} {
		review, err := k.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{
			Token: tr.Status.Token, Audiences: c.auds}}, metav1.CreateOptions{})
		switch {
		case err != nil:
			t.Errorf("TokenReview for %q: %v", c.auds, err)
		case review.Status.Authenticated != (c.err == "") || review.Status.Error != c.err || !slices.Equal(review.Status.Audiences, c.want):
			t.Errorf("TokenReview for %q: authenticated %v, audiences %q, error %q; want %q, error %q",
				c.auds, review.Status.Authenticated, review.Status.Audiences, review.Status.Error, c.want, c.err)
		}
	}

	// Over the maximum: shortened, with kube's warning.
	warnings = nil
	if tr, err = request(&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3 * 3600))}}); err != nil {
		t.Fatal(err)
	}
	if *tr.Spec.ExpirationSeconds != 7200 || len(warnings) != 1 || warnings[0] != "requested expiration of 10800 seconds shortened to 7200 seconds" {
		t.Errorf("shortened: %d %q", *tr.Spec.ExpirationSeconds, warnings)
	}
	// A secret-bound token's user names no secret.
	if tr, err = request(bound("v1", "Secret", secret.Name, 3600)); err != nil {
		t.Fatal(err)
	}
	if u := whoami(t, k.asToken(t, tr.Status.Token)); len(u.Extra) != 1 || len(u.Extra["authentication.kubernetes.io/credential-id"]) != 1 {
		t.Errorf("a secret-bound token's extra: %v", u.Extra)
	}
}

// jwtClaims decodes a JWT's payload, unverified.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMaxTokenExpirationBounds: --service-account-max-token-expiration
// is 0 or between an hour and 2^32 seconds, as kube checks it.
func TestMaxTokenExpirationBounds(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{30 * time.Minute, (1<<32 + 1) * time.Second} {
		startRefused(t, "the service-account-max-token-expiration must be between 1 hour and 2^32 seconds",
			func(c *server.Config) { c.ServiceAccountMaxTokenExpiration = d })
	}
}
