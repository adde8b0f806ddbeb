package bootstraptoken

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cluster-bootstrap/token/jws"
)

// TestDetachedSignature holds the signature to cluster-bootstrap's: the
// string kubeadm's discovery computes and compares with the ConfigMap's.
func TestDetachedSignature(t *testing.T) {
	for _, c := range []struct{ content, id, secret string }{
		{"apiVersion: v1\nkind: Config\nclusters: []\n", "abcdef", "0123456789abcdef"},
		{"", "000000", "zzzzzzzzzzzzzzzz"},
		{"{\"unicode\": \"ü\", \"html\": \"<&>\"}", "a1b2c3", "circumnavigation"},
	} {
		got := DetachedSignature(c.content, c.id, c.secret)
		want, err := jws.ComputeDetachedSignature(c.content, c.id, c.secret)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%q signed by %s: got %s, cluster-bootstrap %s", c.content, c.id, got, want)
		}
		if !jws.DetachedTokenIsValid(got, c.content, c.id, c.secret) || jws.DetachedTokenIsValid(got, c.content+" ", c.id, c.secret) {
			t.Errorf("%q: cluster-bootstrap's check disagrees", c.content)
		}
	}
}

func TestForSigning(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	secret := func(name string, kv ...string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: SecretType, Data: map[string][]byte{}}
		for i := 0; i < len(kv); i += 2 {
			s.Data[kv[i]] = []byte(kv[i+1])
		}
		return s
	}
	good := []string{IDKey, "abcdef", SecretKey, "0123456789abcdef", UsageSigningKey, "true"}
	for _, c := range []struct {
		name string
		s    *corev1.Secret
		ok   bool
	}{
		{"signs", secret("bootstrap-token-abcdef", good...), true},
		{"expires later", secret("bootstrap-token-abcdef", append(good, ExpirationKey, "2026-12-07T13:00:00Z")...), true},
		{"expired", secret("bootstrap-token-abcdef", append(good, ExpirationKey, "2026-12-07T11:00:00Z")...), false},
		{"expiration unreadable", secret("bootstrap-token-abcdef", append(good, ExpirationKey, "soon")...), false},
		{"not for signing", secret("bootstrap-token-abcdef", IDKey, "abcdef", SecretKey, "0123456789abcdef"), false},
		{"name not of its id", secret("bootstrap-token-bcdefa", good...), false},
		{"bad name", secret("token-abcdef", good...), false},
		{"no secret", secret("bootstrap-token-abcdef", IDKey, "abcdef", UsageSigningKey, "true"), false},
	} {
		id, sec, ok := ForSigning(c.s, now)
		if ok != c.ok || (ok && (id != "abcdef" || sec != "0123456789abcdef")) {
			t.Errorf("%s: got %q %q %v, want %v", c.name, id, sec, ok, c.ok)
		}
	}
	left, expired := Expiration(secret("x", ExpirationKey, "2026-12-07T12:00:30Z"), now)
	if left != 30*time.Second || expired {
		t.Errorf("Expiration: %v %v", left, expired)
	}
}
