package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
	externaljwtv1 "k8s.io/externaljwt/apis/v1"
)

// fakeSigner answers Sign with header and FetchKeys with keys.
type fakeSigner struct {
	header string
	keys   *externaljwtv1.FetchKeysResponse
}

func (f *fakeSigner) Sign(context.Context, *externaljwtv1.SignJWTRequest, ...grpc.CallOption) (*externaljwtv1.SignJWTResponse, error) {
	return &externaljwtv1.SignJWTResponse{Header: base64.RawURLEncoding.EncodeToString([]byte(f.header)), Signature: "c2ln"}, nil
}

func (f *fakeSigner) FetchKeys(context.Context, *externaljwtv1.FetchKeysRequest, ...grpc.CallOption) (*externaljwtv1.FetchKeysResponse, error) {
	return f.keys, nil
}

func (f *fakeSigner) Metadata(context.Context, *externaljwtv1.MetadataRequest, ...grpc.CallOption) (*externaljwtv1.MetadataResponse, error) {
	return &externaljwtv1.MetadataResponse{}, nil
}

func publicDER(t *testing.T) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestExternalSignerHeaders: a signed token's header is checked as kube's
// plugin checks it; a good one makes header.payload.signature.
func TestExternalSignerHeaders(t *testing.T) {
	keys := &externaljwtv1.FetchKeysResponse{Keys: []*externaljwtv1.Key{{KeyId: "k", Key: publicDER(t)},
		{KeyId: "old", Key: publicDER(t), ExcludeFromOidcDiscovery: true}}, DataTimestamp: timestamppb.Now(), RefreshHintSeconds: 60}
	for header, want := range map[string]string{
		`{"alg":"ES256","kid":"k","typ":"JWT"}`:                                 "",
		`{"alg":"ES256","kid":"k"}`:                                             "bad type",
		`{"alg":"ES256","typ":"JWT"}`:                                           "key id missing",
		`{"alg":"HS256","kid":"k","typ":"JWT"}`:                                 `bad signing algorithm "HS256"`,
		`{"alg":"ES256","kid":"k","typ":"JWT","x5u":"u"}`:                       "while parsing header JSON",
		`{"alg":"ES256","kid":"old","typ":"JWT"}`:                               "key used for signing JWT (kid: old) is excluded from OIDC discovery docs",
		`{"alg":"ES256","kid":"` + strings.Repeat("k", 1025) + `","typ":"JWT"}`: "key id longer than 1 kb",
	} {
		e := &ExternalSigner{client: &fakeSigner{header: header, keys: keys}}
		e.keys.Store(&externalKeys{})
		if err := e.sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		tok, err := e.Sign(context.Background(), map[string]string{"iss": "i"})
		switch {
		case want == "" && (err != nil || len(strings.Split(tok, ".")) != 3 || !strings.HasSuffix(tok, ".c2ln")):
			t.Errorf("%s: %q, %v; want a token", header, tok, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", header, err, want)
		}
	}
}

// TestExternalSignerKeys: a fetch of keys is refused as by kube's plugin;
// kapi keeps the keys it had.
func TestExternalSignerKeys(t *testing.T) {
	good := func() *externaljwtv1.FetchKeysResponse {
		return &externaljwtv1.FetchKeysResponse{Keys: []*externaljwtv1.Key{{KeyId: "k", Key: publicDER(t)}},
			DataTimestamp: timestamppb.Now(), RefreshHintSeconds: 60}
	}
	for want, change := range map[string]func(*externaljwtv1.FetchKeysResponse){
		"found invalid refresh hint (0s)":    func(r *externaljwtv1.FetchKeysResponse) { r.RefreshHintSeconds = 0 },
		"found no keys":                      func(r *externaljwtv1.FetchKeysResponse) { r.Keys = nil },
		"invalid data timestamp":             func(r *externaljwtv1.FetchKeysResponse) { r.DataTimestamp = nil },
		`found invalid public key id ""`:     func(r *externaljwtv1.FetchKeysResponse) { r.Keys[0].KeyId = "" },
		"found empty public key":             func(r *externaljwtv1.FetchKeysResponse) { r.Keys[0].Key = nil },
		"while parsing external public keys": func(r *externaljwtv1.FetchKeysResponse) { r.Keys[0].Key = []byte("x") },
		"found nil public key":               func(r *externaljwtv1.FetchKeysResponse) { r.Keys = append(r.Keys, nil) },
	} {
		f := &fakeSigner{keys: good()}
		e := &ExternalSigner{client: f}
		e.keys.Store(&externalKeys{})
		if err := e.sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		change(f.keys)
		if err := e.sync(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v, want %q", err, want)
		}
		if got := e.Published(); len(got) != 1 || got[0].ID != "k" {
			t.Errorf("after a refused fetch: %v, want the keys fetched before", got)
		}
		if age := e.MaxAge(); age <= 0 || age > time.Minute {
			t.Errorf("max age %s, want up to the refresh hint", age)
		}
	}
}
