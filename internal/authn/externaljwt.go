package authn

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	externaljwtv1 "k8s.io/externaljwt/apis/v1"
	"k8s.io/klog/v2"

	"kapi/internal/metrics"
)

// ExternalSigner is kube's external JWT signer (KEP-740,
// --service-account-signing-endpoint): a gRPC service on a unix socket
// (k8s.io/externaljwt's ExternalJWTSigner) signs every service-account
// token, and its keys, fetched and kept here, verify them and are the
// issuer's published keys. It follows kube-apiserver's plugin
// (pkg/serviceaccount/externaljwt): the keys are fetched at start,
// again when the signer's refresh hint says (10 s after a failed fetch),
// and at once for a token of a key id not known; a signed token's header
// is checked before it is handed out.
type ExternalSigner struct {
	client externaljwtv1.ExternalJWTSignerClient
	keys   atomic.Pointer[externalKeys]
	fetch  singleflight.Group

	mu        sync.Mutex
	listeners []func()
}

// externalKeys are the keys of one fetch.
type externalKeys struct {
	keys          []externalKey
	dataTimestamp time.Time
	nextRefresh   time.Time
}

type externalKey struct {
	PublicKey
	excludeFromOIDCDiscovery bool
}

// externalKeysRetry is how soon a failed refresh of the keys is tried
// again (kube's fallbackRefreshDuration).
const externalKeysRetry = 10 * time.Second

// DialExternalSigner connects to the signer at socketPath (a path, or
// "@name" for an abstract socket) and fetches its keys within
// keySyncTimeout, as kube-apiserver does at start; it keeps them fresh
// and the connection open until ctx ends.
func DialExternalSigner(ctx context.Context, socketPath string, keySyncTimeout time.Duration) (*ExternalSigner, error) {
	conn, err := grpc.NewClient("passthrough:///"+socketPath,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithAuthority("localhost"),
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true)),
		grpc.WithContextDialer(func(ctx context.Context, path string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}),
		grpc.WithChainUnaryInterceptor(observeExternalCall))
	if err != nil {
		return nil, fmt.Errorf("while dialing grpc socket at %q: %w", socketPath, err)
	}
	e := &ExternalSigner{client: externaljwtv1.NewExternalJWTSignerClient(conn)}
	e.keys.Store(&externalKeys{})
	fill, cancel := context.WithTimeout(ctx, keySyncTimeout)
	defer cancel()
	if err := e.sync(fill); err != nil {
		conn.Close()
		return nil, fmt.Errorf("while initially filling key cache: while performing initial cache fill: %w", err)
	}
	go e.refresh(ctx, keySyncTimeout)
	context.AfterFunc(ctx, func() { conn.Close() })
	return e, nil
}

// MaxTokenExpiration is the longest token the signer signs (its
// Metadata), asked once within timeout.
func (e *ExternalSigner) MaxTokenExpiration(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	md, err := e.client.Metadata(ctx, &externaljwtv1.MetadataRequest{})
	if err != nil {
		return 0, err
	}
	return time.Duration(md.MaxTokenExpirationSeconds) * time.Second, nil
}

// Sign has the signer sign claims: kapi sends the payload, the signer
// answers the header and the signature, which must be a JWT's, of one of
// kube's algorithms, by a key the issuer publishes.
func (e *ExternalSigner) Sign(ctx context.Context, claims any) (string, error) {
	token, err := e.sign(ctx, claims)
	externalSignTotal.WithLabelValues(externalCode(err)).Inc()
	return token, err
}

func (e *ExternalSigner) sign(ctx context.Context, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("while merging claims: %w", err)
	}
	encoded := base64.RawURLEncoding.EncodeToString(payload)
	resp, err := e.client.Sign(ctx, &externaljwtv1.SignJWTRequest{Claims: encoded})
	if err != nil {
		return "", fmt.Errorf("while signing jwt: %w", err)
	}
	if err := e.checkHeader(ctx, resp.Header); err != nil {
		return "", fmt.Errorf("while validating header: %w", err)
	}
	if resp.Signature == "" {
		return "", errors.New("empty signature returned")
	}
	return resp.Header + "." + encoded + "." + resp.Signature, nil
}

