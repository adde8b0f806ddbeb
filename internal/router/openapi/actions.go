package openapi

import (
	"fmt"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"

	"kapi/internal/registry"
	"kapi/internal/registry/schemas"
)

// The routes of a resource follow kube-apiserver's API installer
// (k8s.io/apiserver/pkg/endpoints/installer.go) line for line in what
// they produce: the same paths, operation names, descriptions,
// parameters, media types and responses, so that clients generated from
// or validating against either server's documents see no difference.

const (
	extGVK    = "x-kubernetes-group-version-kind"
	extAction = "x-kubernetes-action"

	prettyDoc    = "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."
	namespaceDoc = "object name and auth scope, such as for teams and projects"
)

// patchTypes are the request bodies a PATCH accepts.
var patchTypes = []string{
	"application/json-patch+json",
	"application/merge-patch+json",
	"application/strategic-merge-patch+json",
	"application/apply-patch+yaml",
}

// Models every group shares.
var (
	statusModel        = model(metav1.Status{}.OpenAPIModelName())
	deleteOptionsModel = model(metav1.DeleteOptions{}.OpenAPIModelName())
	patchModel         = model(metav1.Patch{}.OpenAPIModelName())
	watchEventModel    = model(metav1.WatchEvent{}.OpenAPIModelName())
	textModel          = model("string")
)

// installer builds routes. It holds what every resource's routes share:
// the media types kapi encodes objects in and the query parameters of
// each kind of request.
type installer struct {
	media    []string // application/json, application/yaml, application/vnd.kubernetes.protobuf
	allMedia []string // media, and the watch stream framings

	pretty                                   common.Parameter
	list, listNoWatch, create, update, patch []common.Parameter
	deleteOpts                               []common.Parameter
}

func newInstaller() (*installer, error) {
	in := &installer{pretty: queryParam("pretty", prettyDoc, "string")}
	var stream []string
	for _, info := range registry.Codecs.SupportedMediaTypes() {
		in.media = append(in.media, info.MediaType)
		if info.StreamSerializer != nil {
			stream = append(stream, info.MediaType+";stream=watch")
		}
	}
	in.allMedia = append(append([]string{}, in.media...), stream...)

	for _, o := range []struct {
		dst     *[]common.Parameter
		obj     any
		exclude []string
	}{
		{&in.list, &metav1.ListOptions{}, nil},
		{&in.listNoWatch, &metav1.ListOptions{}, []string{"watch", "allowWatchBookmarks"}},
		{&in.create, &metav1.CreateOptions{}, nil},
		{&in.update, &metav1.UpdateOptions{}, nil},
		{&in.patch, &metav1.PatchOptions{}, nil},
		{&in.deleteOpts, &metav1.DeleteOptions{}, nil},
	} {
		p, err := optionParams(o.obj, o.exclude...)
		if err != nil {
			return nil, err
		}
		*o.dst = p
	}
	return in, nil
}

// endpoint is a resource or one of its subresources, as its routes see it.
type endpoint struct {
	r   *registry.Resource
	sub string // "" for the resource itself

	gvk    schema.GroupVersionKind // the kind served here
	object model                   // its schema
	list   model                   // the list kind's schema, for listable resources
	can    map[string]bool         // verbs served

	// A connection subresource's methods, its options' query
	// parameters, and whether it has paths below it (connect.go).
	connect        bool
	connectMethods []string
	connectParams  []common.Parameter
	connectSubpath bool
}

// newEndpoint describes r, or its subresource sub, from the row: the
// schemas its Type names, the verbs and kind of the subresource entry.
func newEndpoint(r *registry.Resource, sub *registry.Subresource) (*endpoint, error) {
	e := &endpoint{r: r, gvk: r.GVK(), can: map[string]bool{}}
	verbs := r.VerbList()
	schemaOf := r.Type.Schema
	if sub != nil && sub.Connect != nil {
		e.sub, e.connect, e.connectMethods = sub.Name, true, connectMethods(sub)
		if !sub.Kind.Empty() {
			e.gvk = sub.Kind
		}
		var err error
		if e.connectParams, e.connectSubpath, err = connectOptions(sub); err != nil {
			return nil, err
		}
		e.object = textModel
		return e, nil
	}
	if sub != nil {
		e.sub, verbs = sub.Name, sub.Verbs
		if sub.New != nil {
			// A kind of its own (a Scale) is a built-in kind.
			e.gvk, schemaOf = sub.Kind, schemas.Builtin
		}
	}
	for _, v := range verbs {
		e.can[v] = true
	}
	name, err := schemaOf.Model(e.gvk)
	if err != nil {
		return nil, err
	}
	e.object = model(name)
	if sub == nil && e.can["list"] && r.Type.NewList != nil {
		// The list kind is the row's own: a custom resource's may be any
		// name (spec.names.listKind), not <kind>List.
		name, err := schemaOf.Model(r.Type.NewList().GetObjectKind().GroupVersionKind())
		if err != nil {
			return nil, err
		}
		e.list = model(name)
	}
	return e, nil
}

