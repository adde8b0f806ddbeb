package openapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"github.com/munnerz/goautoneg"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Media types of the documents. kubectl asks for the protobuf forms by
// the "@" names; kube-apiserver answers with the "." names, and accepts
// either.
const (
	mediaJSON     = "application/json"
	mediaV2Proto  = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	mediaV2ProtoA = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	mediaV3Proto  = "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"
	mediaV3ProtoA = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
)

// Handlers returns the handlers to mount, keyed by Go 1.22 ServeMux
// pattern (a GET pattern answers HEAD too):
//
//	GET /openapi/v2            the whole API, OpenAPI v2
//	GET /openapi/v3            where each root's v3 document is, with its hash
//	GET /openapi/v3/{path...}  one root's document: /openapi/v3/apis/apps/v1
func (d *Docs) Handlers() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /openapi/v2":           http.HandlerFunc(d.serveV2),
		"GET /openapi/v3":           http.HandlerFunc(d.serveV3Index),
		"GET /openapi/v3/{path...}": http.HandlerFunc(d.serveV3),
	}
}

func (d *Docs) serveV2(w http.ResponseWriter, r *http.Request) {
	l, err := d.current()
	if err != nil {
		unavailable(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache, private")
	d.serve(w, r, l.v2, mediaV2Proto, mediaV2ProtoA)
}

func (d *Docs) serveV3Index(w http.ResponseWriter, r *http.Request) {
	l, err := d.current()
	if err != nil {
		unavailable(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache, private")
	d.serve(w, r, l.index, "", "")
}

// serveV3 serves one root's document. Asked for by the URL the index
// gives (?hash=...), it may be cached for good, since another document
// has another hash; asked for by an old hash, it redirects to the current
// one.
func (d *Docs) serveV3(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/openapi/v3/")
	doc, err := d.document(name)
	if err != nil {
		unavailable(w, err)
		return
	}
	if doc == nil {
		notFound(w)
		return
	}
	if hash := r.URL.Query().Get("hash"); hash != "" {
		if hash != doc.etag {
			http.Redirect(w, r, hashURL(name, doc.etag), http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "public, immutable")
		w.Header().Set("Expires", time.Now().UTC().AddDate(1, 0, 0).Format(http.TimeFormat))
	} else {
		w.Header().Set("Cache-Control", "no-cache, private")
	}
	d.serve(w, r, doc, mediaV3Proto, mediaV3ProtoA)
}

// offer is a media type a document is served in: asked for as
// mediaType, answered as returned.
type offer struct{ mediaType, returned string }

// serve writes doc as JSON or, when protoType is set, as protobuf if the
// Accept header prefers it; compressed if the client takes gzip. The ETag
// (the document's hash, whatever the encoding, as kube-apiserver does;
// Vary tells caches apart) lets a client revalidate with If-None-Match
// and get a 304, which needs no build.
func (d *Docs) serve(w http.ResponseWriter, r *http.Request, doc *document, protoType, protoAlias string) {
	offers := []offer{{mediaJSON, mediaJSON}}
	if protoType != "" {
		offers = append(offers, offer{protoType, protoType}, offer{protoAlias, protoType})
		w.Header().Add("Vary", "Accept")
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	for _, clause := range goautoneg.ParseAccept(accept) {
		for _, o := range offers {
			typ, sub, _ := strings.Cut(o.mediaType, "/")
			if (clause.Type != typ && clause.Type != "*") || (clause.SubType != sub && clause.SubType != "*") {
				continue
			}
			v := variant{proto: o.returned != mediaJSON, gzip: acceptsGzip(r)}
			w.Header().Add("Vary", "Accept-Encoding")
			w.Header().Set("Etag", strconv.Quote(doc.etag))
			if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, doc.etag) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			body, err := d.cache.get(doc, v)
			if err != nil {
				unavailable(w, err)
				return
			}
			if v.gzip {
				w.Header().Set("Content-Encoding", "gzip")
			}
			w.Header().Set("Content-Type", o.returned)
			http.ServeContent(w, r, "", doc.modified, bytes.NewReader(body))
			return
		}
	}
	w.WriteHeader(http.StatusNotAcceptable)
}

// etagMatches reads If-None-Match: "*" or a list of (weak or strong)
// entity tags.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == strconv.Quote(etag) {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: "gzip", unless with q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if strings.TrimSpace(coding) != "gzip" {
			continue
		}
		_, q, found := strings.Cut(params, "q=")
		if !found {
			return true
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
		return err == nil && v > 0
	}
	return false
}

// notFound answers as kube-apiserver does for a path it does not serve.
func notFound(w http.ResponseWriter) {
	b, _ := json.Marshal(&metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: "the server could not find the requested resource",
		Reason: metav1.StatusReasonNotFound, Details: &metav1.StatusDetails{}, Code: http.StatusNotFound,
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	w.Write(b)
}

// unavailable reports a document that could not be built: a bug (a kind
// without a schema), which the package's tests exist to catch.
func unavailable(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), http.StatusServiceUnavailable)
}

// toV2Proto and toV3Proto turn a JSON document into the gnostic protobuf
// message kubectl reads.
func toV2Proto(j []byte) ([]byte, error) {
	doc, err := openapi_v2.ParseDocument(j)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(doc)
}

func toV3Proto(j []byte) ([]byte, error) {
	doc, err := openapi_v3.ParseDocument(j)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(doc)
}
