package apiextensions

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/x509metrics"
)

// converter converts custom resources between the versions of a CRD.
type converter interface {
	// convert returns objs in version to of the CRD's group; objs are
	// not changed. A failure converts nothing.
	convert(ctx context.Context, objs []*unstructured.Unstructured, to string) ([]*unstructured.Unstructured, error)
}

// noneConverter is the None strategy: only apiVersion changes.
type noneConverter struct{ group string }

func (c noneConverter) convert(_ context.Context, objs []*unstructured.Unstructured, to string) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
		out[i].SetAPIVersion(c.group + "/" + to)
	}
	return out, nil
}

// ServiceResolver finds where a Service's port is served: host:port of a
// ready endpoint, from the Service's EndpointSlices.
type ServiceResolver func(ctx context.Context, namespace, name string, port int32) (string, error)

// webhookTimeout bounds one call of a conversion webhook, as
// kube-apiserver's.
const webhookTimeout = 30 * time.Second

// webhookConverter is the Webhook strategy: a ConversionReview, over
// HTTPS, to the CRD's clientConfig (a URL, or a Service resolved through
// its EndpointSlices), trusting its caBundle.
type webhookConverter struct {
	group, kind   string
	reviewVersion string // apiextensions.k8s.io/v1 or v1beta1, as the webhook takes
	url           *url.URL
	service       *apiextensionsv1.ServiceReference
	resolve       ServiceResolver
	client        *http.Client
}

func newWebhookConverter(crd *apiextensionsv1.CustomResourceDefinition, resolve ServiceResolver) (*webhookConverter, error) {
	wh := crd.Spec.Conversion.Webhook
	if wh == nil || wh.ClientConfig == nil {
		return nil, errors.New("the Webhook conversion strategy needs spec.conversion.webhook.clientConfig")
	}
	c := &webhookConverter{group: crd.Spec.Group, kind: crd.Spec.Names.Kind, resolve: resolve}
	for _, v := range wh.ConversionReviewVersions {
		if v == "v1" || v == "v1beta1" {
			c.reviewVersion = "apiextensions.k8s.io/" + v
			break
		}
	}
	if c.reviewVersion == "" {
		return nil, fmt.Errorf("none of the conversionReviewVersions %v is supported (v1, v1beta1)", wh.ConversionReviewVersions)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(wh.ClientConfig.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(wh.ClientConfig.CABundle) {
			return nil, errors.New("spec.conversion.webhook.clientConfig.caBundle holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	switch cc := wh.ClientConfig; {
	case cc.URL != nil:
		u, err := url.Parse(*cc.URL)
		if err != nil {
			return nil, err
		}
		c.url = u
	case cc.Service != nil:
		c.service = cc.Service
		// The certificate names the Service, not the endpoint dialled.
		tlsConfig.ServerName = cc.Service.Name + "." + cc.Service.Namespace + ".svc"
	default:
		return nil, errors.New("spec.conversion.webhook.clientConfig needs a url or a service")
	}
	c.client = &http.Client{Timeout: webhookTimeout, Transport: x509metrics.Wrap(&http.Transport{TLSClientConfig: tlsConfig,
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true})}
	return c, nil
}

// target is the URL of a call: the URL given, or the Service's endpoint.
func (c *webhookConverter) target(ctx context.Context) (string, error) {
	if c.url != nil {
		return c.url.String(), nil
	}
	port := int32(443)
	if c.service.Port != nil {
		port = *c.service.Port
	}
	if c.resolve == nil {
		return "", fmt.Errorf("service %s/%s cannot be resolved", c.service.Namespace, c.service.Name)
	}
	host, err := c.resolve(ctx, c.service.Namespace, c.service.Name, port)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "https", Host: host}
	if c.service.Path != nil {
		u.Path = *c.service.Path
	}
	return u.String(), nil
}

func (c *webhookConverter) convert(ctx context.Context, objs []*unstructured.Unstructured, to string) ([]*unstructured.Unstructured, error) {
	desired := c.group + "/" + to
	out := make([]*unstructured.Unstructured, len(objs))
	var send []int // the objects not yet in the desired version
	for i, o := range objs {
		if o.GetAPIVersion() == desired {
			out[i] = o.DeepCopy()
			continue
		}
		send = append(send, i)
	}
	if len(send) == 0 {
		return out, nil
	}
	// As kube-apiserver, errors name the kind converted from.
	from := objs[send[0]].GroupVersionKind()
	converted, err := c.call(ctx, objs, send, desired)
	if err != nil {
		return nil, fmt.Errorf("conversion webhook for %v failed: %w", from, err)
	}
	if len(converted) != len(send) {
		return nil, fmt.Errorf("conversion webhook for %v returned %d objects, expected %d", from, len(converted), len(send))
	}
	for j, i := range send {
		if err := checkConverted(objs[i], converted[j], desired); err != nil {
			if len(send) == 1 {
				return nil, fmt.Errorf("conversion webhook for %v returned invalid object: %w", from, err)
			}
			return nil, fmt.Errorf("conversion webhook for %v returned invalid converted object at index %d: %w", from, j, err)
		}
		out[i] = converted[j]
	}
	return out, nil
}

// review is a ConversionReview of either version: their JSON is the same.
type review struct {
	APIVersion string                              `json:"apiVersion"`
	Kind       string                              `json:"kind"`
	Request    *apiextensionsv1.ConversionRequest  `json:"request,omitempty"`
	Response   *apiextensionsv1.ConversionResponse `json:"response,omitempty"`
}

// call sends the objects at send in one ConversionReview.
func (c *webhookConverter) call(ctx context.Context, objs []*unstructured.Unstructured, send []int, desired string) ([]*unstructured.Unstructured, error) {
	target, err := c.target(ctx)
	if err != nil {
		return nil, err
	}
	req := &apiextensionsv1.ConversionRequest{UID: newUID(), DesiredAPIVersion: desired}
	for _, i := range send {
		raw, err := objs[i].MarshalJSON()
		if err != nil {
			return nil, err
		}
		req.Objects = append(req.Objects, runtime.RawExtension{Raw: raw})
	}
	body, err := json.Marshal(review{APIVersion: c.reviewVersion, Kind: "ConversionReview", Request: req})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the server responded with %d: %s", resp.StatusCode, truncate(b))
	}
	var rv review
	if err := json.Unmarshal(b, &rv); err != nil {
		return nil, fmt.Errorf("the response is not a ConversionReview: %w", err)
	}
	r := rv.Response
	switch {
	case r == nil:
		return nil, errors.New("no response provided")
	case r.UID != req.UID:
		return nil, fmt.Errorf("expected response.uid=%q, got %q", req.UID, r.UID)
	case r.Result.Status != "Success" && r.Result.Message != "":
		return nil, errors.New(r.Result.Message)
	case r.Result.Status != "Success":
		return nil, fmt.Errorf("response.result.status was '%s', not 'Success'", r.Result.Status)
	}
	out := make([]*unstructured.Unstructured, len(send))
	for j, raw := range r.ConvertedObjects {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw.Raw); err != nil {
			return nil, fmt.Errorf("converted object %d: %w", j, err)
		}
		out[j] = u
	}
	return out, nil
}

