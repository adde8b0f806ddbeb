package endpoints

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"

	"kapi/internal/features"
)

// gzipThreshold is the response size from which a client that accepts
// gzip gets it, as kube-apiserver (128 KiB).
const gzipThreshold = 128 * 1024

// WriteObject encodes obj as the negotiated output with HTTP status code.
func WriteObject(w http.ResponseWriter, r *http.Request, code int, out Output, obj runtime.Object) {
	WriteObjectAs(w, r, code, out, obj, out.Info.MediaType)
}

// WriteObjectAs is WriteObject with the Content-Type given. The answer is
// encoded straight into the response (a list item by item, with the
// streaming encoders of the CodecFactory): only its first 128 KiB are
// held, to decide on gzip, so a large list is never built whole in memory.
func WriteObjectAs(w http.ResponseWriter, r *http.Request, code int, out Output, obj runtime.Object, contentType string) {
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
	d := &deferredWriter{w: w, r: r, code: code, contentType: contentType}
	finish(w, r, d, enc.Encode(obj, d))
}

// finish ends an answer written into d, given the error of writing it.
func finish(w http.ResponseWriter, r *http.Request, d *deferredWriter, err error) {
	if err != nil {
		if !d.started() {
			d.release()
			writeStatus(w, r, apierrors.NewInternalError(fmt.Errorf("encoding response: %w", err)))
			return
		}
		// Half an answer is out: end the stream rather than pass it as
		// whole.
		klog.FromContext(r.Context()).Error(err, "encoding a response failed midway", "path", r.URL.Path)
		panic(http.ErrAbortHandler)
	}
	if err := d.Close(); err != nil {
		klog.FromContext(r.Context()).V(2).Info("writing a response failed", "path", r.URL.Path, "err", err)
	}
}

// deferredWriter holds the start of an answer until it knows whether the
// answer is large: past gzipThreshold it is sent as it comes, gzipped
// (level 1, as kube-apiserver: most of the size for a fraction of the CPU)
// when the client takes gzip; below, it is sent whole when done.
type deferredWriter struct {
	w           http.ResponseWriter
	r           *http.Request
	code        int
	contentType string
	buf         []byte
	// held is buf's array once the answer outgrew smallAnswer: one of
	// heldBuffers, of gzipThreshold bytes, given back once buf is written.
	held *[]byte
	out  io.Writer // nil until started
	gz   io.WriteCloser
	// bw gathers a large answer into big writes: each write to an HTTP/2
	// response is a hand-over to the connection's goroutine and a frame,
	// so 64 KiB at a time rather than an item or a 4 KiB buffer at a time.
	bw *bufio.Writer
}

func (d *deferredWriter) started() bool { return d.out != nil }

func (d *deferredWriter) Write(p []byte) (int, error) {
	if d.out != nil {
		return d.out.Write(p)
	}
	if n := len(d.buf) + len(p); n < gzipThreshold {
		if n > cap(d.buf) && n > smallAnswer && d.held == nil {
			// On to gzipThreshold in one buffer, kept for the next
			// answer: a large answer, written an item at a time,
			// grew its buffer by a quarter at a time, about five
			// times the threshold in copies, each answer (garbage
			// that made the collector mark a large heap again and
			// again while lists were served).
			d.held = heldBuffers.Get().(*[]byte)
			d.buf = append((*d.held)[:0], d.buf...)
		}
		d.buf = append(d.buf, p...)
		return len(p), nil
	}
	d.start(true)
	_, err := d.out.Write(d.buf)
	d.release()
	if err != nil {
		return 0, err
	}
	return d.out.Write(p)
}

// smallAnswer is how far an answer grows its own buffer; past it, it
// takes one of heldBuffers.
const smallAnswer = 8 << 10

var heldBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, gzipThreshold)
	return &b
}}

// release gives buf's array back when it is one of heldBuffers.
func (d *deferredWriter) release() {
	if d.held != nil {
		heldBuffers.Put(d.held)
		d.held = nil
	}
	d.buf = nil
}

func (d *deferredWriter) start(large bool) {
	h := d.w.Header()
	h.Set("Content-Type", d.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if !large {
		d.w.WriteHeader(d.code)
		d.out = d.w
		return
	}
	d.bw = bufWriters.Get().(*bufio.Writer)
	d.bw.Reset(d.w)
	d.out = d.bw
	if acceptsGzip(d.r) {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		d.gz = newGzip(d.bw)
		d.out = d.gz
	}
	d.w.WriteHeader(d.code)
}

// Close sends what is held, and ends the gzip stream.
func (d *deferredWriter) Close() error {
	if d.out == nil {
		d.start(false)
		_, err := d.out.Write(d.buf)
		d.release()
		return err
	}
	var err error
	if d.gz != nil {
		err = d.gz.Close()
		d.gz = nil
	}
	if d.bw != nil {
		if ferr := d.bw.Flush(); err == nil {
			err = ferr
		}
		d.bw.Reset(nil)
		bufWriters.Put(d.bw)
		d.bw = nil
	}
	return err
}

var bufWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

func acceptsGzip(r *http.Request) bool {
	// APIResponseCompression off: no answer is gzipped (kube's deferred
	// response writer asks the gate).
	return features.Enabled(features.FromContext(r.Context()), features.APIResponseCompression) && takesGzip(r)
}

// takesGzip reports whether the client's Accept-Encoding names gzip.
func takesGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if strings.TrimSpace(strings.SplitN(part, ";", 2)[0]) == "gzip" {
			return true
		}
	}
	return false
}

// WriteError writes err as a metav1.Status. An error that is not a
// Status error is logged and answered as kube-apiserver answers one
// (ErrorToAPIStatus): 500 with no reason and the error's own message, so
// that kubectl prints it bare ("Error from server: Get ...: dial tcp
// ..."). The paths that mean an internal error say so themselves
// (apierrors.NewInternalError), as kube's do.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	writeStatus(w, r, err)
}

func writeStatus(w http.ResponseWriter, r *http.Request, err error) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		klog.FromContext(r.Context()).Error(err, "an error that is not a Status", "method", r.Method, "path", r.URL.Path)
		se = &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
			Reason: metav1.StatusReasonUnknown, Message: err.Error()}}
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
	out, nerr := NegotiateOutput(r, nil, false)
	if nerr != nil || out.As != "" {
		out, _ = NegotiateOutput(&http.Request{Header: http.Header{}, URL: r.URL}, nil, false)
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
