package openapi

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/schemamutation"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"kapi/internal/registry"
	"kapi/internal/registry/schemas"
)

// Docs are the OpenAPI documents of the catalogue: one v2 document of
// everything, and one v3 document per root (a group version, or a
// discovery or /version root), each encoded as JSON and protobuf.
//
// The catalogue changes while kapi runs, so nothing is built ahead:
//
//   - the layout (which roots exist, and a hash of what each is made of:
//     its rows and their revisions) is made from a snapshot of the
//     catalogue when first asked after a change; the /openapi/v3 index is
//     made of these hashes alone, and builds no document;
//   - a root's v3 document is built when a client asks for it, and the
//     encodings served are kept, by hash, in a cache of bounded size
//     (docCache): a new CRD builds its own group version's document, not
//     the others, and a thousand CRDs do not keep a thousand documents;
//   - the v2 document, which holds everything, is built when asked.
type Docs struct {
	cat   *registry.Catalogue
	in    *installer
	cache *docCache

	layout atomic.Pointer[layout]

	mu sync.Mutex // one build at a time, and defs
	// defs are the built-in v3 definitions the v3 documents share:
	// builder3 writes into the schemas it is given, so builds take mu.
	// They are made for a build and dropped once no build needed them
	// for defsIdle (drop).
	defs map[string]common.OpenAPIDefinition
	drop *time.Timer
}

// defsIdle is how long the built-in definitions are kept after a build:
// the documents asked for together (kubectl's, a client's first look)
// share them; then they go (some megabytes).
const defsIdle = 10 * time.Second

// layout is the documents of one snapshot of the catalogue, unbuilt.
type layout struct {
	gen   uint64
	roots []*root // in document order
	byKey map[string]*root
	v2    *document
	index *document
}

// root is what one v3 document is made of: the rows of a group version,
// or (fixed) the routes of a discovery or /version root.
type root struct {
	path  string // "/apis/apps/v1"
	rows  []*registry.Resource
	fixed *webService
	hash  string // of what the document is made of: its ETag and v3 hash
	doc   *document
}

func (r *root) key() string { return strings.TrimPrefix(r.path, "/") }

// New serves the documents of cat. It lays out the current snapshot at
// once, so that a catalogue mistake (a subresource of a kind nobody
// described, a kind without a schema) fails at start-up.
func New(cat *registry.Catalogue) (*Docs, error) {
	in, err := newInstaller()
	if err != nil {
		return nil, err
	}
	d := &Docs{cat: cat, in: in, cache: newDocCache(cacheBudget)}
	l, err := d.newLayout(cat.Snapshot(), nil)
	if err != nil {
		return nil, err
	}
	services, err := d.services(l)
	if err != nil {
		return nil, err
	}
	if err := checkSchemas(services, schemas.V3Definitions(), l.extraDefs(schemas.V3Ref)); err != nil {
		return nil, err
	}
	d.layout.Store(l)
	return d, nil
}

// current returns the layout of the current snapshot.
func (d *Docs) current() (*layout, error) {
	snap := d.cat.Snapshot()
	prev := d.layout.Load()
	if prev != nil && prev.gen == snap.Gen {
		return prev, nil
	}
	l, err := d.newLayout(snap, prev)
	if err != nil {
		return nil, err
	}
	d.layout.Store(l)
	return l, nil
}

