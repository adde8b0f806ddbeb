package bench

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
)

// The bare server is the floor for any Go server of the Kubernetes API:
// the "bare" child serves ConfigMaps over TLS and HTTP/2 (Go's net/http,
// as kapi and kube-apiserver), and does only what any server must.
//   - Watches and updates (the fan-out's floor): it decodes each update,
//     encodes its event once per encoding (JSON and protobuf, framed for
//     the stream), and writes the frame to every watcher, flushing when
//     the watcher has nothing more waiting.
//   - Creates and gets (the floor of the single-object scenarios): a
//     create is decoded, given a resource version, encoded once per
//     encoding and kept in a map; a get writes the kept encoding the
//     client asks for (kapi's resourceVersion=0 gets write the encodings
//     its cache keeps, too).
// No storage, no filters, no authentication, no admission, no managed
// fields. kapi's CPU per request against this server's tells what kapi
// adds to what Go's HTTP/2 server and client-go's codecs cost.

// bareServer is the server.
type bareServer struct {
	rv       atomic.Int64
	mu       sync.Mutex
	watchers map[*bareWatcher]struct{}
	stopping chan struct{}

	objMu   sync.RWMutex
	objects map[string]*bareObject // by namespace/name
}

// bareObject is a created ConfigMap's encodings.
type bareObject struct {
	json, protobuf []byte
}

// bareWatcher is one watch: its encoding and its queue of frames.
type bareWatcher struct {
	protobuf bool
	frames   chan []byte
}

// bareEncoding is a serializer of client-go's scheme for a media type.
type bareEncoding struct {
	mediaType string
	object    runtime.Encoder
	stream    *runtime.StreamSerializerInfo
}

var bareJSON, bareProtobuf = bareEncodingFor(runtime.ContentTypeJSON), bareEncodingFor(runtime.ContentTypeProtobuf)

func bareEncodingFor(mediaType string) bareEncoding {
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		panic("no serializer for " + mediaType)
	}
	return bareEncoding{mediaType: mediaType, object: scheme.Codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion),
		stream: info.StreamSerializer}
}

// frame is one watch event of obj, framed for the stream.
func (e bareEncoding) frame(typ watch.EventType, obj runtime.Object) ([]byte, error) {
	var o, f bytes.Buffer
	if err := e.object.Encode(obj, &o); err != nil {
		return nil, err
	}
	ev := &metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: o.Bytes()}}
	if err := streaming.NewEncoder(e.stream.Framer.NewFrameWriter(&f), e.stream.Serializer).Encode(ev); err != nil {
		return nil, err
	}
	return f.Bytes(), nil
}

// runBare is the bare child, on 127.0.0.1:--port with httptest's
// certificate.
func runBare(cfg Config) error {
	s := &bareServer{watchers: map[*bareWatcher]struct{}{}, stopping: make(chan struct{}), objects: map[string]*bareObject{}}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return err
	}
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = l
	srv.EnableHTTP2 = true
	srv.StartTLS()
	waitForStdinEOF()
	close(s.stopping)
	srv.Close()
	return nil
}

func (s *bareServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Query().Get("watch") != "":
		s.watch(w, r)
	case r.Method == http.MethodGet:
		s.get(w, r)
	case r.Method == http.MethodPost:
		s.create(w, r)
	case r.Method == http.MethodPut:
		s.put(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *bareServer) watch(w http.ResponseWriter, r *http.Request) {
	bw := &bareWatcher{protobuf: strings.Contains(r.Header.Get("Accept"), "protobuf"), frames: make(chan []byte, 1000)}
	s.mu.Lock()
	s.watchers[bw] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers, bw)
		s.mu.Unlock()
	}()
	ct := runtime.ContentTypeJSON
	if bw.protobuf {
		ct = runtime.ContentTypeProtobuf + ";stream=watch"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stopping:
			return
		case f := <-bw.frames:
			if _, err := w.Write(f); err != nil {
				return
			}
			if len(bw.frames) == 0 {
				flusher.Flush()
			}
		}
	}
}

