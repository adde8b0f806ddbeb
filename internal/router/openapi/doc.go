// Package openapi builds the OpenAPI documents kapi serves at /openapi/v2
// and /openapi/v3: the schemas of every served kind, and a path with its
// operations for every resource and verb, as kube-apiserver publishes them.
//
// kubectl depends on them: `kubectl explain` renders the v3 schemas, and
// `kubectl apply`/`create` look for the fieldValidation query parameter
// among a path's parameters to decide whether the server validates fields
// itself or the client must validate against the schema.
//
// The schemas come from the rows of the catalogue (registry.Type.Schema):
// the built-in kinds' are generated from their Go types (package
// registry/schemas), a custom resource's come from its CRD.
package openapi