// checkHeader checks a signed token's header as kube's plugin does.
func (e *ExternalSigner) checkHeader(ctx context.Context, header string) error {
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return fmt.Errorf("while unwrapping header: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var h struct {
		Algorithm string `json:"alg,omitempty"`
		KeyID     string `json:"kid,omitempty"`
		Type      string `json:"typ,omitempty"`
	}
	if err := dec.Decode(&h); err != nil {
		return fmt.Errorf("while parsing header JSON: %w", err)
	}
	switch {
	case h.Type != "JWT":
		return errors.New("bad type")
	case h.KeyID == "":
		return errors.New("key id missing")
	case len(h.KeyID) > 1024:
		return errors.New("key id longer than 1 kb")
	}
	switch h.Algorithm {
	case "RS256", "ES256", "ES384", "ES512":
	default:
		return fmt.Errorf("bad signing algorithm %q", h.Algorithm)
	}
	for _, k := range e.lookup(ctx, h.KeyID) {
		if k.excludeFromOIDCDiscovery {
			return fmt.Errorf("key used for signing JWT (kid: %s) is excluded from OIDC discovery docs", h.KeyID)
		}
	}
	return nil
}

// For returns the keys of key id kid (every key for ""), fetching them
// again when kid is not among them.
func (e *ExternalSigner) For(ctx context.Context, kid string) []crypto.PublicKey {
	var out []crypto.PublicKey
	for _, k := range e.lookup(ctx, kid) {
		out = append(out, k.Key)
	}
	return out
}

func (e *ExternalSigner) lookup(ctx context.Context, kid string) []externalKey {
	if keys := e.find(kid); len(keys) > 0 {
		return keys
	}
	if err := e.sync(ctx); err != nil {
		klog.ErrorS(err, "Error while syncing keys")
		return nil
	}
	keys := e.find(kid)
	if len(keys) == 0 {
		klog.Errorf("Key id %q not found after refresh", kid)
	}
	return keys
}

func (e *ExternalSigner) find(kid string) []externalKey {
	all := e.keys.Load().keys
	if kid == "" {
		return all
	}
	var out []externalKey
	for _, k := range all {
		if k.ID == kid {
			out = append(out, k)
		}
	}
	return out
}

// Published returns the keys not excluded from the issuer's discovery
// documents.
func (e *ExternalSigner) Published() []PublicKey {
	var out []PublicKey
	for _, k := range e.keys.Load().keys {
		if !k.excludeFromOIDCDiscovery {
			out = append(out, k.PublicKey)
		}
	}
	return out
}

// MaxAge is how long the published keys may be cached: until the
// signer's refresh hint (kube's GetCacheAgeMaxSeconds).
func (e *ExternalSigner) MaxAge() time.Duration {
	return max(time.Until(e.keys.Load().nextRefresh), 0)
}

// OnChange calls f (in a goroutine of its own) after a fetch that
// changed the keys: their data timestamp, number, ids or exclusions.
func (e *ExternalSigner) OnChange(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.listeners = append(e.listeners, f)
}

// refresh fetches the keys when the signer's hint says, until ctx ends.
func (e *ExternalSigner) refresh(ctx context.Context, timeout time.Duration) {
	t := time.NewTimer(time.Until(e.keys.Load().nextRefresh))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		if err := e.sync(sctx); err != nil {
			klog.Errorf("when syncing supported public keys(Stale set of keys will be supported): %v", err)
			t.Reset(externalKeysRetry)
		} else {
			t.Reset(time.Until(e.keys.Load().nextRefresh))
		}
		cancel()
	}
}

// sync fetches the keys, one fetch at a time.
func (e *ExternalSigner) sync(ctx context.Context) error {
	_, err, _ := e.fetch.Do("", func() (any, error) {
		old := e.keys.Load()
		next, err := e.fetchKeys(ctx)
		externalFetchTotal.WithLabelValues(externalCode(err)).Inc()
		if err != nil {
			return nil, fmt.Errorf("while fetching token verification keys: %w", err)
		}
		externalFetchSuccess.WithLabelValues().SetToCurrentTime()
		externalDataTimestamp.WithLabelValues().Set(float64(next.dataTimestamp.UnixNano()) / 1e9)
		e.keys.Store(next)
		if keysChanged(old, next) {
			e.mu.Lock()
			for _, f := range e.listeners {
				go f()
			}
			e.mu.Unlock()
		}
		return nil, nil
	})
	return err
}

