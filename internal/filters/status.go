// Package filters is the front door: each filter is a
// func(http.Handler) http.Handler in a file of its own, and chain.go lists
// their order once.
package filters

import (
	"bytes"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// statusCodecs encode the Status of a refused request in what the client
// accepts (kubectl asks for protobuf first): a scheme of its own that
// knows only the meta types, since the filters stand before any resource.
var statusCodecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(s)
}()

// writeStatus answers with a metav1.Status, for the filters that refuse a
// request.
func writeStatus(w http.ResponseWriter, r *http.Request, code int, reason metav1.StatusReason, msg string) {
	writeStatusDetails(w, r, code, reason, msg, 0)
}

// writeStatusDetails is writeStatus with a retry-after in the details.
func writeStatusDetails(w http.ResponseWriter, r *http.Request, code int, reason metav1.StatusReason, msg string, retryAfter int32) {
	st := metav1.Status{Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: msg}
	if retryAfter > 0 {
		st.Details = &metav1.StatusDetails{RetryAfterSeconds: retryAfter}
	}
	writeError(w, r, &apierrors.StatusError{ErrStatus: st})
}

// writeError answers with the Status of a Status error.
func writeError(w http.ResponseWriter, r *http.Request, err *apierrors.StatusError) {
	writeStatusObject(w, r, err.ErrStatus)
}

// writeStatusObject encodes st as the request's Accept header asks (JSON
// when it asks for nothing the Status can be).
func writeStatusObject(w http.ResponseWriter, r *http.Request, st metav1.Status) {
	st.Kind, st.APIVersion = "Status", "v1"
	info := statusSerializer(r.Header.Get("Accept"))
	var buf bytes.Buffer
	if err := info.Serializer.Encode(&st, &buf); err != nil {
		info, _ = runtime.SerializerInfoForMediaType(statusCodecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
		buf.Reset()
		info.Serializer.Encode(&st, &buf)
	}
	w.Header().Set("Content-Type", info.MediaType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(st.Code))
	w.Write(buf.Bytes())
}

// statusSerializer picks the first media type of accept that the Status
// can be encoded as: a clause asking for another kind (as=Table,
// as=APIGroupDiscoveryList, ...) is not one.
func statusSerializer(accept string) runtime.SerializerInfo {
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		asOther := false
		for _, p := range fields[1:] {
			k, _, _ := strings.Cut(strings.TrimSpace(p), "=")
			if k == "as" || k == "g" || k == "v" {
				asOther = true
			}
		}
		if asOther {
			continue
		}
		mt := strings.TrimSpace(fields[0])
		if info, ok := runtime.SerializerInfoForMediaType(statusCodecs.SupportedMediaTypes(), mt); ok {
			return info
		}
	}
	info, _ := runtime.SerializerInfoForMediaType(statusCodecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	return info
}
