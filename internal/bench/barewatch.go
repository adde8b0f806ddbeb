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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
)

// The bare watch server is the fan-out's floor for any Go server: the
// "bare-watch" child serves ConfigMap watches and updates over TLS and
// HTTP/2 (Go's net/http, as kapi and kube-apiserver), and does only what
// any server must: it decodes each update, encodes its event once per
// encoding (JSON and protobuf, framed for the stream), and writes the
// frame to every watcher, flushing when the watcher has nothing more
// waiting. No storage, no filters, no authentication. kapi's CPU per
// delivered event against this server's tells what kapi adds to what Go's
// HTTP/2 server costs.

// bareWatch is the server.
type bareWatch struct {
	rv       atomic.Int64
	mu       sync.Mutex
	watchers map[*bareWatcher]struct{}
	stopping chan struct{}
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

// runBareWatch is the bare-watch child, on 127.0.0.1:--port with
// httptest's certificate.
func runBareWatch(cfg Config) error {
	s := &bareWatch{watchers: map[*bareWatcher]struct{}{}, stopping: make(chan struct{})}
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

func (s *bareWatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Query().Get("watch") != "":
		s.watch(w, r)
	case r.Method == http.MethodPut:
		s.put(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *bareWatch) watch(w http.ResponseWriter, r *http.Request) {
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
func (s *bareWatch) put(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	cm, ok := obj.(*corev1.ConfigMap)
	if err != nil || !ok {
		http.Error(w, fmt.Sprintf("not a ConfigMap: %v", err), http.StatusBadRequest)
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
	enc := bareJSON
	if strings.Contains(r.Header.Get("Accept"), "protobuf") {
		enc = bareProtobuf
	}
	w.Header().Set("Content-Type", enc.mediaType)
	enc.object.Encode(cm, w)
}