// newLayout lays out the roots of snap: one per group version, in the
// order of the rows (built-in groups first), after the discovery and
// /version roots. No route is made: what a document is made of is known
// from the rows, and its routes are made when it is built. A root whose
// hash did not change since prev keeps its document.
func (d *Docs) newLayout(snap *registry.Snapshot, prev *layout) (*layout, error) {
	l := &layout{gen: snap.Gen, byKey: map[string]*root{}}
	var gvRoots []*root
	var groups []string
	legacy := false
	for _, st := range snap.Stores() {
		r := st.R
		name := "/apis/" + r.Group + "/" + r.Version
		if r.Group == "" {
			name, legacy = "/api/"+r.Version, true
		}
		rt := l.byKey[strings.TrimPrefix(name, "/")]
		if rt == nil {
			rt = &root{path: name}
			l.byKey[rt.key()] = rt
			gvRoots = append(gvRoots, rt)
			if r.Group != "" && !slices.Contains(groups, r.Group) {
				groups = append(groups, r.Group)
			}
		}
		rt.rows = append(rt.rows, r)
	}
	for _, rt := range gvRoots {
		rt.hash = rootHash(rt)
		if prev != nil {
			if old := prev.byKey[rt.key()]; old != nil && old.hash == rt.hash {
				l.byKey[rt.key()] = old
				continue
			}
		}
		rt.doc = newDocument(rt.hash, func() ([]byte, error) { return d.buildV3(rt) }, toV3Proto)
	}
	for _, ws := range d.in.rootServices(legacy, groups) {
		rt := &root{path: ws.root, fixed: ws}
		rt.hash = rootHash(rt)
		rt.doc = newDocument(rt.hash, func() ([]byte, error) { return d.buildV3(rt) }, toV3Proto)
		l.byKey[rt.key()] = rt
		l.roots = append(l.roots, rt)
	}
	for _, rt := range gvRoots {
		l.roots = append(l.roots, l.byKey[rt.key()])
	}
	all := sha512.New()
	for _, rt := range l.roots {
		all.Write([]byte(rt.hash))
	}
	v2Hash := fmt.Sprintf("%X", all.Sum(nil))
	if prev != nil && prev.v2.etag == v2Hash {
		l.v2 = prev.v2
	} else {
		l.v2 = newDocument(v2Hash, func() ([]byte, error) { return d.buildV2(l) }, toV2Proto)
	}
	index, err := l.buildV3Index()
	if err != nil {
		return nil, err
	}
	l.index = newDocument(fmt.Sprintf("%X", sha512.Sum512(index)), func() ([]byte, error) { return index, nil }, nil)
	return l, nil
}

// service makes the routes of a root: a group version's rows', or the
// fixed ones of a discovery root.
func (d *Docs) service(rt *root) (*webService, error) {
	if rt.fixed != nil {
		return rt.fixed, nil
	}
	ws := &webService{root: rt.path}
	ws.routes = []common.Route{d.in.discoveryRoute(rt.path, "getAPIResources", "get available resources", model(metav1.APIResourceList{}.OpenAPIModelName()))}
	for _, r := range rt.rows {
		for _, sub := range append([]*registry.Subresource{nil}, r.Subresources...) {
			e, err := newEndpoint(r, sub)
			if err != nil {
				return nil, err
			}
			routes, err := d.in.routes(rt.path, e)
			if err != nil {
				return nil, err
			}
			ws.routes = append(ws.routes, routes...)
		}
	}
	return ws, nil
}

// services are the routes of every root of l.
func (d *Docs) services(l *layout) ([]*webService, error) {
	out := make([]*webService, len(l.roots))
	for i, rt := range l.roots {
		ws, err := d.service(rt)
		if err != nil {
			return nil, err
		}
		out[i] = ws
	}
	return out, nil
}

// rootHash is the hex SHA-512 of what a root's document is made of: the
// server's version, the root, and each row with its revision (built-in
// rows do not change while kapi runs; a custom resource's rows carry the
// revision of their CRD). Every replica of one kapi version gives the same
// document the same hash, so that clients do not chase redirects between
// them.
func rootHash(rt *root) string {
	h := sha512.New()
	fmt.Fprintf(h, "kapi %s\n%s\n", buildVersion, rt.path)
	for _, r := range rt.rows {
		fmt.Fprintf(h, "%s %s\n", r.GVR(), r.Revision)
	}
	return fmt.Sprintf("%X", h.Sum(nil))
}

// buildVersion is what the built-in documents depend on: the kapi binary
// (its module versions).
var buildVersion = func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	h := sha512.New()
	for _, m := range bi.Deps {
		fmt.Fprintf(h, "%s %s\n", m.Path, m.Version)
	}
	return fmt.Sprintf("%s %X", bi.Main.Version, h.Sum(nil)[:8])
}()

// extraDefs are the definitions of the custom kinds of the layout's rows.
func (l *layout) extraDefs(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	var rows []*registry.Resource
	for _, rt := range l.roots {
		rows = append(rows, rt.rows...)
	}
	return rowDefs(rows, ref)
}

