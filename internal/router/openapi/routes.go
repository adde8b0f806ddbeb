package openapi

import (
	"k8s.io/kube-openapi/pkg/common"
)

// The OpenAPI builders of kube-openapi (pkg/builder for v2, pkg/builder3
// for v3) turn routes into paths, operations, parameters and responses,
// and collect the schemas those reference. kube-apiserver feeds them its
// go-restful routes; kapi has none, so the types below describe each
// operation directly, holding exactly what the builders read.

// webService is the routes below one root path ("/apis/apps/v1"): one
// OpenAPI v3 document each, as kube-apiserver has one go-restful
// WebService per group version.
type webService struct {
	root   string
	routes []common.Route
}

func (w *webService) RootPath() string                   { return w.root }
func (w *webService) PathParameters() []common.Parameter { return nil }
func (w *webService) Routes() []common.Route             { return w.routes }

// route is one operation: a method on a path.
type route struct {
	method    string
	path      string
	operation string // kube's operation name before the group is spliced in: "readNamespacedDeployment"
	doc       string
	params    []common.Parameter
	consumes  []string
	produces  []string
	metadata  map[string]any
	reads     any // request body model, or nil
	writes    any // response model
	responses []common.StatusCodeResponse
}

func (r *route) Method() string                                   { return r.method }
func (r *route) Path() string                                     { return r.path }
func (r *route) OperationName() string                            { return r.operation }
func (r *route) Parameters() []common.Parameter                   { return r.params }
func (r *route) Description() string                              { return r.doc }
func (r *route) Consumes() []string                               { return r.consumes }
func (r *route) Produces() []string                               { return r.produces }
func (r *route) Metadata() map[string]any                         { return r.metadata }
func (r *route) RequestPayloadSample() any                        { return r.reads }
func (r *route) ResponsePayloadSample() any                       { return r.writes }
func (r *route) StatusCodeResponses() []common.StatusCodeResponse { return r.responses }

// returns documents one more status code the operation answers with.
func (r *route) returns(code int, message string, m any) *route {
	r.responses = append(r.responses, &response{code: code, message: message, model: m})
	return r
}

// param adds parameters.
func (r *route) param(p ...common.Parameter) *route {
	r.params = append(r.params, p...)
	return r
}

type response struct {
	code    int
	message string
	model   any
}

func (r *response) Code() int       { return r.code }
func (r *response) Message() string { return r.message }
func (r *response) Model() any      { return r.model }

// param is a path, query or body parameter.
type param struct {
	name     string
	doc      string
	kind     common.ParameterKind
	dataType string // "string", "integer", "boolean", "number"; unused for a body
	required bool
}

func (p *param) Name() string               { return p.name }
func (p *param) Description() string        { return p.doc }
func (p *param) Required() bool             { return p.required }
func (p *param) Kind() common.ParameterKind { return p.kind }
func (p *param) DataType() string           { return p.dataType }
func (p *param) AllowMultiple() bool        { return false }

func pathParam(name, doc string) *param {
	return &param{name: name, doc: doc, kind: common.PathParameterKind, dataType: "string", required: true}
}

func queryParam(name, doc, dataType string) *param {
	return &param{name: name, doc: doc, kind: common.QueryParameterKind, dataType: dataType}
}

// bodyParam is the request body; its schema is the route's reads model.
func bodyParam(required bool) *param {
	return &param{name: "body", kind: common.BodyParameterKind, required: required}
}

// model names a schema by its OpenAPI name. The builders call
// OpenAPIModelName on request and response samples, so a name is all a
// sample needs to be; model("string") is the plain string schema (the
// text of pods/log, the bytes of exec and proxy).
type model string

func (m model) OpenAPIModelName() string { return string(m) }
