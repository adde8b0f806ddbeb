package router

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/munnerz/goautoneg"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	flagzv1alpha1 "k8s.io/apiserver/pkg/server/flagz/api/v1alpha1"
	flagzv1beta1 "k8s.io/apiserver/pkg/server/flagz/api/v1beta1"
	statuszv1alpha1 "k8s.io/apiserver/pkg/server/statusz/api/v1alpha1"
	statuszv1beta1 "k8s.io/apiserver/pkg/server/statusz/api/v1beta1"
	compbasemetrics "k8s.io/component-base/metrics"

	"kapi/internal/endpoints"
	"kapi/internal/features"
	"kapi/internal/request"
)

// The z-pages are kube-apiserver's debugging pages /statusz and /flagz
// (KEP-4827 and KEP-4828, features ComponentStatusz and ComponentFlagz,
// beta and on by default since 1.36; k8s.io/apiserver/pkg/server/statusz
// and .../flagz). Each answers plain text for people by default, and a
// config.k8s.io object (Statusz, Flagz; v1beta1, or the deprecated
// v1alpha1) to a client that names it in its Accept header:
//
//	Accept: application/json;as=Statusz;v=v1beta1;g=config.k8s.io
//
// Any other Accept header that text/plain does not satisfy is a 406. They
// are non-resource URLs: the bootstrap ClusterRole system:monitoring grants
// "get" on both.

// zpagesComponent is the name kube's GenericAPIServer.PrepareRun gives
// both pages ("apiserver", not "kube-apiserver"): the text pages start
// with "apiserver statusz" and the objects are named "apiserver".
const zpagesComponent = "apiserver"

// zpagesWarning is the text pages' header: the component, the page, and
// kube's warning (statusz' and flagz' headerFmt).
const zpagesWarning = "\n%s %s\nWarning: This endpoint is not meant to be machine parseable, has no formatting compatibility guarantees and is for debugging purposes only.\n"

// zpagesDelimiters are what separates a name from its value in the text
// pages: one picked at random (per answer for /statusz, once for /flagz),
// as kube does, so that nobody parses them.
var zpagesDelimiters = []string{":", ": ", "=", " "}

func zpagesDelimiter() string { return zpagesDelimiters[rand.IntN(len(zpagesDelimiters))] }

// processStart is the process's start, whole seconds, as kube's statusz
// reads it (component-base's GetProcessStart, from /proc on Linux); where
// that fails, when the package was initialised.
var processStart = func() time.Time {
	if start, err := compbasemetrics.GetProcessStart(); err == nil && start > 0 {
		return time.Unix(int64(start), 0)
	}
	return time.Unix(time.Now().Unix(), 0)
}()

// zpagesScheme knows the z-pages' objects (and, through
// metav1.AddToGroupVersion, the Status of their errors).
var zpagesScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{statuszv1alpha1.AddToScheme, statuszv1beta1.AddToScheme,
		flagzv1alpha1.AddToScheme, flagzv1beta1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

var zpagesCodecs = serializer.NewCodecFactory(zpagesScheme)

// mediaText is the text pages' media type.
const mediaText = "text/plain"

// zpagesFormats are the media types of the z-pages, in kube's order (its
// CodecFactory's: JSON, YAML, then the text serializer it adds). kube
// leaves protobuf out; CBOR comes only with the alpha feature
// CBORServingAndStorage, off by default, that kapi does not serve. The
// text entry has no serializer: the pages write their text themselves.
var zpagesFormats = func() []runtime.SerializerInfo {
	var out []runtime.SerializerInfo
	for _, info := range zpagesCodecs.SupportedMediaTypes() {
		if info.MediaType == runtime.ContentTypeJSON || info.MediaType == runtime.ContentTypeYAML {
			out = append(out, info)
		}
	}
	return append(out, runtime.SerializerInfo{MediaType: mediaText, MediaTypeType: "text", MediaTypeSubType: "plain", EncodesAsText: true})
}()

// zpagesDeprecated are the deprecated versions of the objects: asking for
// one adds kube's Warning header.
var zpagesDeprecated = map[string]bool{"v1alpha1": true}

// zpage is one z-page: its name ("statusz"), the kinds a client may ask
// for, its text and its object of a kind.
type zpage struct {
	name   string
	kinds  map[schema.GroupVersionKind]bool
	text   func() []byte
	object func(schema.GroupVersionKind) runtime.Object
}

// ServeHTTP answers any method, as kube's (installed on its
// NonGoRestfulMux, with no verb of its own; authorization sees the verb).
func (z *zpage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Counted in the request metrics as kube's: resource "statusz", and
	// the group and version of the object asked for, if any.
	route := request.Route{Resource: z.name, Component: "apiserver"}
	request.Instrument(r.Context(), route)
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		writeZpageText(w, z.text())
		return
	}
	ans, ok := negotiateZpage(r, accept, z.kinds)
	if !ok {
		writeZpageError(w, r, zpagesNotAcceptable())
		return
	}
	if ans.convert == nil { // text/plain
		writeZpageText(w, z.text())
		return
	}
	route.Group, route.Version = ans.convert.Group, ans.convert.Version
	request.Instrument(r.Context(), route)
	if zpagesDeprecated[ans.convert.Version] {
		request.Deprecated(r.Context(), "")
		w.Header().Set("Warning", fmt.Sprintf(`299 - "This version of the %s endpoint is deprecated. Please use a newer version."`, z.name))
	}
	writeZpageObject(w, r, http.StatusOK, ans, z.object(*ans.convert), withGVK(ans.info.MediaType, *ans.convert), ans.convert.GroupVersion())
}

