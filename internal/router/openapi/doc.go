// Package openapi builds the OpenAPI documents kapi serves at /openapi/v2
// and /openapi/v3: the schemas of every served kind, and a path with its
// operations for every resource and verb, as kube-apiserver publishes them.
//
// kubectl depends on them: `kubectl explain` renders the v3 schemas, and
// `kubectl apply`/`create` look for the fieldValidation query parameter
// among a path's parameters to decide whether the server validates fields
// itself or the client must validate against the schema.
//
// The schemas are generated from the Go types by kube-openapi's openapi-gen
// into zz_generated_openapi.go. The tool's version is pinned by go.mod's
// tool directive, so regenerating needs nothing but Go:
//
//	GOTOOLCHAIN=local go generate ./internal/router/openapi
//
// The packages are every GA group kapi serves and the apimachinery types
// they use; scheduling/v1alpha3 is there because batch/v1 Job refers to
// its (feature-gated) types. The API-rule report of openapi-gen (lints of
// the upstream types) is not ours to fix, so it goes to /dev/null.
package openapi

//go:generate go tool openapi-gen --output-dir . --output-pkg kapi/internal/router/openapi --output-file zz_generated_openapi.go --report-filename /dev/null k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/util/intstr k8s.io/apimachinery/pkg/api/resource k8s.io/apimachinery/pkg/version k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/batch/v1 k8s.io/api/autoscaling/v1 k8s.io/api/autoscaling/v2 k8s.io/api/policy/v1 k8s.io/api/networking/v1 k8s.io/api/rbac/v1 k8s.io/api/coordination/v1 k8s.io/api/discovery/v1 k8s.io/api/events/v1 k8s.io/api/storage/v1 k8s.io/api/scheduling/v1 k8s.io/api/scheduling/v1alpha3 k8s.io/api/node/v1 k8s.io/api/certificates/v1 k8s.io/api/admissionregistration/v1 k8s.io/api/flowcontrol/v1 k8s.io/api/resource/v1 k8s.io/api/authentication/v1 k8s.io/api/authorization/v1 k8s.io/api/storagemigration/v1 k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1 k8s.io/kube-aggregator/pkg/apis/apiregistration/v1
