package e2e

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// crdClient is the apiextensions clientset of kapi k.
func (k *kapi) crdClient() apiextensionsclient.Interface {
	return apiextensionsclient.NewForConfigOrDie(k.rest)
}

// createCRD creates crd and waits until it is Established and its
// resource answers a list, failing the test otherwise.
func (k *kapi) createCRD(t testing.TB, crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	ctx := context.Background()
	out, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating CRD %s: %v", crd.Name, err)
	}
	return k.waitEstablished(t, out.Name)
}

// waitEstablished waits until the CRD name is Established and a served
// version of it answers a list.
func (k *kapi) waitEstablished(t testing.TB, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	ctx := context.Background()
	var crd *apiextensionsv1.CustomResourceDefinition
	err := waitUntil(10*time.Second, func() bool {
		c, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		crd = c
		established := false
		for _, cond := range c.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				established = true
			}
		}
		if !established {
			return false
		}
		for _, v := range c.Spec.Versions {
			if v.Served {
				_, err := k.dynamic.Resource(crGVR(c, v.Name)).List(ctx, metav1.ListOptions{})
				return err == nil
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("CRD %s is not Established and served: %v (status %+v)", name, err, crd)
	}
	return crd
}

// crGVR is the resource of crd's version.
func crGVR(crd *apiextensionsv1.CustomResourceDefinition, version string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: crd.Spec.Group, Version: version, Resource: crd.Spec.Names.Plural}
}

// crs is the dynamic client of crd's version in namespace ns ("" for a
// cluster-scoped CRD or all namespaces).
func (k *kapi) crs(crd *apiextensionsv1.CustomResourceDefinition, version, ns string) dynamic.ResourceInterface {
	r := k.dynamic.Resource(crGVR(crd, version))
	if ns == "" {
		return r
	}
	return r.Namespace(ns)
}

// props is a map of property schemas.
type props = map[string]apiextensionsv1.JSONSchemaProps

// widgetCRD is a namespaced CRD of example.com Widgets, v1, with status
// and scale subresources and printer columns.
func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	selector := ".status.selector"
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget",
				ListKind: "WidgetList", ShortNames: []string{"wd"}, Categories: []string{"all"}},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{
					Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
					Scale: &apiextensionsv1.CustomResourceSubresourceScale{SpecReplicasPath: ".spec.replicas",
						StatusReplicasPath: ".status.replicas", LabelSelectorPath: &selector},
				},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{
					{Name: "Color", Type: "string", JSONPath: ".spec.color"},
					{Name: "Replicas", Type: "integer", JSONPath: ".spec.replicas"},
					{Name: "Note", Type: "string", JSONPath: ".spec.note", Priority: 1},
					{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
				},
				SelectableFields: []apiextensionsv1.SelectableField{{JSONPath: ".spec.color"}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: props{
						"spec": {Type: "object", Properties: props{
							"color":    {Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"red"`)}, {Raw: []byte(`"blue"`)}, {Raw: []byte(`"green"`)}}, Default: &apiextensionsv1.JSON{Raw: []byte(`"red"`)}},
							"replicas": {Type: "integer", Minimum: ptrFloat(0)},
							"note":     {Type: "string"},
						}},
						"status": {Type: "object", Properties: props{
							"replicas": {Type: "integer"},
							"selector": {Type: "string"},
						}},
					},
				}},
			}},
		},
	}
}

func ptrFloat(f float64) *float64 { return &f }

// widgetGVR is example.com/v1 widgets.
var widgetGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

// clientv3WithPrefix reads every key below a prefix.
func clientv3WithPrefix() []clientv3.OpOption { return []clientv3.OpOption{clientv3.WithPrefix()} }

// dynamicFor is a dynamic client with cfg.
func (k *kapi) dynamicFor(cfg *rest.Config) dynamic.Interface { return dynamic.NewForConfigOrDie(cfg) }