// zpageAnswer is what an Accept header asked for: a format (its pretty
// serializer when asked for) and the kind of object (nil for text, and
// for an error's Status).
type zpageAnswer struct {
	info    runtime.SerializerInfo
	convert *schema.GroupVersionKind
}

// negotiateZpage is kube's NegotiateMediaTypeOptions over zpagesFormats:
// the clauses of accept in goautoneg's order (by q, then the more
// specific first), each tried against the formats in order; the first
// pair whose parameters the page allows wins. A clause's "as", "g" and
// "v" name the kind; kinds nil are kube's DefaultEndpointRestrictions,
// which an error's Status is negotiated with (no kind; "stream=watch"
// where the format streams). A bare "application/json" names no kind and
// is refused by a page; "*/*" is text/plain.
func negotiateZpage(r *http.Request, accept string, kinds map[schema.GroupVersionKind]bool) (zpageAnswer, bool) {
	if accept == "" {
		return zpageAnswer{info: zpagesFormats[0]}, true
	}
	for _, c := range goautoneg.ParseAccept(accept) {
		for _, info := range zpagesFormats {
			if !(c.Type == "*" && c.SubType == "*") && (c.Type != info.MediaTypeType || (c.SubType != "*" && c.SubType != info.MediaTypeSubType)) {
				continue
			}
			if ans, ok := zpageOptions(r, c.Params, info, kinds); ok {
				return ans, true
			}
		}
	}
	return zpageAnswer{}, false
}

// zpageOptions reads a clause's parameters for one format, as kube's
// acceptMediaTypeOptions: false when the page does not allow them.
func zpageOptions(r *http.Request, params map[string]string, info runtime.SerializerInfo, kinds map[schema.GroupVersionKind]bool) (zpageAnswer, bool) {
	var gvk *schema.GroupVersionKind
	pretty := isPrettyPrint(r)
	for k, v := range params {
		switch k {
		case "as":
			gvk = kindOf(gvk)
			gvk.Kind = v
		case "g":
			gvk = kindOf(gvk)
			gvk.Group = v
		case "v":
			gvk = kindOf(gvk)
			gvk.Version = v
		case "stream":
			if v != "" && (info.StreamSerializer == nil || kinds != nil || v != "watch") {
				return zpageAnswer{}, false
			}
		case "sv": // neither the pages nor their errors take a server version
			if v != "" {
				return zpageAnswer{}, false
			}
		case "pretty":
			pretty = pretty || v == "1"
		}
	}
	allowed := gvk == nil
	if kinds != nil && info.MediaType != mediaText {
		allowed = gvk != nil && kinds[*gvk]
	}
	if !allowed {
		return zpageAnswer{}, false
	}
	if pretty && info.PrettySerializer != nil {
		info.Serializer = info.PrettySerializer
	}
	return zpageAnswer{info: info, convert: gvk}, true
}

// kindOf is gvk, or a new one when a clause names its first part.
func kindOf(gvk *schema.GroupVersionKind) *schema.GroupVersionKind {
	if gvk == nil {
		return &schema.GroupVersionKind{}
	}
	return gvk
}

// isPrettyPrint is kube's: ?pretty=<true>, or a client that is a person's
// (curl, Wget, a browser).
func isPrettyPrint(r *http.Request) bool {
	if strings.Contains(r.URL.RawQuery, "pretty") {
		if pp := r.URL.Query().Get("pretty"); pp != "" {
			b, _ := strconv.ParseBool(pp)
			return b
		}
	}
	ua := r.UserAgent()
	return strings.HasPrefix(ua, "curl") || strings.HasPrefix(ua, "Wget") || strings.HasPrefix(ua, "Mozilla/5.0")
}