func (e *ExternalSigner) fetchKeys(ctx context.Context) (*externalKeys, error) {
	resp, err := e.client.FetchKeys(ctx, &externaljwtv1.FetchKeysRequest{})
	if err != nil {
		return nil, fmt.Errorf("while getting externally supported jwt signing keys: %w", err)
	}
	if resp.RefreshHintSeconds <= 0 {
		return nil, fmt.Errorf("found invalid refresh hint (%ds)", resp.RefreshHintSeconds)
	}
	if len(resp.Keys) == 0 {
		return nil, errors.New("found no keys")
	}
	if err := resp.DataTimestamp.CheckValid(); err != nil {
		return nil, fmt.Errorf("invalid data timestamp: %w", err)
	}
	keys := make([]externalKey, 0, len(resp.Keys))
	for _, k := range resp.Keys {
		if k == nil {
			return nil, errors.New("found nil public key")
		}
		if len(k.KeyId) == 0 || len(k.KeyId) > 1024 {
			return nil, fmt.Errorf("found invalid public key id %q", k.KeyId)
		}
		if len(k.Key) == 0 {
			return nil, errors.New("found empty public key")
		}
		pub, err := x509.ParsePKIXPublicKey(k.Key)
		if err != nil {
			return nil, fmt.Errorf("while parsing external public keys: %w", err)
		}
		keys = append(keys, externalKey{PublicKey{ID: k.KeyId, Key: pub}, k.ExcludeFromOidcDiscovery})
	}
	return &externalKeys{keys: keys, dataTimestamp: resp.DataTimestamp.AsTime(),
		nextRefresh: time.Now().Add(time.Duration(resp.RefreshHintSeconds) * time.Second)}, nil
}

// keysChanged: as kube's, a new data timestamp, or a change in the number,
// order, ids or exclusions of the keys (not their bytes).
func keysChanged(old, next *externalKeys) bool {
	if !old.dataTimestamp.Equal(next.dataTimestamp) || len(old.keys) != len(next.keys) {
		return true
	}
	for i := range old.keys {
		if old.keys[i].ID != next.keys[i].ID || old.keys[i].excludeFromOIDCDiscovery != next.keys[i].excludeFromOIDCDiscovery {
			return true
		}
	}
	return false
}

// kube's apiserver_externaljwt_* metrics (pkg/serviceaccount/externaljwt/
// metrics), with their stability levels in their help.
var (
	externalFetchSuccess = metrics.Gauge("apiserver_externaljwt_fetch_keys_success_timestamp",
		"[ALPHA] Unix Timestamp in seconds of the last successful FetchKeys request")
	externalDataTimestamp = metrics.Gauge("apiserver_externaljwt_fetch_keys_data_timestamp",
		"[ALPHA] Unix Timestamp in seconds of the last successful FetchKeys data_timestamp value returned by the external signer")
	externalFetchTotal = metrics.Counter("apiserver_externaljwt_fetch_keys_request_total",
		"[ALPHA] Total attempts at syncing supported JWKs", "code")
	externalSignTotal = metrics.Counter("apiserver_externaljwt_sign_request_total",
		"[ALPHA] Total attempts at signing JWT", "code")
	externalDuration = metrics.Histogram("apiserver_externaljwt_request_duration_seconds",
		"[ALPHA] Request duration and time for calls to external-jwt-signer",
		[]float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}, "method", "code")
)

// externalCode labels an outcome as kube's: the gRPC code's name, or
// "unknown-non-grpc" for an error before or after the call.
func externalCode(err error) string {
	if err == nil {
		return codes.OK.String()
	}
	var s interface{ GRPCStatus() *status.Status }
	if errors.As(err, &s) {
		return s.GRPCStatus().Code().String()
	}
	return "unknown-non-grpc"
}

// observeExternalCall times each call to the signer by its method.
func observeExternalCall(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	start := time.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	externalDuration.WithLabelValues(method, externalCode(err)).Observe(time.Since(start).Seconds())
	return err
}
