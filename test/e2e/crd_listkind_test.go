package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCRDListKindInOpenAPI: a CRD whose listKind is not <kind>List (kube's
// own conformance fixture: kind WishIHadChosenNoxu, listKind
// NoxuItemList) is published in OpenAPI v2 and v3 under its list kind,
// as kube-apiserver publishes it; kapi answered 503 for every document
// that held it, /openapi/v2 included, which broke kubectl's validation
// and explain for every resource while the CRD existed (found by kube
// 1.37's CustomResourcePublishOpenAPI conformance tests).
func TestCRDListKindInOpenAPI(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	preserve := true
	k.createCRD(t, &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "noxus.listkind.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "listkind.example.com", Scope: apiextensionsv1.ClusterScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "noxus", Singular: "nonenglishnoxu", Kind: "WishIHadChosenNoxu", ListKind: "NoxuItemList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1beta1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &preserve}}}},
		},
	})
	for _, path := range []string{"/openapi/v2", "/openapi/v3/apis/listkind.example.com/v1beta1"} {
		var body []byte
		var err error
		// The documents follow the CRD in a moment.
		waitUntil(10*time.Second, func() bool {
			body, err = k.client.Discovery().RESTClient().Get().AbsPath(path).DoRaw(ctx)
			return err == nil && strings.Contains(string(body), "com.example.listkind.v1beta1.NoxuItemList")
		})
		if err != nil || !strings.Contains(string(body), "com.example.listkind.v1beta1.NoxuItemList") {
			t.Errorf("%s: %v, the list kind's definition missing", path, err)
		}
	}
	out, err := k.kubectl("", "explain", "noxus")
	if err != nil || !strings.Contains(out, "WishIHadChosenNoxu") {
		t.Errorf("kubectl explain noxus: %v\n%s", err, out)
	}
}