// withGVK is the Content-Type of an object: its media type with the kind
// (kube's generateMediaTypeWithGVK),
// "application/json;g=config.k8s.io;v=v1beta1;as=Statusz".
func withGVK(mediaType string, gvk schema.GroupVersionKind) string {
	return mediaType + ";g=" + gvk.Group + ";v=" + gvk.Version + ";as=" + gvk.Kind
}

func writeZpageText(w http.ResponseWriter, text []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(text)
}

// writeZpageObject encodes obj as ans says, with code and contentType, in
// version gv, as kube's SerializeObject (which, unlike kapi's resource
// answers, sets no X-Content-Type-Options).
func writeZpageObject(w http.ResponseWriter, r *http.Request, code int, ans zpageAnswer, obj runtime.Object, contentType string, gv schema.GroupVersion) {
	var buf bytes.Buffer
	if err := zpagesCodecs.EncoderForVersion(ans.info.Serializer, gv).Encode(obj, &buf); err != nil {
		endpoints.WriteError(w, r, apierrors.NewInternalError(fmt.Errorf("encoding response: %w", err)))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// zpagesNotAcceptable is the Status of an Accept header no format of the
// page satisfies; it names the formats in kube's words and order.
func zpagesNotAcceptable() *metav1.Status {
	var types []string
	for _, info := range zpagesFormats {
		types = append(types, info.MediaType)
	}
	return &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status: metav1.StatusFailure, Code: http.StatusNotAcceptable, Reason: metav1.StatusReasonNotAcceptable,
		Message: "only the following media types are accepted: " + strings.Join(types, ", ")}
}

// writeZpageError writes a page's 406 as kube's ErrorNegotiated: the
// Status in the format the Accept header takes for a plain object (JSON,
// YAML), else as indented JSON (kube's WriteRawJSON).
func writeZpageError(w http.ResponseWriter, r *http.Request, st *metav1.Status) {
	ans, ok := negotiateZpage(r, r.Header.Get("Accept"), nil)
	if !ok || ans.info.Serializer == nil {
		writeJSON(w, int(st.Code), st)
		return
	}
	writeZpageObject(w, r, int(st.Code), ans, st, ans.info.MediaType, schema.GroupVersion{})
}

// zpagesNonDebugging are the paths statusz does not list, kube's
// nonDebuggingEndpoints; zpagesUnlisted are those kube serves unlisted
// (profiling, /debug/flags), which kube's statusz never sees.
var (
	zpagesNonDebugging = map[string]bool{"/apis": true, "/api": true, "/openid": true, "/openapi": true, "/.well-known": true}
	zpagesUnlisted     = map[string]bool{"/debug": true}
)

// zpagesPaths are the paths statusz lists: the first segment of each path
// the MUX serves, sorted, without the non-debugging ones (kube's
// aggregatePaths), "/flagz /healthz /livez /metrics /readyz /statusz
// /version" as kube-apiserver's.
func zpagesPaths(served []string) []string {
	var out []string
	for _, p := range served {
		parts := strings.Split(p, "/")
		if len(parts) < 2 || parts[1] == "" {
			continue
		}
		if folder := "/" + parts[1]; !zpagesNonDebugging[folder] && !zpagesUnlisted[folder] {
			out = append(out, folder)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// zpages are the z-pages' handlers by path (zpageNames).
func zpages(cfg Config) map[string]http.Handler {
	pages := map[string]http.Handler{}
	for _, p := range zpageNames(cfg) {
		switch p {
		case "/statusz":
			pages[p] = newStatusz(zpagesPaths(ownPaths(cfg)))
		case "/flagz":
			pages[p] = newFlagz(cfg.Flagz)
		}
	}
	return pages
}

// zpageNames are the paths of the z-pages served: /statusz with the
// ComponentStatusz gate (on by default), /flagz with ComponentFlagz when
// the server was given its command line (kube installs it only with a
// flag reader).
func zpageNames(cfg Config) []string {
	var out []string
	if features.Enabled(cfg.Features, features.ComponentStatusz) {
		out = append(out, "/statusz")
	}
	if cfg.Flagz != nil && features.Enabled(cfg.Features, features.ComponentFlagz) {
		out = append(out, "/flagz")
	}
	return out
}
