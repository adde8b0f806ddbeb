package authn

import (
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sync/singleflight"
	"k8s.io/klog/v2"

	"kapi/internal/request"
)

// TokenCache remembers what a token authenticator answered, for a while,
// as kube-apiserver's token cache (k8s.io/apiserver/pkg/authentication/
// token/cache) in front of the union of its token authenticators (10
// seconds for an accepted token, a refused one not at all) and inside
// its token webhook. Without it every request with a service-account
// token verifies the token's signature and reads its service account and
// the pod or secret it is bound to again.
//
// As kube's:
//
//   - The key is an HMAC-SHA256, under a random key of the process, of
//     the token and the audiences asked for (nil: the API audiences), each
//     length-prefixed: a token used for other audiences is another key,
//     and no token is kept in memory.
//   - An entry lives for SuccessTTL from when it was fetched (a refused
//     token for FailureTTL), whatever the token's own expiry: an accepted
//     token stays accepted up to SuccessTTL after its service account,
//     pod or secret is deleted, or after it expires.
//   - A success keeps the audit annotations and warnings recorded while
//     authenticating (TokenUse), and each request it answers gets them.
//     The rest of what the authenticator does (its metrics, the label of a
//     used legacy token's Secret) happens once per fetch.
//   - Concurrent misses of one key are fetched once (singleflight), in a
//     context of their own (30 seconds), so that one caller going away
//     does not fail the others; a caller whose context ends stops
//     waiting.
//   - A panic while fetching is an error for the callers, not a crash.
//   - kube's metrics authentication_token_cache_* count lookups, fetches
//     and waits (tokencache_metrics.go), for every cache in the process.
//
// Unlike kube's (k8s.io/apimachinery's expiring map, unbounded), kapi's
// holds at most 32768 entries (32 stripes of 1024): when a stripe is full
// the entry that would expire first goes. kube's package is not used
// here because kapi's authenticators record annotations and warnings
// into a TokenUse, not into k8s.io/apiserver's audit context and warning
// recorder, and because its clock cannot be set from outside.
type TokenCache struct {
	tokens    TokenAuthenticator
	audiences []string
	opts      TokenCacheOptions

	hashes  sync.Pool // of HMAC hashes under one random key
	stripes [tokenCacheStripes]tokenStripe
	group   singleflight.Group
}

