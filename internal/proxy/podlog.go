package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// PodLog is the pods/log subresource's Connect: a GET reads the
// container's log from the kubelet of the pod's node
// (/containerLogs/<ns>/<pod>/<container>) and streams it to the client
// as text/plain, as kube-apiserver's LogREST and LocationStreamer do.
// It is not a proxy: only the body comes back, the kubelet's headers do
// not, and a kubelet error is the client's Status. With follow=true the
// stream is flushed as it comes and lasts until the kubelet ends it or
// the client goes (the kubelet's request is cancelled with the
// client's). A pod without a node has an empty log.
func (k *Kubelets) PodLog(_ context.Context, ns, name, rest string) (http.Handler, error) {
	if rest != "" {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods/log"}, name)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := k.podLog(w, r, ns, name); err != nil {
			k.errorf(w, r, err)
		}
	}), nil
}

// logOptions are kube's PodLogOptions as the query gives them.
type logOptions struct {
	container                      string
	follow, previous, timestamps   bool
	insecureSkipTLSVerifyBackend   bool
	sinceSeconds, tailLines, limit *int64
	sinceTime                      *time.Time
	stream                         *string
}

func parseLogOptions(q url.Values) (*logOptions, error) {
	o := &logOptions{
		container:                    q.Get("container"),
		follow:                       registry.QueryBool(q, "follow"),
		previous:                     registry.QueryBool(q, "previous"),
		timestamps:                   registry.QueryBool(q, "timestamps"),
		insecureSkipTLSVerifyBackend: registry.QueryBool(q, "insecureSkipTLSVerifyBackend"),
	}
	var err error
	for key, p := range map[string]**int64{"sinceSeconds": &o.sinceSeconds, "tailLines": &o.tailLines, "limitBytes": &o.limit} {
		if *p, err = queryInt64(q, key); err != nil {
			return nil, err
		}
	}
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		o.sinceTime = &t
	}
	if v, ok := q["stream"]; ok && len(v) > 0 {
		o.stream = &v[0]
	}
	return o, nil
}

// validate is kube's ValidatePodLogOptions.
func (o *logOptions) validate(name string) error {
	var errs field.ErrorList
	if o.tailLines != nil && *o.tailLines < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), *o.tailLines, "must be greater than or equal to 0"))
	}
	if o.limit != nil && *o.limit < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), *o.limit, "must be greater than 0"))
	}
	switch {
	case o.sinceSeconds != nil && o.sinceTime != nil:
		errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
	case o.sinceSeconds != nil && *o.sinceSeconds < 1:
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), *o.sinceSeconds, "must be greater than 0"))
	}
	if o.stream != nil {
		switch *o.stream {
		case corev1.LogStreamAll, corev1.LogStreamStdout, corev1.LogStreamStderr:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("stream"), *o.stream, []string{corev1.LogStreamAll, corev1.LogStreamStderr, corev1.LogStreamStdout}))
		}
		if *o.stream != corev1.LogStreamAll && o.tailLines != nil {
			errs = append(errs, field.Forbidden(field.NewPath(""), "`tailLines` and specific `stream` are mutually exclusive for now"))
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "PodLogOptions"}, name, errs)
	}
	return nil
}

// query is the kubelet's query for the options, as kube's LogLocation
// writes it.
func (o *logOptions) query() string {
	q := url.Values{}
	for key, on := range map[string]bool{"follow": o.follow, "previous": o.previous, "timestamps": o.timestamps} {
		if on {
			q.Set(key, "true")
		}
	}
	for key, n := range map[string]*int64{"sinceSeconds": o.sinceSeconds, "tailLines": o.tailLines, "limitBytes": o.limit} {
		if n != nil {
			q.Set(key, strconv.FormatInt(*n, 10))
		}
	}
	if o.sinceTime != nil {
		q.Set("sinceTime", o.sinceTime.Format(time.RFC3339))
	}
	if o.stream != nil {
		q.Set("stream", *o.stream)
	}
	return q.Encode()
}

func (k *Kubelets) podLog(w http.ResponseWriter, r *http.Request, ns, name string) error {
	if r.Method != http.MethodGet {
		return apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/log"}, r.Method)
	}
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		return err
	}
	if err := opts.validate(name); err != nil {
		return err
	}
	pod, err := k.pod(r.Context(), ns, name)
	if err != nil {
		return err
	}
	container, err := containerOf(pod, opts.container)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain")
	if pod.Spec.NodeName == "" {
		w.WriteHeader(http.StatusOK) // not scheduled: no log yet
		return nil
	}
	kl, err := k.node(r.Context(), pod.Spec.NodeName)
	if err != nil {
		return err
	}
	loc := &url.URL{Scheme: "https", Host: kl.hostPort(),
		Path: fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, container), RawQuery: opts.query()}
	insecure := 0
	if opts.insecureSkipTLSVerifyBackend {
		insecure = 1
	}
	silent := 0
	if opts.follow {
		silent = 1
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, loc.String(), nil)
	if err != nil {
		return err
	}
	resp, err := k.transports[insecure][silent].RoundTrip(req)
	if err != nil {
		// As kube's client says it: Get "https://...": dial tcp ...
		return &url.Error{Op: "Get", URL: loc.String(), Err: err}
	}
	defer resp.Body.Close()
	if err := checkKubeletResponse(resp, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	copyFlushing(w, resp.Body, opts.follow)
	return nil
}

// checkKubeletResponse turns a kubelet's failure into the client's
// Status, as kube's GenericHttpResponseChecker: the kubelet's body (its
// first 50000 bytes) is the message; a redirect is not followed.
func checkKubeletResponse(resp *http.Response, name string) error {
	if resp.StatusCode >= http.StatusOK && resp.StatusCode <= http.StatusPartialContent {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 50000))
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError:
		return apierrors.NewInternalError(fmt.Errorf("%s", body))
	case http.StatusBadRequest:
		return apierrors.NewBadRequest(string(body))
	}
	return apierrors.NewGenericServerResponse(resp.StatusCode, "", schema.GroupResource{Resource: "pods/log"}, name, string(body), 0, false)
}

// copyFlushing copies the kubelet's body to the client, flushing each
// piece when following, so that a line reaches the client when the
// kubelet sends it.
func copyFlushing(w http.ResponseWriter, body io.Reader, flush bool) {
	if !flush {
		buf := buffers.Get()
		defer buffers.Put(buf)
		io.CopyBuffer(w, body, buf)
		return
	}
	rc := http.NewResponseController(w)
	rc.Flush()
	buf := buffers.Get()
	defer buffers.Put(buf)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}
