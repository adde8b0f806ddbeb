package registry

import (
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1beta1 "k8s.io/apimachinery/pkg/apis/meta/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// Scheme knows every Go type kapi serves: the k8s.io/api types (as client-go
// registers them), CustomResourceDefinitions, APIServices and the meta.k8s.io
// types (Status, Table, PartialObjectMetadata, WatchEvent, ...).
var Scheme = runtime.NewScheme()

// Codecs builds the JSON, YAML and protobuf serializers for Scheme (each
// with a strict variant for fieldValidation), pretty JSON for ?pretty=true,
// and lists encoded item by item as kube-apiserver does.
var Codecs = serializer.NewCodecFactory(Scheme, serializer.EnablePretty,
	serializer.WithStreamingCollectionEncodingToJSON(),
	serializer.WithStreamingCollectionEncodingToProtobuf())

// ParameterCodec decodes query parameters into option structs (ListOptions, ...).
var ParameterCodec = runtime.NewParameterCodec(Scheme)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(Scheme))
	utilruntime.Must(apiregistrationv1.AddToScheme(Scheme))
	utilruntime.Must(apidiscoveryv2.AddToScheme(Scheme))
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	metav1.AddToGroupVersion(Scheme, metav1.SchemeGroupVersion)
	utilruntime.Must(metav1.AddMetaToScheme(Scheme))
	utilruntime.Must(metav1beta1.AddMetaToScheme(Scheme))
}