// TokenCacheOptions say what a TokenCache keeps, and how long.
type TokenCacheOptions struct {
	// SuccessTTL is how long an accepted token is remembered; 0: not.
	SuccessTTL time.Duration
	// FailureTTL is how long a refused token is remembered; 0: not.
	FailureTTL time.Duration
	// CacheErrors remembers a token refused with an error (a bad token of
	// an authenticator's kind) too, for FailureTTL; without it only a
	// token no authenticator recognised is.
	CacheErrors bool
	// Audiences are the API audiences, which nil audiences stand for.
	Audiences []string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

const (
	tokenCacheStripes      = 32
	tokenCacheStripeSize   = 1024
	tokenCacheFetchTimeout = 30 * time.Second
)

// errTokenAuthnCrash is kube's answer when an authenticator panics.
var errTokenAuthnCrash = errors.New("authentication failed unexpectedly")

// NewTokenCache caches the answers of tokens.
func NewTokenCache(tokens TokenAuthenticator, o TokenCacheOptions) *TokenCache {
	if o.Now == nil {
		o.Now = time.Now
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	c := &TokenCache{tokens: tokens, audiences: o.Audiences, opts: o}
	c.hashes.New = func() any { return &keyHash{Hash: hmac.New(sha256.New, secret)} }
	return c
}

// tokenRecord is one answer of the authenticator, with what it recorded.
type tokenRecord struct {
	user *request.User
	ok   bool
	err  error
	use  TokenUse
}

// AuthenticateToken implements TokenAuthenticator: from memory when the
// token was seen for these audiences within the TTL, else from the
// authenticator.
func (c *TokenCache) AuthenticateToken(ctx context.Context, token string, audiences []string, use *TokenUse) (*request.User, bool, error) {
	if len(audiences) == 0 {
		audiences = c.audiences
	}
	rec := c.lookup(ctx, token, audiences)
	if !rec.ok || rec.err != nil {
		return nil, false, rec.err
	}
	use.add(&rec.use)
	return cloneUser(rec.user), true, nil
}

func (c *TokenCache) lookup(ctx context.Context, token string, audiences []string) *tokenRecord {
	start := time.Now()
	key := c.key(token, audiences)
	stripe := &c.stripes[binary.BigEndian.Uint32(key[:4])%tokenCacheStripes]
	if rec, ok := stripe.get(key, c.opts.Now()); ok {
		observeTokenLookup("hit", start)
		return rec
	}
	defer observeTokenLookup("miss", start)
	tokenCacheActiveFetches.WithLabelValues("blocked").Inc()
	defer tokenCacheActiveFetches.WithLabelValues("blocked").Dec()
	ch := c.group.DoChan(string(key[:]), func() (any, error) {
		return c.fetch(stripe, key, token, audiences), nil
	})
	select {
	case res := <-ch:
		return res.Val.(*tokenRecord)
	case <-ctx.Done():
		return &tokenRecord{err: ctx.Err()}
	}
}

// fetch asks the authenticator, once for all the callers waiting for key,
// and keeps its answer.
func (c *TokenCache) fetch(stripe *tokenStripe, key tokenKey, token string, audiences []string) (rec *tokenRecord) {
	rec = &tokenRecord{}
	tokenCacheActiveFetches.WithLabelValues("in_flight").Inc()
	defer func() {
		if r := recover(); r != nil {
			rec = &tokenRecord{err: errTokenAuthnCrash}
			buf := make([]byte, 64<<10)
			klog.Errorf("%v\n%s", r, buf[:runtime.Stack(buf, false)])
		}
		status := "ok"
		if rec.err != nil {
			status = "error"
		}
		tokenCacheFetches.WithLabelValues(status).Inc()
		tokenCacheActiveFetches.WithLabelValues("in_flight").Dec()
	}()
	// Another fetch of the key may have finished since the lookup.
	if cached, ok := stripe.get(key, c.opts.Now()); ok {
		return cached
	}
	ctx, cancel := context.WithTimeout(context.Background(), tokenCacheFetchTimeout)
	defer cancel()
	rec.user, rec.ok, rec.err = c.tokens.AuthenticateToken(ctx, token, audiences, &rec.use)
	if rec.err != nil && !c.opts.CacheErrors {
		return rec
	}
	ttl := c.opts.FailureTTL
	if rec.ok {
		ttl = c.opts.SuccessTTL
	}
	if ttl > 0 {
		now := c.opts.Now()
		stripe.set(key, rec, now.Add(ttl), now)
	}
	return rec
}

// tokenKey is the HMAC of a token and its audiences.
type tokenKey [sha256.Size]byte

func (c *TokenCache) key(token string, audiences []string) tokenKey {
	h := c.hashes.Get().(*keyHash)
	h.Reset()
	h.writeString(token)
	h.writeLength(len(audiences))
	for _, a := range audiences {
		h.writeString(a)
	}
	k := tokenKey(h.Sum(h.sum[:0]))
	c.hashes.Put(h)
	return k
}

// keyHash is an HMAC with buffers of its own, so that a key costs no
// allocation.
type keyHash struct {
	hash.Hash
	length [4]byte
	sum    tokenKey
}

func (h *keyHash) writeLength(l int) {
	binary.BigEndian.PutUint32(h.length[:], uint32(l))
	h.Write(h.length[:])
}

// writeString writes s after its length, so that no two lists of strings
// write the same bytes.
func (h *keyHash) writeString(s string) {
	h.writeLength(len(s))
	// The hash neither keeps nor changes what it is given: no copy of a
	// token of a kilobyte or two for each request.
	h.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// cloneUser is a copy of a cached user for one request, which may add to
// its groups (system:authenticated) without touching the cached one.
func cloneUser(u *request.User) *request.User {
	cp := *u
	cp.Groups = slices.Clip(u.Groups)
	cp.Extra = maps.Clone(u.Extra)
	return &cp
}

// tokenStripe is one of the cache's maps, with its entries by expiry.
type tokenStripe struct {
	mu      sync.RWMutex
	entries map[tokenKey]*tokenEntry
	queue   tokenQueue
}

type tokenEntry struct {
	key    tokenKey
	rec    *tokenRecord
	expiry time.Time
	index  int // in the queue
}

func (s *tokenStripe) get(k tokenKey, now time.Time) (*tokenRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[k]
	if !ok || !now.Before(e.expiry) {
		return nil, false
	}
	return e.rec, true
}

// set keeps rec until expiry, after dropping the entries expired at now
// and, when the stripe is full, the one that expires first.
func (s *tokenStripe) set(k tokenKey, rec *tokenRecord, expiry, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) > 0 && !now.Before(s.queue[0].expiry) {
		delete(s.entries, heap.Pop(&s.queue).(*tokenEntry).key)
	}
	if e, ok := s.entries[k]; ok {
		e.rec, e.expiry = rec, expiry
		heap.Fix(&s.queue, e.index)
		return
	}
	if len(s.entries) >= tokenCacheStripeSize {
		delete(s.entries, heap.Pop(&s.queue).(*tokenEntry).key)
	}
	if s.entries == nil {
		s.entries = map[tokenKey]*tokenEntry{}
	}
	e := &tokenEntry{key: k, rec: rec, expiry: expiry}
	s.entries[k] = e
	heap.Push(&s.queue, e)
}

// tokenQueue is a min-heap of entries by expiry.
type tokenQueue []*tokenEntry

func (q tokenQueue) Len() int           { return len(q) }
func (q tokenQueue) Less(i, j int) bool { return q[i].expiry.Before(q[j].expiry) }
func (q tokenQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *tokenQueue) Push(x any) {
	e := x.(*tokenEntry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *tokenQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}
