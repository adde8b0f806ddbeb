package endpoints

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
)

// gzipThreshold is the response size from which a client that accepts
// gzip gets it, as kube-apiserver (128 KiB).
const gzipThreshold = 128 * 1024

// WriteObject encodes obj as the negotiated output with HTTP status code.
func WriteObject(w http.ResponseWriter, r *http.Request, code int, out Output, obj runtime.Object) {
	WriteObjectAs(w, r, code, out, obj, out.Info.MediaType)
}

// WriteObjectAs is WriteObject with the Content-Type given.
func WriteObjectAs(w http.ResponseWriter, r *http.Request, code int, out Output, obj runtime.Object, contentType string) {
	var buf bytes.Buffer
	if n, ok := obj.(runtime.NestedObjectEncoder); ok {
		// Table rows carry objects that must be encoded the same way.
		if err := n.EncodeNestedObjects(out.Info.Serializer); err != nil {
			writeStatus(w, r, apierrors.NewInternalError(fmt.Errorf("encoding response: %w", err)))
			return
		}
	}
	enc := out.Info.Serializer
	if out.Info.PrettySerializer != nil && isTrue(r.URL.Query().Get("pretty")) {
		enc = out.Info.PrettySerializer
	}
	if err := enc.Encode(obj, &buf); err != nil {
		writeStatus(w, r, apierrors.NewInternalError(fmt.Errorf("encoding response: %w", err)))
		return
	}
	writeBytes(w, r, code, contentType, buf.Bytes())
}

// writeBytes writes a body, gzipped when it is large and the client takes
// gzip.
func writeBytes(w http.ResponseWriter, r *http.Request, code int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if len(body) >= gzipThreshold && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		w.WriteHeader(code)
		// Level 1, as kube-apiserver: most of the size for a fraction of
		// the CPU of the default level.
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		gz.Write(body)
		gz.Close()
		return
	}
	w.WriteHeader(code)
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if strings.TrimSpace(strings.SplitN(part, ";", 2)[0]) == "gzip" {
			return true
		}
	}
	return false
}

// WriteError writes err as a metav1.Status. Errors that are not Status
// errors are internal errors (500), logged.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	writeStatus(w, r, err)
}

func writeStatus(w http.ResponseWriter, r *http.Request, err error) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		klog.ErrorS(err, "internal error", "method", r.Method, "path", r.URL.Path)
		se = apierrors.NewInternalError(err)
	}
	status := se.Status()
	status.Kind, status.APIVersion = "Status", "v1"
	if status.Status == "" {
		status.Status = metav1.StatusFailure
	}
	code := int(status.Code)
	if code == 0 {
		code = http.StatusInternalServerError
		status.Code = int32(code)
	}
	out, nerr := NegotiateOutput(r)
	if nerr != nil || out.As != "" {
		out, _ = NegotiateOutput(&http.Request{Header: http.Header{}, URL: r.URL})
	}
	if status.Reason == metav1.StatusReasonTooManyRequests || (status.Details != nil && status.Details.RetryAfterSeconds > 0) {
		if status.Details != nil && status.Details.RetryAfterSeconds > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(status.Details.RetryAfterSeconds))
		}
	}
	WriteObject(w, r, code, out, &status)
}

// WriteSuccess writes a Status of success, as a delete without the object
// returns.
func WriteSuccess(w http.ResponseWriter, r *http.Request, out Output, details *metav1.StatusDetails) {
	WriteObject(w, r, http.StatusOK, out, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess, Code: http.StatusOK, Details: details,
	})
}

func isTrue(s string) bool { return s == "true" || s == "1" }

// respond writes a verb's answer for one object: as the client asked it
// (the object, its Table row, its metadata), with code.
func respond(w http.ResponseWriter, r *http.Request, s *scope, code int, obj runtime.Object) {
	obj, err := transform(r, s, obj, false)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteObject(w, r, code, s.out, obj)
}
