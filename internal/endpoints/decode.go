package endpoints

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
)

// MaxBodyBytes is the largest request body kapi reads, as kube-apiserver
// (3 MiB).
const MaxBodyBytes = 3 * 1024 * 1024

// readBody reads the whole body, refusing with 413 one that exceeds
// MaxBodyBytes without reading more than that. A body read is observed in
// apiserver_request_body_size_bytes, as kube-apiserver's.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		recordBodySize(r, 0)
		return nil, nil
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge()
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading request body: %v", err))
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge()
	}
	recordBodySize(r, len(b))
	return b, nil
}

func tooLarge() error {
	return apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", MaxBodyBytes))
}

// fieldValidation reads the fieldValidation parameter: Strict, Warn (the
// default) or Ignore.
func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return metav1.FieldValidationWarn, nil
	case metav1.FieldValidationStrict, metav1.FieldValidationWarn, metav1.FieldValidationIgnore:
		return v, nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %s", v))
}

// writeOptions decodes the options of a write (CreateOptions, ...) and
// its dryRun values.
func writeOptions(r *http.Request, opts runtime.Object, dryRunValues *[]string) (bool, error) {
	if err := decodeOptions(r, opts); err != nil {
		return false, err
	}
	return dryRun(*dryRunValues)
}

// readObject reads and decodes the request body as the served kind.
func readObject(w http.ResponseWriter, r *http.Request, s *scope) (runtime.Object, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return decodeObject(w, r, s, body)
}

// decodeObject decodes a request body as the served kind of the store.
// Unknown or duplicate fields fail the request (Strict) or become warnings
// (Warn). A body of another group, version or kind is 400 Bad Request.
func decodeObject(w http.ResponseWriter, r *http.Request, s *scope, body []byte) (runtime.Object, error) {
	info, err := inputSerializer(r, s.serializers)
	if err != nil {
		return nil, err
	}
	validation, err := fieldValidation(r)
	if err != nil {
		return nil, err
	}
	return decodeAs(w, info, validation, body, s.bodyKind(), s.newBody(), s.decoded())
}

// decoded is the row's Decoded step for a body of the row's kind (not
// for a Scale or a TokenRequest), or nil.
func (s *scope) decoded() func(runtime.Object) ([]string, error) {
	if s.subKind() {
		return nil
	}
	return s.store.R.Type.Decoded
}

// decodeAs decodes body into a new object of kind gvk, then finishes it
// with decoded (a custom resource's defaults and pruning) when not nil.
// Fields nobody knows and duplicate fields fail the request (Strict, 400)
// or become warnings (Warn), whether the decoder or decoded found them. A
// body of another group, version or kind is 400 Bad Request.
func decodeAs(w http.ResponseWriter, info runtime.SerializerInfo, validation string, body []byte, gvk schema.GroupVersionKind, into runtime.Object,
	decoded func(runtime.Object) ([]string, error)) (runtime.Object, error) {
	obj, got, strict, err := decodeStrict(info, validation, body, gvk, into, decoded)
	if err == nil && len(strict) > 0 {
		if validation == metav1.FieldValidationStrict {
			err = runtime.NewStrictDecodingError(strict)
		} else {
			addStrictDecodingWarnings(w, strict)
		}
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(decodeMessage(err, got, gvk, body))
	}
	if err := checkKind(got, gvk); err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

// decodeStrict decodes body into a new object of kind gvk and finishes it
// with decoded; strict are the unknown and duplicate fields found (none
// with fieldValidation Ignore), which the caller words.
func decodeStrict(info runtime.SerializerInfo, validation string, body []byte, gvk schema.GroupVersionKind, into runtime.Object,
	decoded func(runtime.Object) ([]string, error)) (obj runtime.Object, got *schema.GroupVersionKind, strict []error, err error) {
	dec := info.Serializer
	if validation != metav1.FieldValidationIgnore && info.StrictSerializer != nil {
		dec = info.StrictSerializer
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil, nil, apierrors.NewBadRequest("the request body is empty")
	}
	obj, got, err = dec.Decode(body, &gvk, into)
	if err != nil && runtime.IsStrictDecodingError(err) && obj != nil {
		strictErr, _ := runtime.AsStrictDecodingError(err)
		strict, err = strictErr.Errors(), nil
	}
	if err != nil {
		return nil, got, nil, err
	}
	if decoded != nil && got != nil && *got == gvk {
		unknown, err := decoded(obj)
		if err != nil {
			return nil, got, nil, err
		}
		for _, p := range unknown {
			strict = append(strict, fmt.Errorf("unknown field %q", p))
		}
	}
	if validation == metav1.FieldValidationIgnore {
		strict = nil
	}
	return obj, got, strict, nil
}

// checkKind refuses a body of another group, version or kind than gvk,
// and gives the object gvk.
func checkKind(got *schema.GroupVersionKind, gvk schema.GroupVersionKind) error {
	if got.GroupVersion() != gvk.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion(), gvk.GroupVersion()))
	}
	if got.Kind != gvk.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, gvk.Kind))
	}
	return nil
}

// decodeMessage words a body that cannot be decoded as kube-apiserver
// does, e.g. `ConfigMap in version "v1" cannot be handled as a ConfigMap:
// strict decoding error: unknown field "spec.foo"`.
func decodeMessage(err error, got *schema.GroupVersionKind, want schema.GroupVersionKind, body []byte) string {
	if got != nil && got.Kind != "" {
		return fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", got.Kind, got.Version, want.Kind, err)
	}
	summary := string(body)
	if len(summary) > 30 {
		summary = summary[:30] + "..."
	}
	return fmt.Sprintf("the object provided is unrecognized (must be of type %s): %v (%s)", want.Kind, err, summary)
}

// decodeOptions decodes query parameters into one of the meta.k8s.io/v1
// option structs (ListOptions, CreateOptions, ...); a bad value is 400.
func decodeOptions(r *http.Request, into runtime.Object) error {
	if err := registry.ParameterCodec.DecodeParameters(r.URL.Query(), metav1.SchemeGroupVersion, into); err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	return nil
}

// dryRun reads the dryRun parameter; only "All" is defined.
func dryRun(values []string) (bool, error) {
	for _, v := range values {
		if v != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dryRun value: %q, the only supported value is %q", v, metav1.DryRunAll))
		}
	}
	return len(values) > 0, nil
}
