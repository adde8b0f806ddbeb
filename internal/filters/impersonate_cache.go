package filters

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/utils/lru"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// impersonationTTL is how long a successful constrained impersonation is
// remembered: kube's, the TTL of its token success cache. A permission
// taken away may so still work for up to 10s, as in kube-apiserver.
const impersonationTTL = 10 * time.Second

// modeIndex remembers, per requestor name, which mode last allowed an
// impersonation, so that it is tried first next time: a legacy
// impersonator pays for legacy checks only, a constrained one for one
// mode's. 10,000 names (hashed, about 1 MB) at most, least recently used
// forgotten first.
type modeIndex struct{ lru *lru.Cache }

func newModeIndex() *modeIndex { return &modeIndex{lru: lru.New(10_000)} }

func (m *modeIndex) get(requestor string) (int, bool) {
	i, ok := m.lru.Get(requestorHash(requestor))
	if !ok {
		return 0, false
	}
	return i.(int), true
}

func (m *modeIndex) set(requestor string, i int) { m.lru.Add(requestorHash(requestor), i) }

// requestorHash keeps the index's size independent of the names' length;
// a collision only changes which mode is tried first.
func requestorHash(name string) string {
	h := fnv.New128a()
	h.Write([]byte(name))
	return hex.EncodeToString(h.Sum(nil))
}

// impersonationCache remembers successful impersonations of one mode for
// impersonationTTL. A mode has two: the outer one keyed by the wanted
// user and the request's attributes (requestor included: a hit skips
// every check), the inner one by the wanted user and the requestor only
// (a hit skips the checks on the identity, not impersonate-on).
type impersonationCache struct {
	withRequest bool
	entries     *cache.Expiring
}

func newImpersonationCache(withRequest bool) *impersonationCache {
	return &impersonationCache{withRequest: withRequest, entries: cache.NewExpiring()}
}

func (c *impersonationCache) get(k *impersonationKey) *impersonated {
	v, ok := c.entries.Get(k.key(c.withRequest))
	if !ok {
		return nil
	}
	return v.(*impersonated)
}

func (c *impersonationCache) set(k *impersonationKey, v *impersonated) {
	c.entries.Set(k.key(c.withRequest), v, impersonationTTL)
}

// impersonationKey is the cache key of one attempt (of one request, in
// one goroutine), each kind computed once whichever modes use it.
type impersonationKey struct {
	wanted *request.User
	attrs  authz.Attributes

	withRequest, withoutRequest string
}

func (k *impersonationKey) key(withRequest bool) string {
	if withRequest {
		if k.withRequest == "" {
			k.withRequest = cacheKey(k.wanted, k.attrs)
		}
		return k.withRequest
	}
	if k.withoutRequest == "" {
		k.withoutRequest = cacheKey(k.wanted, authz.Attributes{User: k.attrs.User})
	}
	return k.withoutRequest
}

// cacheKey hashes everything an impersonation's checks depend on: the
// wanted user, the requestor and every attribute of the request, each
// length-prefixed so that no two inputs encode alike. The requestor's
// name follows the hash in clear: a collision could at worst give a
// requestor an impersonation it made itself before.
func cacheKey(wanted *request.User, a authz.Attributes) string {
	var b keyBuilder
	b.user(wanted)
	requestor := a.User
	if requestor == nil {
		requestor = &request.User{}
	}
	b.user(requestor)
	b.strings(a.Verb, a.Namespace, a.Resource, a.Subresource, a.Name, a.APIGroup, a.APIVersion, a.Path, a.FieldSelector, a.LabelSelector)
	b.bool(a.ResourceRequest)
	sum := sha256.Sum256(b.buf)
	return hex.EncodeToString(sum[:]) + "/" + requestor.Name
}

type keyBuilder struct{ buf []byte }

func (b *keyBuilder) string(s string) {
	b.buf = binary.BigEndian.AppendUint32(b.buf, uint32(len(s)))
	b.buf = append(b.buf, s...)
}

func (b *keyBuilder) strings(ss ...string) {
	b.buf = binary.BigEndian.AppendUint32(b.buf, uint32(len(ss)))
	for _, s := range ss {
		b.string(s)
	}
}

func (b *keyBuilder) bool(v bool) {
	if v {
		b.buf = append(b.buf, 1)
	} else {
		b.buf = append(b.buf, 0)
	}
}

func (b *keyBuilder) user(u *request.User) {
	b.string(u.Name)
	b.string(u.UID)
	b.strings(u.Groups...)
	keys := make([]string, 0, len(u.Extra))
	for k := range u.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.buf = binary.BigEndian.AppendUint32(b.buf, uint32(len(keys)))
	for _, k := range keys {
		b.string(k)
		b.strings(u.Extra[k]...)
	}
}