// checkConverted is kube-apiserver's check of what a webhook returns:
// the desired apiVersion, the same kind, name, namespace and uid, and of
// the metadata only labels and annotations changed (valid ones); the rest
// of the metadata is the original's.
func checkConverted(in, out *unstructured.Unstructured, desired string) error {
	if out.GetAPIVersion() != desired {
		return fmt.Errorf("invalid groupVersion (expected %v, received %v)", desired, out.GetAPIVersion())
	}
	for _, c := range []struct{ what, e, a string }{
		{"kind", in.GetKind(), out.GetKind()}, {"name", in.GetName(), out.GetName()},
		{"namespace", in.GetNamespace(), out.GetNamespace()}, {"UID", string(in.GetUID()), string(out.GetUID())},
	} {
		if c.e != c.a {
			return fmt.Errorf("must have the same %s: %v != %v", c.what, c.e, c.a)
		}
	}
	errs := metav1validation.ValidateLabels(out.GetLabels(), field.NewPath("metadata", "labels"))
	errs = append(errs, validation.ValidateAnnotations(out.GetAnnotations(), field.NewPath("metadata", "annotations"))...)
	if len(errs) > 0 {
		return errs.ToAggregate()
	}
	labels, annotations := out.GetLabels(), out.GetAnnotations()
	meta, ok := in.Object["metadata"]
	if ok {
		out.Object["metadata"] = runtime.DeepCopyJSONValue(meta)
	} else {
		delete(out.Object, "metadata")
	}
	out.SetLabels(labels)
	out.SetAnnotations(annotations)
	return nil
}

func newUID() types.UID { return types.UID(uuid.NewString()) }

func truncate(b []byte) string {
	if len(b) > 512 {
		return string(b[:512]) + "..."
	}
	return string(b)
}