// rowDefs are the definitions rows add to the built-in ones.
func rowDefs(rows []*registry.Resource, ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	out := map[string]common.OpenAPIDefinition{}
	for _, r := range rows {
		maps.Copy(out, r.Type.Schema.Definitions(ref))
	}
	return out
}

// document returns the v3 document of the root key ("apis/apps/v1"), or
// nil.
func (d *Docs) document(key string) (*document, error) {
	l, err := d.current()
	if err != nil {
		return nil, err
	}
	if rt := l.byKey[key]; rt != nil {
		return rt.doc, nil
	}
	return nil, nil
}

// Build builds and encodes every document of the current catalogue now,
// as JSON and protobuf, rather than on first request (the cache keeps
// what fits).
func (d *Docs) Build() error {
	l, err := d.current()
	if err != nil {
		return err
	}
	docs := []*document{l.v2, l.index}
	for _, rt := range l.roots {
		docs = append(docs, rt.doc)
	}
	for _, doc := range docs {
		if _, err := d.cache.get(doc, variant{}); err != nil {
			return err
		}
		if doc.toProto != nil {
			if _, err := d.cache.get(doc, variant{proto: true}); err != nil {
				return err
			}
		}
	}
	return nil
}

// info is what kube-apiserver says of itself: its title, and its
// major.minor version (the emulated version, 1.37 for 1.37.2).
func info() *spec.Info {
	v := "1.37"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			// k8s.io/api v0.37.2 is Kubernetes 1.37.2.
			if m.Path == "k8s.io/api" && strings.HasPrefix(m.Version, "v0.") {
				if parts := strings.SplitN(strings.TrimPrefix(m.Version, "v0."), ".", 2); len(parts) == 2 {
					v = "1." + parts[0]
				}
			}
		}
	}
	return &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: v}}
}

// bearerToken is the security scheme kube-apiserver declares: a bearer
// token in the Authorization header.
var bearerToken = spec.SecuritySchemeProps{
	Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
}

// buildV2 builds /openapi/v2 from every route of the layout.
//
// The build is kube-openapi's, and allocates some hundreds of megabytes
// for a moment with a thousand resources: they are given back to the
// system at once, rather than kept mapped until the runtime returns them
// a bit at a time.
func (d *Docs) buildV2(l *layout) ([]byte, error) {
	defer debug.FreeOSMemory()
	services, err := d.services(l)
	if err != nil {
		return nil, err
	}
	containers := make([]common.RouteContainer, len(services))
	for i, ws := range services {
		containers[i] = ws
	}
	cfg := &common.Config{
		ProtocolList:                   []string{"https"},
		Info:                           info(),
		DefaultResponse:                &spec.Response{ResponseProps: spec.ResponseProps{Description: "Default Response."}},
		CommonResponses:                map[int]spec.Response{401: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}}},
		GetOperationIDAndTagsFromRoute: operationIDAndTags,
		GetDefinitionName:              schemas.Names().Name,
		GetDefinitions: func(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
			defs := schemas.GetOpenAPIDefinitions(ref)
			maps.Copy(defs, l.extraDefs(ref))
			return defs
		},
		SecurityDefinitions: &spec.SecurityDefinitions{"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: bearerToken}},
		DefaultSecurity:     []map[string][]string{{"BearerToken": {}}},
	}
	sw, err := builder.BuildOpenAPISpecFromRoutes(containers, cfg)
	if err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	// v2 carries no defaults, as kube-apiserver's: beside a $ref (most
	// fields with a default) OpenAPI v2 does not allow one, and v2's
	// readers predate them.
	for name, s := range sw.Definitions {
		sw.Definitions[name] = *withoutDefaults(&s)
	}
	return sw.MarshalJSON()
}

// withoutDefaults returns s with no default anywhere in it, copying what
// it changes (the generated definitions are shared).
func withoutDefaults(s *spec.Schema) *spec.Schema {
	w := schemamutation.Walker{
		SchemaCallback: func(s *spec.Schema) *spec.Schema {
			if s.Default == nil {
				return s
			}
			c := *s
			c.Default = nil
			return &c
		},
		RefCallback: schemamutation.RefCallbackNoop,
	}
	return w.WalkSchema(s)
}