// put takes a ConfigMap, gives it the next resource version, answers it,
// and sends its event to every watcher.
func (s *bareServer) put(w http.ResponseWriter, r *http.Request) {
	cm, ok := readConfigMap(w, r)
	if !ok {
		return
	}
	cm.ResourceVersion = strconv.FormatInt(s.rv.Add(1), 10)
	js, err := bareJSON.frame(watch.Modified, cm)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	pb, err := bareProtobuf.frame(watch.Modified, cm)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	for bw := range s.watchers {
		f := js
		if bw.protobuf {
			f = pb
		}
		select {
		case bw.frames <- f:
		default: // the watcher's count shows it as missed
		}
	}
	s.mu.Unlock()
	enc := answerEncoding(r)
	w.Header().Set("Content-Type", enc.mediaType)
	enc.object.Encode(cm, w)
}

// create takes a new ConfigMap at .../namespaces/<ns>/configmaps, gives it
// a resource version, a UID and its creation time, keeps its encodings
// and answers the one the client asks for; 409 if it exists.
func (s *bareServer) create(w http.ResponseWriter, r *http.Request) {
	ns, _, ok := configMapPath(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	cm, ok := readConfigMap(w, r)
	if !ok {
		return
	}
	cm.Namespace = ns
	cm.ResourceVersion = strconv.FormatInt(s.rv.Add(1), 10)
	cm.UID = types.UID(uuid.NewString())
	cm.CreationTimestamp = metav1.Now()
	var o bareObject
	for _, e := range []struct {
		enc  bareEncoding
		into *[]byte
	}{{bareJSON, &o.json}, {bareProtobuf, &o.protobuf}} {
		var buf bytes.Buffer
		if err := e.enc.object.Encode(cm, &buf); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		*e.into = buf.Bytes()
	}
	key := ns + "/" + cm.Name
	s.objMu.Lock()
	_, exists := s.objects[key]
	if !exists {
		s.objects[key] = &o
	}
	s.objMu.Unlock()
	if exists {
		http.Error(w, key+" exists", http.StatusConflict)
		return
	}
	s.write(w, r, http.StatusCreated, &o)
}

// get answers .../namespaces/<ns>/configmaps/<name> with its kept
// encoding.
func (s *bareServer) get(w http.ResponseWriter, r *http.Request) {
	ns, name, ok := configMapPath(r.URL.Path)
	if !ok || name == "" {
		http.NotFound(w, r)
		return
	}
	s.objMu.RLock()
	o := s.objects[ns+"/"+name]
	s.objMu.RUnlock()
	if o == nil {
		http.NotFound(w, r)
		return
	}
	s.write(w, r, http.StatusOK, o)
}

func (s *bareServer) write(w http.ResponseWriter, r *http.Request, code int, o *bareObject) {
	enc, data := answerEncoding(r), o.json
	if enc.mediaType == bareProtobuf.mediaType {
		data = o.protobuf
	}
	w.Header().Set("Content-Type", enc.mediaType)
	w.WriteHeader(code)
	w.Write(data)
}

// answerEncoding is the encoding the client accepts: protobuf if it
// names it, else JSON.
func answerEncoding(r *http.Request) bareEncoding {
	if strings.Contains(r.Header.Get("Accept"), "protobuf") {
		return bareProtobuf
	}
	return bareJSON
}

// readConfigMap decodes the request's ConfigMap, or answers 400.
func readConfigMap(w http.ResponseWriter, r *http.Request) (*corev1.ConfigMap, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, false
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	cm, ok := obj.(*corev1.ConfigMap)
	if err != nil || !ok {
		http.Error(w, fmt.Sprintf("not a ConfigMap: %v", err), http.StatusBadRequest)
		return nil, false
	}
	return cm, true
}

// configMapPath splits /api/v1/namespaces/<ns>/configmaps[/<name>].
func configMapPath(path string) (ns, name string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/api/v1/namespaces/")
	if !ok {
		return "", "", false
	}
	ns, rest, ok = strings.Cut(rest, "/configmaps")
	if !ok || ns == "" || strings.Contains(ns, "/") {
		return "", "", false
	}
	if rest == "" {
		return ns, "", true
	}
	name, ok = strings.CutPrefix(rest, "/")
	return ns, name, ok && name != "" && !strings.Contains(name, "/")
}