// action is a verb on a path, before it becomes one route (or, for
// connect, one route per HTTP method).
type action struct {
	verb          string // LIST POST DELETECOLLECTION WATCHLIST GET PUT PATCH DELETE WATCH
	path          string // below the group version's root
	params        []common.Parameter
	allNamespaces bool
}

// actions lists the verbs on paths of an endpoint, in kube-apiserver's
// order. For the resource itself, lists and creates are on the collection
// and the rest on the item; a subresource serves everything on its own
// path below the item.
func (e *endpoint) actions() []action {
	nameParam := pathParam("name", "name of the "+e.gvk.Kind)

	resourcePath, resourceParams := e.r.Name, []common.Parameter(nil)
	if e.r.Namespaced {
		resourcePath = "namespaces/{namespace}/" + e.r.Name
		resourceParams = []common.Parameter{pathParam("namespace", namespaceDoc)}
	}
	itemPath := resourcePath + "/{name}"
	nameParams := append(append([]common.Parameter{}, resourceParams...), nameParam)
	if e.sub != "" {
		itemPath += "/" + e.sub
		resourcePath, resourceParams = itemPath, nameParams
	}
	if e.connect {
		return e.connectActions(itemPath, nameParams)
	}
	v := e.can
	var acts []action
	add := func(ok bool, a action) {
		if ok {
			acts = append(acts, a)
		}
	}
	add(v["list"], action{verb: "LIST", path: resourcePath, params: resourceParams})
	add(v["create"], action{verb: "POST", path: resourcePath, params: resourceParams})
	add(v["deletecollection"], action{verb: "DELETECOLLECTION", path: resourcePath, params: resourceParams})
	add(v["watch"] && v["list"], action{verb: "WATCHLIST", path: "watch/" + resourcePath, params: resourceParams})
	add(v["get"], action{verb: "GET", path: itemPath, params: nameParams})
	add(v["update"], action{verb: "PUT", path: itemPath, params: nameParams})
	add(v["patch"], action{verb: "PATCH", path: itemPath, params: nameParams})
	add(v["delete"], action{verb: "DELETE", path: itemPath, params: nameParams})
	add(v["watch"], action{verb: "WATCH", path: "watch/" + itemPath, params: nameParams})
	if e.r.Namespaced && e.sub == "" {
		add(v["list"], action{verb: "LIST", path: e.r.Name, allNamespaces: true})
		add(v["watch"] && v["list"], action{verb: "WATCHLIST", path: "watch/" + e.r.Name, allNamespaces: true})
	}
	return acts
}

