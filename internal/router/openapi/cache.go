package openapi

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// document is one served document. Its content is built when a client
// asks for it (as JSON, by build), in the variant the client asks for
// (JSON or protobuf, plain or gzipped); the variants built are kept in
// the Docs' cache while they fit its budget. What identifies the content
// is etag, known without building it (the hash of what the document is
// made of), so a client that has it is answered 304 without a build.
type document struct {
	etag     string
	modified time.Time
	build    func() ([]byte, error)
	toProto  func([]byte) ([]byte, error) // nil: served as JSON only
}

func newDocument(etag string, build func() ([]byte, error), toProto func([]byte) ([]byte, error)) *document {
	return &document{etag: etag, modified: time.Now(), build: build, toProto: toProto}
}

// variant is one encoding of a document.
type variant struct{ proto, gzip bool }

// cacheBudget is how many bytes of encoded documents the cache keeps:
// the documents of a thousand CRDs would otherwise stay in memory for
// good, for clients (kubectl) that keep them on disk anyway.
const cacheBudget = 4 << 20

// docCache keeps the most recently served encodings, up to a byte budget,
// and builds each at most once at a time.
type docCache struct {
	budget int
	flight singleflight.Group

	mu    sync.Mutex
	used  int
	lru   *list.List // of *cached, most recent first
	byKey map[cacheKey]*list.Element
}

type cacheKey struct {
	etag string
	v    variant
}

type cached struct {
	key  cacheKey
	data []byte
}

func newDocCache(budget int) *docCache {
	return &docCache{budget: budget, lru: list.New(), byKey: map[cacheKey]*list.Element{}}
}

// get returns the variant v of doc, from the cache or built.
func (c *docCache) get(doc *document, v variant) ([]byte, error) {
	key := cacheKey{doc.etag, v}
	if b := c.lookup(key); b != nil {
		return b, nil
	}
	out, err, _ := c.flight.Do(key.etag+string([]byte{flag(v.proto), flag(v.gzip)}), func() (any, error) {
		if b := c.lookup(key); b != nil {
			return b, nil
		}
		b, err := c.make(doc, v)
		if err != nil {
			return nil, err
		}
		c.add(key, b)
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return out.([]byte), nil
}

// gzipWriters are reused: a compressor's state is over a megabyte.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

func flag(b bool) byte {
	if b {
		return '1'
	}
	return '0'
}

// make builds variant v: the JSON (the cache's, or built), then protobuf
// and gzip as asked. Only the variant asked for is kept, not the steps to
// it.
func (c *docCache) make(doc *document, v variant) ([]byte, error) {
	if b := c.lookup(cacheKey{doc.etag, v}); b != nil {
		return b, nil
	}
	if v.gzip {
		plain, err := c.make(doc, variant{proto: v.proto})
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&buf)
		zw.Write(plain)
		zw.Close()
		gzipWriters.Put(zw)
		return buf.Bytes(), nil
	}
	if v.proto {
		j, err := c.make(doc, variant{})
		if err != nil {
			return nil, err
		}
		return doc.toProto(j)
	}
	return doc.build()
}

func (c *docCache) lookup(key cacheKey) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cached).data
	}
	return nil
}

// add keeps data, and drops the least recently served encodings beyond
// the budget (one larger than the budget is not kept at all).
func (c *docCache) add(key cacheKey, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok || len(data) > c.budget {
		return
	}
	c.byKey[key] = c.lru.PushFront(&cached{key: key, data: data})
	c.used += len(data)
	for c.used > c.budget {
		e := c.lru.Back()
		old := e.Value.(*cached)
		c.lru.Remove(e)
		delete(c.byKey, old.key)
		c.used -= len(old.data)
	}
}