// buildV3 builds the v3 document of one root.
func (d *Docs) buildV3(rt *root) ([]byte, error) {
	ws, err := d.service(rt)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.defs == nil {
		d.defs = schemas.V3Definitions()
	}
	if d.drop == nil {
		d.drop = time.AfterFunc(defsIdle, func() {
			d.mu.Lock()
			d.defs, d.drop = nil, nil
			d.mu.Unlock()
		})
	} else {
		d.drop.Reset(defsIdle)
	}
	// A custom resource's definitions join the shared ones for this
	// build only (no copy of the shared map: builds hold mu).
	defs := d.defs
	extra := rowDefs(rt.rows, schemas.V3Ref)
	for name, def := range extra {
		if _, builtin := defs[name]; !builtin {
			defs[name] = def
			defer delete(defs, name)
		}
	}
	cfg := &common.OpenAPIV3Config{
		Info:                           info(),
		DefaultResponse:                &spec3.Response{ResponseProps: spec3.ResponseProps{Description: "Default Response."}},
		CommonResponses:                map[int]*spec3.Response{401: {ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}},
		GetOperationIDAndTagsFromRoute: operationIDAndTags,
		GetDefinitionName:              schemas.Names().Name,
		Definitions:                    defs,
		SecuritySchemes:                spec3.SecuritySchemes{"BearerToken": &spec3.SecurityScheme{SecuritySchemeProps: spec3.SecuritySchemeProps{Type: bearerToken.Type, Name: bearerToken.Name, In: bearerToken.In, Description: bearerToken.Description}}},
	}
	doc, err := builder3.BuildOpenAPISpecFromRoutes([]common.RouteContainer{ws}, cfg)
	if err != nil {
		return nil, fmt.Errorf("openapi v3 %s: %w", rt.path, err)
	}
	if group, version, ok := groupVersion(rt.path); ok {
		narrowGVKs(doc, group, version)
	}
	return json.Marshal(doc)
}

// checkSchemas reports a schema a route needs, directly or through
// another schema, that is not defined: for a built-in kind, one of a
// package missing from the go:generate line of registry/schemas.
func checkSchemas(services []*webService, defs, extra map[string]common.OpenAPIDefinition) error {
	seen := map[string]bool{}
	var need func(name, by string) error
	need = func(name, by string) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		def, ok := defs[name]
		if !ok {
			def, ok = extra[name]
		}
		if !ok {
			return fmt.Errorf("openapi: no schema %s (needed by %s): add its package to the go:generate line of registry/schemas and run go generate", name, by)
		}
		for _, dep := range def.Dependencies {
			if err := need(dep, name); err != nil {
				return err
			}
		}
		return nil
	}
	for _, ws := range services {
		for _, cr := range ws.routes {
			r := cr.(*route)
			models := []any{r.reads, r.writes}
			for _, resp := range r.responses {
				models = append(models, resp.Model())
			}
			for _, m := range models {
				if m, ok := m.(model); ok && m != textModel {
					if err := need(string(m), r.method+" "+r.path); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// groupVersion is ("apps", "v1") for /apis/apps/v1 and ("", "v1") for
// /api/v1.
func groupVersion(root string) (group, version string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(root, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "api":
		return "", parts[1], true
	case len(parts) == 3 && parts[0] == "apis":
		return parts[1], parts[2], true
	}
	return "", "", false
}

// v3Discovery is the document at /openapi/v3: where each root's document
// is, with its hash, so that a client can cache documents for good and
// know when one changed.
type v3Discovery struct {
	Paths map[string]v3DiscoveryPath `json:"paths"`
}

type v3DiscoveryPath struct {
	ServerRelativeURL string `json:"serverRelativeURL"`
}

// buildV3Index writes the index from the roots' hashes; no document is
// built for it.
func (l *layout) buildV3Index() ([]byte, error) {
	index := v3Discovery{Paths: map[string]v3DiscoveryPath{}}
	for _, rt := range l.roots {
		index.Paths[rt.key()] = v3DiscoveryPath{ServerRelativeURL: hashURL(rt.key(), rt.hash)}
	}
	return json.Marshal(index)
}

// hashURL is where a v3 document is served for good: /openapi/v3/apis/apps/v1?hash=...
func hashURL(name, etag string) string {
	return "/openapi/v3/" + name + "?hash=" + etag
}
