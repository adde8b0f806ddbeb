package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"
)

// BenchmarkServiceAccountToken authenticates one pod-bound token again
// and again, as a pod's client does, with kapi's keys (ECDSA P-256, its
// default, and RSA 2048, kube's usual), without and behind the token
// cache. The lookups of the service account and the pod are a map here:
// in kapi they are reads of the watch cache.
func BenchmarkServiceAccountToken(b *testing.B) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"ECDSA-P256", ecKey}, {"RSA-2048", rsaKey}} {
		signer, err := NewSigner(k.key)
		if err != nil {
			b.Fatal(err)
		}
		sa := &ServiceAccounts{Issuers: []string{testIssuer}, Audiences: []string{testIssuer}, Keys: StaticKeys{k.key.Public()}, Signer: signer,
			Lookup: func(_ context.Context, kind, ns, name string) (string, bool, error) {
				return map[string]string{"ServiceAccount": "sa-uid", "Pod": "pod-uid"}[kind], true, nil
			}}
		token, _, err := sa.Issue(context.Background(), Token{Namespace: "ns", ServiceAccount: "bot", ServiceAccountUID: "sa-uid", Expiration: time.Hour,
			BoundKind: "Pod", Bound: Ref{Name: "web", UID: "pod-uid"}, Node: &Ref{Name: "node-1", UID: "node-uid"}})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			tokens TokenAuthenticator
		}{
			{"uncached", TokenUnion{sa}},
			{"cached", NewTokenCache(TokenUnion{sa}, TokenCacheOptions{SuccessTTL: time.Hour, CacheErrors: true, Audiences: sa.Audiences})},
		} {
			b.Run(k.name+"/"+c.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, _, ok, err := AuthenticateToken(ctx, c.tokens, token, nil); !ok || err != nil {
						b.Fatal(ok, err)
					}
				}
			})
		}
	}
}
