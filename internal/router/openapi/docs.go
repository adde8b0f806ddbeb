package openapi

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/schemamutation"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"kapi/internal/registry"
)

// Docs are the OpenAPI documents of a set of resources: one v2 document
// of everything, and one v3 document per root (a group version, or a
// discovery or /version root), each encoded as JSON and protobuf.
//
// New only lays out the routes, so that a server is ready at once and a
// catalogue mistake (a subresource nobody described, a kind the scheme
// does not know) fails at start-up. The schemas and their encodings are
// built on first request, once, and then served from memory; Build does
// all of it up front.
type Docs struct {
	services []*webService // every root, in order
	namer    gvkNamer

	v2 *document
	v3 map[string]*document // by root without the leading slash: "apis/apps/v1", "api/v1", "version"

	// v3Index is the /openapi/v3 discovery document; it hashes every v3
	// document, so building it builds them all.
	v3Index *document

	// v3Mu makes v3 documents one at a time: builder3 writes into the
	// definitions (v3Defs) the documents share, and so into schemas a
	// document being encoded holds.
	v3Mu   sync.Mutex
	v3Defs map[string]common.OpenAPIDefinition
}

// New lays out the documents of resources (the rows of the catalogue).
func New(resources []*registry.Resource) (*Docs, error) {
	in, err := newInstaller()
	if err != nil {
		return nil, err
	}
	d := &Docs{v3: map[string]*document{}, namer: newGVKNamer(registry.Scheme)}

	// One web service per group version, in the order the rows come.
	byRoot := map[string]*webService{}
	var gvServices []*webService
	var groups []string
	legacy := false
	for _, r := range resources {
		root := "/apis/" + r.Group + "/" + r.Version
		if r.Group == "" {
			root, legacy = "/api/"+r.Version, true
		}
		ws := byRoot[root]
		if ws == nil {
			ws = &webService{root: root}
			ws.routes = append(ws.routes, in.discoveryRoute(root, "getAPIResources", "get available resources", model(metav1.APIResourceList{}.OpenAPIModelName())))
			byRoot[root] = ws
			gvServices = append(gvServices, ws)
			if r.Group != "" && !slices.Contains(groups, r.Group) {
				groups = append(groups, r.Group)
			}
		}
		for _, sub := range append([]string{""}, r.Subresources...) {
			e, err := newEndpoint(r, sub)
			if err != nil {
				return nil, err
			}
			if sub != "" && !r.Serves(sub) {
				continue // documented once kapi serves it
			}
			routes, err := in.routes(root, e)
			if err != nil {
				return nil, err
			}
			ws.routes = append(ws.routes, routes...)
		}
	}
	d.services = append(in.rootServices(legacy, groups), gvServices...)

	// The v3 documents share one set of definitions; made now, they also
	// show at start-up whether every schema the routes need was generated.
	d.v3Defs = v3Definitions()
	if err := checkSchemas(d.services, d.v3Defs); err != nil {
		return nil, err
	}

	d.v2 = newDocument(d.buildV2, toV2Proto)
	for _, ws := range d.services {
		d.v3[strings.TrimPrefix(ws.root, "/")] = newDocument(func() ([]byte, error) { return d.buildV3(ws) }, toV3Proto)
	}
	d.v3Index = newDocument(d.buildV3Index, nil)
	return d, nil
}

// Build builds and encodes every document now rather than on first
// request.
func (d *Docs) Build() error {
	for _, doc := range append([]*document{d.v2, d.v3Index}, d.v3Docs()...) {
		if _, err := doc.json.get(); err != nil {
			return err
		}
		if doc.proto != nil {
			if _, err := doc.proto.get(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *Docs) v3Docs() []*document {
	var docs []*document
	for _, ws := range d.services {
		docs = append(docs, d.v3[strings.TrimPrefix(ws.root, "/")])
	}
	return docs
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

// buildV2 builds /openapi/v2 from every route.
func (d *Docs) buildV2() ([]byte, error) {
	containers := make([]common.RouteContainer, len(d.services))
	for i, ws := range d.services {
		containers[i] = ws
	}
	cfg := &common.Config{
		ProtocolList:                   []string{"https"},
		Info:                           info(),
		DefaultResponse:                &spec.Response{ResponseProps: spec.ResponseProps{Description: "Default Response."}},
		CommonResponses:                map[int]spec.Response{401: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}}},
		GetOperationIDAndTagsFromRoute: operationIDAndTags,
		GetDefinitionName:              d.namer.name,
		GetDefinitions:                 GetOpenAPIDefinitions,
		SecurityDefinitions:            &spec.SecurityDefinitions{"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: bearerToken}},
		DefaultSecurity:                []map[string][]string{{"BearerToken": {}}},
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
func (d *Docs) buildV3(ws *webService) ([]byte, error) {
	d.v3Mu.Lock()
	defer d.v3Mu.Unlock()
	if d.v3Defs == nil {
		d.v3Defs = v3Definitions()
	}
	cfg := &common.OpenAPIV3Config{
		Info:                           info(),
		DefaultResponse:                &spec3.Response{ResponseProps: spec3.ResponseProps{Description: "Default Response."}},
		CommonResponses:                map[int]*spec3.Response{401: {ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}},
		GetOperationIDAndTagsFromRoute: operationIDAndTags,
		GetDefinitionName:              d.namer.name,
		Definitions:                    d.v3Defs,
		SecuritySchemes:                spec3.SecuritySchemes{"BearerToken": &spec3.SecurityScheme{SecuritySchemeProps: spec3.SecuritySchemeProps{Type: bearerToken.Type, Name: bearerToken.Name, In: bearerToken.In, Description: bearerToken.Description}}},
	}
	doc, err := builder3.BuildOpenAPISpecFromRoutes([]common.RouteContainer{ws}, cfg)
	if err != nil {
		return nil, fmt.Errorf("openapi v3 %s: %w", ws.root, err)
	}
	if group, version, ok := groupVersion(ws.root); ok {
		narrowGVKs(doc, group, version)
	}
	return json.Marshal(doc)
}

// v3Definitions are the generated schemas, referring to each other as
// OpenAPI v3 components.
func v3Definitions() map[string]common.OpenAPIDefinition {
	return GetOpenAPIDefinitions(func(name string) spec.Ref {
		return spec.MustCreateRef("#/components/schemas/" + common.EscapeJsonPointer(name))
	})
}

// checkSchemas reports a schema a route needs, directly or through
// another schema, that openapi-gen did not generate: a kind of a package
// missing from the go:generate line in doc.go.
func checkSchemas(services []*webService, defs map[string]common.OpenAPIDefinition) error {
	seen := map[string]bool{}
	var need func(name, by string) error
	need = func(name, by string) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		def, ok := defs[name]
		if !ok {
			return fmt.Errorf("openapi: no schema %s (needed by %s): add its package to the go:generate line in doc.go and run go generate", name, by)
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

func (d *Docs) buildV3Index() ([]byte, error) {
	index := v3Discovery{Paths: map[string]v3DiscoveryPath{}}
	for name, doc := range d.v3 {
		if _, err := doc.json.get(); err != nil {
			return nil, err
		}
		index.Paths[name] = v3DiscoveryPath{ServerRelativeURL: hashURL(name, doc.etag)}
	}
	// Every v3 document is made: the definitions they shared can go.
	d.v3Mu.Lock()
	d.v3Defs = nil
	d.v3Mu.Unlock()
	return json.Marshal(index)
}

// hashURL is where a v3 document is served for good: /openapi/v3/apis/apps/v1?hash=...
func hashURL(name, etag string) string {
	return "/openapi/v3/" + name + "?hash=" + etag
}