// routes turns the endpoint's actions into routes below root
// ("/apis/apps/v1").
func (in *installer) routes(root string, e *endpoint) ([]common.Route, error) {
	var out []common.Route
	for _, a := range e.actions() {
		rs, err := in.actionRoutes(e, a)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			r.path = root + "/" + a.path
			r.consumes = or(r.consumes, []string{"*/*"})
			r.param(a.params...)
			r.metadata = map[string]any{
				extGVK:    metav1.GroupVersionKind{Group: e.gvk.Group, Version: e.gvk.Version, Kind: e.gvk.Kind},
				extAction: strings.ToLower(a.verb),
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// actionRoutes is the heart of kube-apiserver's installer: what each verb
// documents. Operation names read "<verb><Namespaced><Kind><Subresource>
// <suffix>" (listNamespacedDeployment, patchNamespacedDeploymentScale,
// listDeploymentForAllNamespaces); the group and version are spliced in
// later (listAppsV1NamespacedDeployment).
func (in *installer) actionRoutes(e *endpoint, a action) ([]*route, error) {
	kind := e.r.Kind // a subresource's operations are named after its parent
	namespaced, suffix := "", ""
	if e.r.Namespaced {
		namespaced = "Namespaced"
	}
	if a.allNamespaces {
		namespaced, suffix = "", suffix+"ForAllNamespaces"
	}
	sub := title(e.sub)
	name := namespaced + kind + sub + suffix
	// of reads "status of the specified Deployment" for a subresource.
	of := func(plain, withSub string) string {
		if e.sub == "" {
			return plain
		}
		return withSub
	}
	article := articleFor(kind)

	switch a.verb {
	case "CONNECT":
		return in.connectRoutes(e, a, name), nil

	case "GET":
		r := &route{method: "GET", operation: "read" + name,
			doc:      of("read the specified "+kind, "read "+e.sub+" of the specified "+kind),
			produces: in.media, writes: e.object}
		r.returns(200, "OK", e.object).param(in.pretty)
		return []*route{r}, nil

	case "LIST":
		doc := of("list objects of kind "+kind, "list "+e.sub+" of objects of kind "+kind)
		if e.can["watch"] {
			doc = of("list or watch objects of kind "+kind, "list or watch "+e.sub+" of objects of kind "+kind)
		}
		r := &route{method: "GET", operation: "list" + name, doc: doc, produces: in.allMedia, writes: e.list}
		r.returns(200, "OK", e.list).param(in.pretty).param(in.list...)
		return []*route{r}, nil

	case "PUT":
		r := &route{method: "PUT", operation: "replace" + name,
			doc:      of("replace the specified "+kind, "replace "+e.sub+" of the specified "+kind),
			produces: in.media, reads: e.object, writes: e.object}
		r.returns(200, "OK", e.object).returns(201, "Created", e.object).
			param(in.pretty, bodyParam(true)).param(in.update...)
		return []*route{r}, nil

	case "PATCH":
		r := &route{method: "PATCH", operation: "patch" + name,
			doc:      of("partially update the specified "+kind, "partially update "+e.sub+" of the specified "+kind),
			consumes: patchTypes, produces: in.media, reads: patchModel, writes: e.object}
		r.returns(200, "OK", e.object).returns(201, "Created", e.object).
			param(in.pretty, bodyParam(true)).param(in.patch...)
		return []*route{r}, nil

	case "POST":
		r := &route{method: "POST", operation: "create" + name,
			doc:      of("create"+article+kind, "create "+e.sub+" of"+article+kind),
			produces: in.media, reads: e.object, writes: e.object}
		r.returns(200, "OK", e.object).returns(201, "Created", e.object).returns(202, "Accepted", e.object).
			param(in.pretty, bodyParam(true)).param(in.create...)
		return []*route{r}, nil

	case "DELETE":
		out := statusModel
		if e.r.ReturnDeletedObject {
			out = e.object
		}
		r := &route{method: "DELETE", operation: "delete" + name,
			doc:      of("delete"+article+kind, "delete "+e.sub+" of"+article+kind),
			produces: in.media, reads: deleteOptionsModel, writes: out}
		r.returns(200, "OK", out).returns(202, "Accepted", out).
			param(in.pretty, bodyParam(false)).param(in.deleteOpts...)
		return []*route{r}, nil

	case "DELETECOLLECTION":
		r := &route{method: "DELETE", operation: "deletecollection" + name,
			doc:      of("delete collection of "+kind, "delete collection of "+e.sub+" of a "+kind),
			produces: in.media, reads: deleteOptionsModel, writes: statusModel}
		r.returns(200, "OK", statusModel).
			param(in.pretty, bodyParam(false)).param(in.deleteOpts...).param(in.listNoWatch...)
		return []*route{r}, nil

	case "WATCH":
		r := &route{method: "GET", operation: "watch" + name,
			doc: of("watch changes to an object of kind "+kind, "watch changes to "+e.sub+" of an object of kind "+kind) +
				". deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.",
			produces: in.allMedia, writes: watchEventModel}
		r.returns(200, "OK", watchEventModel).param(in.pretty).param(in.list...)
		return []*route{r}, nil

	case "WATCHLIST":
		r := &route{method: "GET", operation: "watch" + namespaced + kind + sub + "List" + suffix,
			doc: of("watch individual changes to a list of "+kind, "watch individual changes to a list of "+e.sub+" of "+kind) +
				". deprecated: use the 'watch' parameter with a list operation instead.",
			produces: in.allMedia, writes: watchEventModel}
		r.returns(200, "OK", watchEventModel).param(in.pretty).param(in.list...)
		return []*route{r}, nil

	}
	return nil, fmt.Errorf("openapi: unknown action %s", a.verb)
}

// title is "Status" for "status", and "Get" for "GET".
func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

// articleFor is " a " or " an " before a kind, as kube-apiserver writes
// its descriptions ("create a Deployment", "delete an Ingress"), and a
// bare space before a plural.
func articleFor(noun string) string {
	if !strings.HasSuffix(noun, "ss") && strings.HasSuffix(noun, "s") {
		return " "
	}
	if strings.ContainsRune("aeiou", unicode.ToLower(rune(noun[0]))) {
		return " an "
	}
	return " a "
}

func or(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}
