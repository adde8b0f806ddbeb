// Package endpoints serves the verbs of a resource (one file per verb)
// over HTTP: content negotiation (JSON, YAML, protobuf, Table,
// PartialObjectMetadata), request decoding, and errors as metav1.Status.
package endpoints

import (
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// Output is what a response is encoded as.
type Output struct {
	Info runtime.SerializerInfo
	// As is "" for the object itself, or "Table", "PartialObjectMetadata",
	// "PartialObjectMetadataList" (meta.k8s.io/v1), as the client asked.
	As string
	// Group and Version of As.
	Group, Version string
}

// AcceptClause is one media range of an Accept header.
type AcceptClause struct {
	Type, Sub string
	Params    map[string]string
	Q         float64
}

// ParseAccept splits an Accept header into its clauses, best first (stable
// for equal q).
func ParseAccept(header string) []AcceptClause {
	var out []AcceptClause
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fields := strings.Split(part, ";")
		c := AcceptClause{Q: 1, Params: map[string]string{}}
		ts := strings.SplitN(strings.TrimSpace(fields[0]), "/", 2)
		if len(ts) != 2 {
			continue
		}
		c.Type, c.Sub = strings.ToLower(ts[0]), strings.ToLower(ts[1])
		for _, p := range fields[1:] {
			kv := strings.SplitN(strings.TrimSpace(p), "=", 2)
			if len(kv) != 2 {
				continue
			}
			k, v := strings.ToLower(strings.TrimSpace(kv[0])), strings.Trim(strings.TrimSpace(kv[1]), `"`)
			if k == "q" {
				if q, err := strconv.ParseFloat(v, 64); err == nil {
					c.Q = q
				}
				continue
			}
			c.Params[k] = v
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Q > out[j].Q })
	return out
}

// SerializerFor finds the serializer for type/subtype among every media
// type kapi speaks, with JSON for wildcards.
func SerializerFor(typ, sub string) (runtime.SerializerInfo, bool) {
	return serializerIn(registry.Codecs.SupportedMediaTypes(), typ, sub)
}

// serializerIn finds the serializer for type/subtype in infos, with JSON
// for wildcards.
func serializerIn(infos []runtime.SerializerInfo, typ, sub string) (runtime.SerializerInfo, bool) {
	if typ == "*" || (typ == "application" && sub == "*") {
		typ, sub = "application", "json"
	}
	for _, info := range infos {
		if info.MediaTypeType == typ && info.MediaTypeSubType == sub {
			return info, true
		}
	}
	return runtime.SerializerInfo{}, false
}

// asKinds are the meta.k8s.io kinds a client may ask a resource to be
// returned as.
var asKinds = map[string]bool{"Table": true, "PartialObjectMetadata": true, "PartialObjectMetadataList": true}

// NegotiateOutput picks the response encoding from the Accept header;
// an empty header means JSON. objects are the media types the object
// itself is answered in (nil: all): a custom resource is not answered as
// protobuf, but its Table or metadata are, as kube-apiserver does. table
// says whether the answer can be a Table: a clause asking for one is
// passed over when it cannot. The error is 406 Not Acceptable.
func NegotiateOutput(r *http.Request, objects []runtime.SerializerInfo, table bool) (Output, error) {
	header := r.Header.Get("Accept")
	if header == "" {
		header = "application/json"
	}
	if objects == nil {
		objects = registry.Codecs.SupportedMediaTypes()
	}
	for _, c := range ParseAccept(header) {
		if c.Q == 0 {
			continue
		}
		infos := objects
		if c.Params["as"] != "" {
			infos = registry.Codecs.SupportedMediaTypes()
		}
		info, ok := serializerIn(infos, c.Type, c.Sub)
		if !ok {
			continue
		}
		out := Output{Info: info}
		if as := c.Params["as"]; as != "" {
			g, v := c.Params["g"], c.Params["v"]
			if !asKinds[as] || g != "meta.k8s.io" || (v != "v1" && v != "v1beta1") || (as == "Table" && !table) {
				continue
			}
			out.As, out.Group, out.Version = as, g, v
		} else if c.Params["g"] != "" || c.Params["v"] != "" {
			continue
		}
		return out, nil
	}
	return Output{}, NotAcceptable()
}

// NotAcceptable is the 406 answer to an Accept header kapi cannot satisfy.
func NotAcceptable() error {
	return statusError(http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable,
		"only the following media types are accepted: "+mediaTypes(registry.Codecs.SupportedMediaTypes()))
}

// mediaTypes lists the media types of infos, as the 406 and 415 answers
// name them.
func mediaTypes(infos []runtime.SerializerInfo) string {
	var types []string
	for _, info := range infos {
		types = append(types, info.MediaType)
	}
	return strings.Join(types, ", ")
}

// statusError is a Status error with any code and reason.
func statusError(code int32, reason metav1.StatusReason, msg string) *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg,
	}}
}

// inputSerializer finds the serializer of infos for a request body's
// Content-Type; the error is 415 Unsupported Media Type.
func inputSerializer(r *http.Request, infos []runtime.SerializerInfo) (runtime.SerializerInfo, error) {
	if infos == nil {
		infos = registry.Codecs.SupportedMediaTypes()
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		parts := strings.SplitN(mt, "/", 2)
		if len(parts) == 2 && parts[1] != "*" && parts[0] != "*" {
			if info, ok := serializerIn(infos, parts[0], parts[1]); ok {
				return info, nil
			}
		}
	}
	return runtime.SerializerInfo{}, statusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
		"the body of the request was in an unknown format - accepted media types include: "+mediaTypes(infos))
}
