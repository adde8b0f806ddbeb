package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"kapi/internal/server"
)

// The Things of conv.example.com have two versions whose data differ:
//
//	v1: spec.size is a string, "3Gi"
//	v2: spec.size is an integer, 3, and spec.unit a string, "Gi"
//
// spec.color is the same in both. convWebhook converts them.

const convGroup = "conv.example.com"

// convFailMessage is what the test webhook answers for an object it
// refuses to convert (one labelled conv-mode=fail).
const convFailMessage = "the test webhook refuses to convert this thing"

// convCall is one ConversionReview the test webhook received.
type convCall struct {
	reviewAPIVersion, reviewKind string
	uid                          types.UID
	desired                      string
	from                         []string // apiVersion of each object sent
}

// convWebhook is a conversion webhook for Things served over HTTPS on a
// free loopback port. The label conv-mode of an object sent changes
// what it does with it:
//
//	fail:   the review fails (result Failure, convFailMessage)
//	rename: metadata.name is changed
//	meta:   a label, an annotation, generation, finalizers and an
//	        unknown metadata field are changed
type convWebhook struct {
	srv    *httptest.Server
	caPEM  []byte
	url    string
	mu     sync.Mutex
	calls  []convCall
	errors []string // requests it could not handle
}

// With dnsNames, its certificate is one made for them alone (not for
// 127.0.0.1, the address dialled), self-signed: a webhook reached through
// a Service has a certificate for <service>.<namespace>.svc.
func newConvWebhook(t *testing.T, dnsNames ...string) *convWebhook {
	t.Helper()
	w := &convWebhook{}
	mux := http.NewServeMux()
	mux.HandleFunc("/convert", w.serve)
	w.srv = httptest.NewUnstartedServer(mux)
	w.srv.EnableHTTP2 = true
	if len(dnsNames) > 0 {
		w.srv.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t, dnsNames)}}
	}
	w.srv.StartTLS()
	t.Cleanup(w.srv.Close)
	// httptest's certificate is self-signed and valid for 127.0.0.1:
	// it is its own CA.
	w.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.srv.Certificate().Raw})
	w.url = w.srv.URL + "/convert"
	if !strings.HasPrefix(w.srv.URL, "https://127.0.0.1:") {
		t.Fatalf("webhook URL %s", w.srv.URL)
	}
	return w
}

// selfSigned is a serving certificate for dnsNames that is its own CA.
func selfSigned(t *testing.T, dnsNames []string) tls.Certificate {
	return selfSignedFor(t, dnsNames[0], dnsNames)
}

// selfSignedFor is a self-signed serving certificate with the Common
// Name cn and the SANs dnsNames (none: the legacy Common Name only).
func selfSignedFor(t *testing.T, cn string, dnsNames []string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dnsNames,
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (w *convWebhook) callCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.calls)
}

func (w *convWebhook) callsSince(n int) []convCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls[n:])
}

func (w *convWebhook) problems() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.errors)
}

func (w *convWebhook) bad(rw http.ResponseWriter, format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	w.mu.Lock()
	w.errors = append(w.errors, msg)
	w.mu.Unlock()
	http.Error(rw, msg, http.StatusBadRequest)
}

func (w *convWebhook) serve(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.bad(rw, "method %s", r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		w.bad(rw, "content type %q", ct)
		return
	}
	var review apiextensionsv1.ConversionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		w.bad(rw, "decoding the review: %v", err)
		return
	}
	if review.Request == nil {
		w.bad(rw, "a review without request")
		return
	}
	req := review.Request
	call := convCall{reviewAPIVersion: review.APIVersion, reviewKind: review.Kind, uid: req.UID, desired: req.DesiredAPIVersion}
	resp := &apiextensionsv1.ConversionResponse{UID: req.UID, Result: metav1.Status{Status: metav1.StatusSuccess}}
	for _, raw := range req.Objects {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw.Raw); err != nil {
			w.bad(rw, "decoding an object: %v", err)
			return
		}
		call.from = append(call.from, u.GetAPIVersion())
		mode := u.GetLabels()["conv-mode"]
		if mode == "fail" {
			resp.ConvertedObjects = nil
			resp.Result = metav1.Status{Status: metav1.StatusFailure, Message: convFailMessage}
			break
		}
		out, err := convertThing(u, req.DesiredAPIVersion)
		if err != nil {
			resp.ConvertedObjects = nil
			resp.Result = metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}
			break
		}
		switch mode {
		case "rename":
			out.SetName(out.GetName() + "-renamed")
		case "meta":
			labels := out.GetLabels()
			labels["touched"] = "yes"
			out.SetLabels(labels)
			out.SetAnnotations(map[string]string{"converted-to": req.DesiredAPIVersion})
			out.SetGeneration(42)
			out.SetFinalizers([]string{"example.com/foo"})
			_ = unstructured.SetNestedField(out.Object, "junk", "metadata", "garbage")
		}
		b, err := out.MarshalJSON()
		if err != nil {
			w.bad(rw, "encoding: %v", err)
			return
		}
		resp.ConvertedObjects = append(resp.ConvertedObjects, runtime.RawExtension{Raw: b})
	}
	w.mu.Lock()
	w.calls = append(w.calls, call)
	w.mu.Unlock()
	out := apiextensionsv1.ConversionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "ConversionReview"},
		Response: resp,
	}
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(&out)
}

var convSizeRE = regexp.MustCompile(`^([0-9]+)([A-Za-z]*)$`)

// convertThing converts a Thing between v1 and v2.
func convertThing(in *unstructured.Unstructured, desired string) (*unstructured.Unstructured, error) {
	out := in.DeepCopy()
	out.SetAPIVersion(desired)
	from := in.GetAPIVersion()
	if from == desired {
		return out, nil
	}
	spec, _, _ := unstructured.NestedMap(in.Object, "spec")
	newSpec := map[string]interface{}{}
	for k, v := range spec {
		if k != "size" && k != "unit" {
			newSpec[k] = v
		}
	}
	switch {
	case from == convGroup+"/v1" && desired == convGroup+"/v2":
		if s, ok := spec["size"].(string); ok {
			m := convSizeRE.FindStringSubmatch(s)
			if m == nil {
				return nil, fmt.Errorf("spec.size %q is not a size", s)
			}
			n, err := strconv.ParseInt(m[1], 10, 64)
			if err != nil {
				return nil, err
			}
			newSpec["size"] = n
			newSpec["unit"] = m[2]
		}
	case from == convGroup+"/v2" && desired == convGroup+"/v1":
		if n, ok := spec["size"]; ok {
			var i int64
			switch n := n.(type) {
			case int64:
				i = n
			case float64:
				i = int64(n)
			default:
				return nil, fmt.Errorf("spec.size is a %T", n)
			}
			unit, _ := spec["unit"].(string)
			newSpec["size"] = fmt.Sprintf("%d%s", i, unit)
		}
	default:
		return nil, fmt.Errorf("cannot convert %s to %s", from, desired)
	}
	if spec != nil {
		out.Object["spec"] = newSpec
	}
	return out, nil
}

// thingCRD is the CRD of Things, v1 the storage version, converted by
// the webhook at url trusting caPEM.
func thingCRD(url string, caPEM []byte) *apiextensionsv1.CustomResourceDefinition {
	spec := func(p props) apiextensionsv1.JSONSchemaProps {
		return apiextensionsv1.JSONSchemaProps{Type: "object", Properties: props{"spec": {Type: "object", Properties: p}}}
	}
	v1 := spec(props{"size": {Type: "string"}, "color": {Type: "string"}})
	v2 := spec(props{"size": {Type: "integer"}, "unit": {Type: "string"}, "color": {Type: "string"}})
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "things." + convGroup},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: convGroup, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "things", Singular: "thing", Kind: "Thing", ListKind: "ThingList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &v1}},
				{Name: "v2", Served: true, Storage: false, Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &v2}},
			},
			Conversion: &apiextensionsv1.CustomResourceConversion{
				Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{
					ClientConfig:             &apiextensionsv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
					ConversionReviewVersions: []string{"v1"},
				},
			},
		},
	}
}

func thingV1(name, size, color string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": convGroup + "/v1", "kind": "Thing",
		"metadata": map[string]interface{}{"name": name}, "spec": map[string]interface{}{"size": size, "color": color}}}
	if labels != nil {
		u.SetLabels(labels)
	}
	return u
}

func thingV2(name string, size int64, unit, color string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": convGroup + "/v2", "kind": "Thing",
		"metadata": map[string]interface{}{"name": name}, "spec": map[string]interface{}{"size": size, "unit": unit, "color": color}}}
	if labels != nil {
		u.SetLabels(labels)
	}
	return u
}

// wantV1 fails unless u is a v1 Thing of that size and color.
func wantV1(t *testing.T, what string, u *unstructured.Unstructured, size, color string) {
	t.Helper()
	if u.GetAPIVersion() != convGroup+"/v1" || u.GetKind() != "Thing" {
		t.Errorf("%s: apiVersion %q kind %q, want %s/v1 Thing", what, u.GetAPIVersion(), u.GetKind(), convGroup)
	}
	s, ok := u.Object["spec"].(map[string]interface{})
	if !ok {
		t.Errorf("%s: no spec: %v", what, u.Object)
		return
	}
	if s["size"] != size || s["color"] != color {
		t.Errorf("%s: spec %v, want size %q color %q", what, s, size, color)
	}
	if _, ok := s["unit"]; ok {
		t.Errorf("%s: a v1 Thing has spec.unit: %v", what, s)
	}
}

// wantV2 fails unless u is a v2 Thing of that size, unit and color.
func wantV2(t *testing.T, what string, u *unstructured.Unstructured, size int64, unit, color string) {
	t.Helper()
	if u.GetAPIVersion() != convGroup+"/v2" || u.GetKind() != "Thing" {
		t.Errorf("%s: apiVersion %q kind %q, want %s/v2 Thing", what, u.GetAPIVersion(), u.GetKind(), convGroup)
	}
	s, ok := u.Object["spec"].(map[string]interface{})
	if !ok {
		t.Errorf("%s: no spec: %v", what, u.Object)
		return
	}
	if n, ok := s["size"].(int64); !ok || n != size || s["unit"] != unit || s["color"] != color {
		t.Errorf("%s: spec %v (size a %T), want size %d unit %q color %q", what, s, s["size"], size, unit, color)
	}
}

// sameMeta fails unless a and b, the same object read through two
// versions, have the same metadata.
func sameMeta(t *testing.T, what string, a, b *unstructured.Unstructured) {
	t.Helper()
	if a.GetUID() != b.GetUID() || a.GetResourceVersion() != b.GetResourceVersion() || a.GetGeneration() != b.GetGeneration() ||
		a.GetName() != b.GetName() || a.GetNamespace() != b.GetNamespace() || !a.GetCreationTimestamp().Time.Equal(b.GetCreationTimestamp().Time) {
		t.Errorf("%s: metadata differs between versions:\n%v\n%v", what, a.Object["metadata"], b.Object["metadata"])
	}
}

// convStored reads key from kapi's etcd and decodes its JSON; found is
// false when the key is absent.
func convStored(t *testing.T, k *kapi, key string) (obj map[string]interface{}, rev int64, raw []byte, found bool) {
	t.Helper()
	resp, err := k.srv.Etcd().Get(context.Background(), key)
	if err != nil {
		t.Fatalf("etcd get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, nil, false
	}
	raw = resp.Kvs[0].Value
	if len(raw) == 0 || raw[0] != '{' {
		t.Fatalf("%s is not stored as JSON: %.80q", key, raw)
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("%s is not stored as JSON: %v", key, err)
	}
	return obj, resp.Kvs[0].ModRevision, raw, true
}

func thingKey(name string) string { return "/registry/" + convGroup + "/things/default/" + name }

// wantConvError fails unless err is kube-apiserver's answer to a failed
// conversion: a 500 Status whose message holds each of parts.
func wantConvError(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want a failed conversion (500 with %q)", what, parts)
		return
	}
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		t.Errorf("%s: %v is not a Status error", what, err)
		return
	}
	st := se.Status()
	if st.Code != http.StatusInternalServerError {
		t.Errorf("%s: code %d reason %q (%s), want 500 as kube-apiserver answers a failed conversion", what, st.Code, st.Reason, st.Message)
	}
	for _, p := range parts {
		if !strings.Contains(st.Message, p) {
			t.Errorf("%s: message %q does not contain %q (kube-apiserver names the GroupVersionKind of the object converted, not of the version converted to)", what, st.Message, p)
		}
	}
}

// TestCRDConversionWebhook: a CRD of two versions whose data differ,
// converted by a webhook (ConversionReview v1 over HTTPS, trusting the
// CRD's caBundle): each verb through each version sees its version's
// shape, etcd holds the storage version, failures and forbidden metadata
// changes of the webhook are refused as kube-apiserver refuses them, and
// the storage version can move to v2.
func TestCRDConversionWebhook(t *testing.T) {
	wh := newConvWebhook(t)
	k := startKapi(t)
	ctx := context.Background()
	crd := k.createCRD(t, thingCRD(wh.url, wh.caPEM))
	if got := crd.Status.StoredVersions; !slices.Equal(got, []string{"v1"}) {
		t.Errorf("storedVersions %v, want [v1]", got)
	}
	v1 := k.crs(crd, "v1", "default")
	v2 := k.crs(crd, "v2", "default")
	defer func() {
		for _, p := range wh.problems() {
			t.Errorf("the webhook got a bad request: %s", p)
		}
	}()

	t.Run("create v1, read v2 and v1", func(t *testing.T) {
		created, err := v1.Create(ctx, thingV1("a", "3Gi", "red", nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV1(t, "created through v1", created, "3Gi", "red")
		n := wh.callCount()
		got2, err := v2.Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV2(t, "read through v2", got2, 3, "Gi", "red")
		sameMeta(t, "a through v1 and v2", created, got2)
		// The webhook did the conversion: a ConversionReview v1 asking for
		// v2, with one v1 object and a uid.
		calls := wh.callsSince(n)
		if len(calls) == 0 {
			t.Fatal("reading through v2 did not call the conversion webhook")
		}
		c := calls[0]
		if c.reviewAPIVersion != "apiextensions.k8s.io/v1" || c.reviewKind != "ConversionReview" || c.uid == "" ||
			c.desired != convGroup+"/v2" || !slices.Equal(c.from, []string{convGroup + "/v1"}) {
			t.Errorf("conversion review %+v", c)
		}
		got1, err := v1.Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV1(t, "read through v1", got1, "3Gi", "red")
		sameMeta(t, "a through v1 twice", created, got1)
		stored, _, _, ok := convStored(t, k, thingKey("a"))
		if !ok {
			t.Fatalf("%s is not in etcd", thingKey("a"))
		}
		if stored["apiVersion"] != convGroup+"/v1" || stored["kind"] != "Thing" ||
			fmt.Sprint(stored["spec"]) != fmt.Sprint(map[string]interface{}{"size": "3Gi", "color": "red"}) {
			t.Errorf("stored %v, want the v1 Thing", stored)
		}
	})

	t.Run("create v2, read v1", func(t *testing.T) {
		created, err := v2.Create(ctx, thingV2("b", 5, "Mi", "blue", nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The answer is in the version asked: converted to v1 for
		// storage and back.
		wantV2(t, "created through v2", created, 5, "Mi", "blue")
		got1, err := v1.Get(ctx, "b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV1(t, "read through v1", got1, "5Mi", "blue")
		sameMeta(t, "b through v2 and v1", created, got1)
		got2, err := v2.Get(ctx, "b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV2(t, "read through v2", got2, 5, "Mi", "blue")
		stored, _, _, ok := convStored(t, k, thingKey("b"))
		if !ok {
			t.Fatalf("%s is not in etcd", thingKey("b"))
		}
		spec, _ := stored["spec"].(map[string]interface{})
		if stored["apiVersion"] != convGroup+"/v1" || spec["size"] != "5Mi" || spec["unit"] != nil {
			t.Errorf("stored %v, want the v1 Thing (size \"5Mi\")", stored)
		}
		if md, _ := stored["metadata"].(map[string]interface{}); md["uid"] != string(created.GetUID()) {
			t.Errorf("stored metadata %v, created uid %s", md, created.GetUID())
		}
	})

	t.Run("update and patch v2, read v1", func(t *testing.T) {
		cur, err := v2.Get(ctx, "b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_ = unstructured.SetNestedField(cur.Object, int64(7), "spec", "size")
		_ = unstructured.SetNestedField(cur.Object, "Ki", "spec", "unit")
		updated, err := v2.Update(ctx, cur, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV2(t, "updated through v2", updated, 7, "Ki", "blue")
		if updated.GetGeneration() != 2 {
			t.Errorf("generation %d after a spec update, want 2", updated.GetGeneration())
		}
		got1, err := v1.Get(ctx, "b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV1(t, "read through v1 after the update", got1, "7Ki", "blue")
		sameMeta(t, "b after update", updated, got1)

		patched, err := v2.Patch(ctx, "b", types.MergePatchType, []byte(`{"spec":{"size":9,"color":"green"}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV2(t, "patched through v2", patched, 9, "Ki", "green")
		got1, err = v1.Get(ctx, "b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV1(t, "read through v1 after the patch", got1, "9Ki", "green")
		stored, _, _, _ := convStored(t, k, thingKey("b"))
		if spec, _ := stored["spec"].(map[string]interface{}); stored["apiVersion"] != convGroup+"/v1" || spec["size"] != "9Ki" || spec["color"] != "green" {
			t.Errorf("stored %v, want the v1 Thing of size 9Ki", stored)
		}

		// An update through v1 is seen through v2.
		if _, err := v1.Patch(ctx, "b", types.MergePatchType, []byte(`{"spec":{"size":"11Ti"}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		got2, err := v2.Get(ctx, "b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV2(t, "read through v2 after a v1 patch", got2, 11, "Ti", "green")
	})

	t.Run("list through each version", func(t *testing.T) {
		for _, name := range []string{"l1", "l2"} {
			if _, err := v1.Create(ctx, thingV1(name, "1Ki", "red", map[string]string{"list": "yes"}), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := v2.Create(ctx, thingV2("l3", 2, "Mi", "blue", map[string]string{"list": "yes"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		l1, err := v1.List(ctx, metav1.ListOptions{LabelSelector: "list=yes"})
		if err != nil {
			t.Fatal(err)
		}
		n := wh.callCount()
		l2, err := v2.List(ctx, metav1.ListOptions{LabelSelector: "list=yes"})
		if err != nil {
			t.Fatal(err)
		}
		// As kube-apiserver, one ConversionReview for the list, with every
		// item stored in v1.
		if calls := wh.callsSince(n); len(calls) != 1 || len(calls[0].from) != 3 {
			var sizes []int
			for _, c := range calls {
				sizes = append(sizes, len(c.from))
			}
			t.Errorf("listing 3 Things through v2 sent %d ConversionReviews of %v objects, want one of 3", len(calls), sizes)
		}
		if l1.GetAPIVersion() != convGroup+"/v1" || l2.GetAPIVersion() != convGroup+"/v2" || l2.GetKind() != "ThingList" {
			t.Errorf("lists %s %s / %s %s", l1.GetAPIVersion(), l1.GetKind(), l2.GetAPIVersion(), l2.GetKind())
		}
		if len(l1.Items) != 3 || len(l2.Items) != 3 {
			t.Fatalf("lists of %d and %d items, want 3", len(l1.Items), len(l2.Items))
		}
		want := map[string][3]interface{}{"l1": {"1Ki", int64(1), "Ki"}, "l2": {"1Ki", int64(1), "Ki"}, "l3": {"2Mi", int64(2), "Mi"}}
		colors := map[string]string{"l1": "red", "l2": "red", "l3": "blue"}
		for i := range l1.Items {
			it := &l1.Items[i]
			wantV1(t, "v1 list item "+it.GetName(), it, want[it.GetName()][0].(string), colors[it.GetName()])
		}
		uids := map[string]types.UID{}
		for _, it := range l1.Items {
			uids[it.GetName()] = it.GetUID()
		}
		for i := range l2.Items {
			it := &l2.Items[i]
			w := want[it.GetName()]
			wantV2(t, "v2 list item "+it.GetName(), it, w[1].(int64), w[2].(string), colors[it.GetName()])
			if it.GetUID() != uids[it.GetName()] {
				t.Errorf("item %s has uid %s through v2 and %s through v1", it.GetName(), it.GetUID(), uids[it.GetName()])
			}
		}
		// Paging through v2 converts each page.
		page, err := v2.List(ctx, metav1.ListOptions{LabelSelector: "list=yes", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 2 || page.GetContinue() == "" {
			t.Fatalf("first page of %d items, continue %q", len(page.Items), page.GetContinue())
		}
		rest, err := v2.List(ctx, metav1.ListOptions{LabelSelector: "list=yes", Limit: 2, Continue: page.GetContinue()})
		if err != nil {
			t.Fatal(err)
		}
		if len(rest.Items) != 1 {
			t.Fatalf("second page of %d items", len(rest.Items))
		}
		for _, it := range append(page.Items, rest.Items...) {
			w := want[it.GetName()]
			wantV2(t, "v2 page item "+it.GetName(), &it, w[1].(int64), w[2].(string), colors[it.GetName()])
		}
	})

	t.Run("watch through v2", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w, err := v2.Watch(wctx, metav1.ListOptions{LabelSelector: "watch=yes"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		next := func(want watch.EventType) *unstructured.Unstructured {
			t.Helper()
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Fatalf("the watch ended, waiting for %s", want)
				}
				u, isU := ev.Object.(*unstructured.Unstructured)
				if ev.Type != want || !isU {
					t.Fatalf("event %s %#v, want %s", ev.Type, ev.Object, want)
				}
				return u
			case <-time.After(30 * time.Second):
				t.Fatalf("no %s event", want)
			}
			return nil
		}
		if _, err := v1.Create(ctx, thingV1("w", "4Gi", "red", map[string]string{"watch": "yes"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		wantV2(t, "ADDED through v2", next(watch.Added), 4, "Gi", "red")
		if _, err := v1.Patch(ctx, "w", types.MergePatchType, []byte(`{"spec":{"size":"6Mi"}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		wantV2(t, "MODIFIED through v2", next(watch.Modified), 6, "Mi", "red")
		if _, err := v2.Patch(ctx, "w", types.MergePatchType, []byte(`{"spec":{"size":8}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		wantV2(t, "MODIFIED through v2 by v2", next(watch.Modified), 8, "Mi", "red")
		if err := v1.Delete(ctx, "w", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		wantV2(t, "DELETED through v2", next(watch.Deleted), 8, "Mi", "red")
	})

	t.Run("webhook failure", func(t *testing.T) {
		fail := map[string]string{"conv-mode": "fail"}
		// Converting a v2 object to v1 for storage fails: nothing is
		// stored.
		_, err := v2.Create(ctx, thingV2("f1", 1, "Gi", "red", fail), metav1.CreateOptions{})
		wantConvError(t, "create through v2", err, "conversion webhook for "+convGroup+"/v2, Kind=Thing failed", convFailMessage)
		if _, err := v1.Get(ctx, "f1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get f1 after a failed create: %v, want NotFound", err)
		}
		if _, _, _, found := convStored(t, k, thingKey("f1")); found {
			t.Errorf("a failed conversion stored %s", thingKey("f1"))
		}

		// A v1 object that the webhook refuses: read through v1 (no
		// conversion) it is there; through v2 it fails, alone in a get and
		// failing the whole list.
		if _, err := v1.Create(ctx, thingV1("f2", "1Gi", "red", fail), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got, err := v1.Get(ctx, "f2", metav1.GetOptions{}); err != nil {
			t.Errorf("get f2 through v1: %v", err)
		} else {
			wantV1(t, "f2 through v1", got, "1Gi", "red")
		}
		_, err = v2.Get(ctx, "f2", metav1.GetOptions{})
		wantConvError(t, "get through v2", err, "conversion webhook for "+convGroup+"/v1, Kind=Thing failed", convFailMessage)
		list, err := v2.List(ctx, metav1.ListOptions{})
		if err == nil {
			t.Errorf("a list through v2 with an object that fails conversion succeeded: %d items (nothing half-converted: kube-apiserver fails the list)", len(list.Items))
		} else if !strings.Contains(err.Error(), convFailMessage) {
			t.Errorf("list through v2: %v, want the webhook's message %q", err, convFailMessage)
		}
		// Others still read through v2.
		if got, err := v2.Get(ctx, "a", metav1.GetOptions{}); err != nil {
			t.Errorf("get a through v2 while f2 fails: %v", err)
		} else {
			wantV2(t, "a through v2", got, 3, "Gi", "red")
		}
		if err := v1.Delete(ctx, "f2", metav1.DeleteOptions{}); err != nil {
			t.Fatalf("deleting f2 through v1: %v", err)
		}

		// An update through v2 whose object the webhook refuses changes
		// nothing in etcd.
		_, rev, raw, _ := convStored(t, k, thingKey("a"))
		cur, err := v2.Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.SetLabels(fail)
		_ = unstructured.SetNestedField(cur.Object, int64(99), "spec", "size")
		_, err = v2.Update(ctx, cur, metav1.UpdateOptions{})
		wantConvError(t, "update through v2", err, convFailMessage)
		_, rev2, raw2, _ := convStored(t, k, thingKey("a"))
		if rev2 != rev || string(raw2) != string(raw) {
			t.Errorf("a failed update changed etcd:\n%s\n%s", raw, raw2)
		}
		_, err = v2.Patch(ctx, "a", types.MergePatchType, []byte(`{"metadata":{"labels":{"conv-mode":"fail"}},"spec":{"size":98}}`), metav1.PatchOptions{})
		wantConvError(t, "patch through v2", err, convFailMessage)
		if _, rev3, _, _ := convStored(t, k, thingKey("a")); rev3 != rev {
			t.Errorf("a failed patch changed etcd (mod revision %d, was %d)", rev3, rev)
		}
		if got, err := v1.Get(ctx, "a", metav1.GetOptions{}); err != nil {
			t.Error(err)
		} else {
			wantV1(t, "a after failed writes", got, "3Gi", "red")
			if got.GetLabels()["conv-mode"] != "" {
				t.Errorf("a failed write left labels %v", got.GetLabels())
			}
		}
	})

	t.Run("renaming webhook refused", func(t *testing.T) {
		rename := map[string]string{"conv-mode": "rename"}
		_, err := v2.Create(ctx, thingV2("r1", 1, "Gi", "red", rename), metav1.CreateOptions{})
		wantConvError(t, "create through v2 renamed by the webhook", err, "conversion webhook for "+convGroup+"/v2, Kind=Thing returned invalid", "name")
		for _, name := range []string{"r1", "r1-renamed"} {
			if _, err := v1.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get %s after a refused conversion: %v, want NotFound", name, err)
			}
			if _, _, _, found := convStored(t, k, thingKey(name)); found {
				t.Errorf("a refused conversion stored %s", thingKey(name))
			}
		}
		if _, err := v1.Create(ctx, thingV1("r2", "1Gi", "red", rename), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = v2.Get(ctx, "r2", metav1.GetOptions{})
		wantConvError(t, "get through v2 renamed by the webhook", err, "conversion webhook for "+convGroup+"/v1, Kind=Thing returned invalid", "name")
		if err := v1.Delete(ctx, "r2", metav1.DeleteOptions{}); err != nil {
			t.Fatalf("deleting r2 through v1: %v", err)
		}
	})

	t.Run("webhook metadata changes", func(t *testing.T) {
		// Of the metadata a webhook returns only labels and annotations
		// are kept; the rest is the original's.
		created, err := v1.Create(ctx, thingV1("m", "2Gi", "red", map[string]string{"conv-mode": "meta"}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := v2.Get(ctx, "m", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantV2(t, "m through v2", got, 2, "Gi", "red")
		if got.GetLabels()["touched"] != "yes" || got.GetAnnotations()["converted-to"] != convGroup+"/v2" {
			t.Errorf("labels %v annotations %v: the webhook's labels and annotations are kept", got.GetLabels(), got.GetAnnotations())
		}
		if got.GetGeneration() != created.GetGeneration() || len(got.GetFinalizers()) != 0 {
			t.Errorf("generation %d finalizers %v: the webhook changed them", got.GetGeneration(), got.GetFinalizers())
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, "metadata", "garbage"); found {
			t.Errorf("metadata.garbage from the webhook kept: %v", got.Object["metadata"])
		}
		sameMeta(t, "m through v1 and v2", created, got)
		if got1, err := v1.Get(ctx, "m", metav1.GetOptions{}); err != nil {
			t.Error(err)
		} else if got1.GetLabels()["touched"] != "" {
			t.Errorf("a read through v2 changed the object: %v", got1.GetLabels())
		}
		if _, _, raw, _ := convStored(t, k, thingKey("m")); strings.Contains(string(raw), "touched") {
			t.Errorf("a read through v2 changed etcd: %s", raw)
		}
		if err := v1.Delete(ctx, "m", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("storage version v2", func(t *testing.T) {
		if _, err := v1.Create(ctx, thingV1("old", "12Mi", "red", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		crds := k.crdClient().ApiextensionsV1().CustomResourceDefinitions()
		cur, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Spec.Versions[0].Storage, cur.Spec.Versions[1].Storage = false, true
		updated, err := crds.Update(ctx, cur, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// kube-apiserver adds the new storage version to storedVersions
		// in the update itself.
		if got := updated.Status.StoredVersions; !slices.Equal(got, []string{"v1", "v2"}) {
			t.Errorf("storedVersions %v after the update, want [v1 v2]", got)
		}
		// Writes go to v2 once the new CRD is served: create probes through
		// v1 until one is stored as v2.
		i := 0
		var lastErr error
		if err := waitUntil(30*time.Second, func() bool {
			i++
			name := fmt.Sprint("probe-", i)
			if _, err := v1.Create(ctx, thingV1(name, "1Ki", "red", map[string]string{"probe": "yes"}), metav1.CreateOptions{}); err != nil {
				lastErr = err
				return false
			}
			o, _, _, _ := convStored(t, k, thingKey(name))
			return o["apiVersion"] == convGroup+"/v2"
		}); err != nil {
			t.Fatalf("creates through v1 are not stored as v2 after the storage version moved to v2: %v (last error: %v)", err, lastErr)
		}
		if got, err := crds.Get(ctx, crd.Name, metav1.GetOptions{}); err != nil {
			t.Error(err)
		} else if !slices.Equal(got.Status.StoredVersions, []string{"v1", "v2"}) {
			t.Errorf("storedVersions %v, want [v1 v2]", got.Status.StoredVersions)
		}

		// A create through v1 is stored as v2.
		if _, err := v1.Create(ctx, thingV1("new", "7Mi", "blue", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		stored, _, raw, _ := convStored(t, k, thingKey("new"))
		spec, _ := stored["spec"].(map[string]interface{})
		if stored["apiVersion"] != convGroup+"/v2" || spec["size"] != float64(7) || spec["unit"] != "Mi" || spec["color"] != "blue" {
			t.Errorf("stored %s, want the v2 Thing", raw)
		}
		if got, err := v1.Get(ctx, "new", metav1.GetOptions{}); err != nil {
			t.Error(err)
		} else {
			wantV1(t, "new through v1", got, "7Mi", "blue")
		}
		// A create through v2 is stored as it is.
		if _, err := v2.Create(ctx, thingV2("new2", 8, "Gi", "green", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if o, _, raw, _ := convStored(t, k, thingKey("new2")); o["apiVersion"] != convGroup+"/v2" {
			t.Errorf("stored %s, want v2", raw)
		}
		if got, err := v1.Get(ctx, "new2", metav1.GetOptions{}); err != nil {
			t.Error(err)
		} else {
			wantV1(t, "new2 through v1", got, "8Gi", "green")
		}

		// An object written before stays v1 in etcd and reads through both.
		if o, _, raw, _ := convStored(t, k, thingKey("old")); o["apiVersion"] != convGroup+"/v1" {
			t.Errorf("old is stored as %s, want v1 (it was not written since)", raw)
		}
		if got, err := v1.Get(ctx, "old", metav1.GetOptions{}); err != nil {
			t.Errorf("get old (still stored as v1, storage now v2) through v1: %v", err)
		} else {
			wantV1(t, "old (still stored as v1, storage now v2) through v1", got, "12Mi", "red")
		}
		if got, err := v2.Get(ctx, "old", metav1.GetOptions{}); err != nil {
			t.Error(err)
		} else {
			wantV2(t, "old (still stored as v1, storage now v2) through v2: not converted from its stored version", got, 12, "Mi", "red")
		}
		// Lists mix both stored versions, every item in the version asked.
		for _, v := range []string{"v1", "v2"} {
			l, err := k.crs(crd, v, "default").List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Errorf("list through %s (objects stored as v1 and as v2): %v", v, err)
				continue
			}
			names := map[string]bool{}
			for _, it := range l.Items {
				names[it.GetName()] = true
				_, isString := it.Object["spec"].(map[string]interface{})["size"].(string)
				if it.GetAPIVersion() != convGroup+"/"+v || isString != (v == "v1") {
					t.Errorf("list through %s: item %s is %s spec %v (items stored as v1 must be converted from v1)", v, it.GetName(), it.GetAPIVersion(), it.Object["spec"])
				}
			}
			if !names["old"] || !names["new"] || !names["new2"] || !names["a"] {
				t.Errorf("list through %s has %v", v, names)
			}
		}
		// Updating the old object rewrites it as v2.
		if _, err := v2.Patch(ctx, "old", types.MergePatchType, []byte(`{"spec":{"size":13}}`), metav1.PatchOptions{}); err != nil {
			t.Errorf("patching old (stored as v1) through v2: %v", err)
		} else {
			if o, _, raw, _ := convStored(t, k, thingKey("old")); o["apiVersion"] != convGroup+"/v2" {
				t.Errorf("old is stored as %s after an update, want v2", raw)
			}
			if got, err := v1.Get(ctx, "old", metav1.GetOptions{}); err != nil {
				t.Error(err)
			} else {
				wantV1(t, "old through v1 after the update", got, "13Mi", "red")
			}
		}
		// The webhook's failure now shows on a v1 create (v1 to v2).
		_, err = v1.Create(ctx, thingV1("f3", "1Gi", "red", map[string]string{"conv-mode": "fail"}), metav1.CreateOptions{})
		wantConvError(t, "create through v1 with storage v2", err, "conversion webhook for "+convGroup+"/v1, Kind=Thing failed", convFailMessage)
		if _, _, _, found := convStored(t, k, thingKey("f3")); found {
			t.Errorf("a failed conversion stored %s", thingKey("f3"))
		}
	})
}

// noneCRD is a CRD of Gadgets in v1 (storage) and v2 of the same schema,
// with the None conversion strategy.
// TestCRDConversionWebhookService: a conversion webhook given as a
// Service (clientConfig.service) is called at a ready endpoint of the
// Service's EndpointSlices, on the target port of the Service's port, with
// the certificate checked for <service>.<namespace>.svc; without a ready
// endpoint the conversion fails, as kube-apiserver's, with "no endpoints
// available for service".
func TestCRDConversionWebhookService(t *testing.T) {
	const svc = "thing-conv"
	wh := newConvWebhook(t, svc+".default.svc")
	// The webhook runs on this machine: its endpoint is a loopback one.
	k := startKapi(t, func(c *server.Config) { c.ProxyAllowLoopback = true })
	ctx := context.Background()
	_, portText, err := net.SplitHostPort(wh.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatal(err)
	}
	// The Service has no selector: its EndpointSlice is the test's, as
	// for a webhook running outside the cluster.
	if _, err := k.client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: svc},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 8443, TargetPort: intstr.FromInt32(int32(port))}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			// Not ready: never called.
			{Addresses: []string{"192.0.2.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}},
			{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}},
		},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("https"), Port: ptr(int32(port))}},
	}
	if _, err := k.client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crd := thingCRD(wh.url, wh.caPEM)
	crd.Spec.Conversion.Webhook.ClientConfig = &apiextensionsv1.WebhookClientConfig{
		Service:  &apiextensionsv1.ServiceReference{Namespace: "default", Name: svc, Path: ptr("/convert"), Port: ptr(int32(8443))},
		CABundle: wh.caPEM,
	}
	crd = k.createCRD(t, crd)
	v1 := k.crs(crd, "v1", "default")
	v2 := k.crs(crd, "v2", "default")
	defer func() {
		for _, p := range wh.problems() {
			t.Errorf("the webhook got a bad request: %s", p)
		}
	}()

	created, err := v2.Create(ctx, thingV2("s", 7, "Gi", "green", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create through v2, converted by the webhook behind the Service: %v", err)
	}
	wantV2(t, "created through v2", created, 7, "Gi", "green")
	if wh.callCount() == 0 {
		t.Fatal("the webhook behind the Service was not called")
	}
	got1, err := v1.Get(ctx, "s", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantV1(t, "read through v1", got1, "7Gi", "green")
	n := wh.callCount()
	if _, err := v2.Get(ctx, "s", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if wh.callCount() == n {
		t.Error("reading the v1-stored Thing through v2 did not call the webhook")
	}

	// No ready endpoint: the conversion fails, and nothing is written.
	slice.Endpoints = slice.Endpoints[:1]
	if _, err := k.client.DiscoveryV1().EndpointSlices("default").Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = v2.Get(ctx, "s", metav1.GetOptions{})
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantConvError(t, "a read through v2 without a ready endpoint", err, `no endpoints available for service "`+svc+`"`)
	_, err = v2.Create(ctx, thingV2("t", 1, "Mi", "red", nil), metav1.CreateOptions{})
	wantConvError(t, "a create through v2 without a ready endpoint", err, `no endpoints available for service "`+svc+`"`)
	if _, _, _, ok := convStored(t, k, thingKey("t")); ok {
		t.Error("a create whose conversion failed was stored")
	}
}

func noneCRD() *apiextensionsv1.CustomResourceDefinition {
	schema := func() *apiextensionsv1.CustomResourceValidation {
		return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
			Properties: props{"spec": {Type: "object", Properties: props{"note": {Type: "string"}, "count": {Type: "integer"}}}}}}
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gadgets.none.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "none.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Singular: "gadget", Kind: "Gadget", ListKind: "GadgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: schema()},
				{Name: "v2", Served: true, Schema: schema()},
			},
			Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter},
		},
	}
}

// TestCRDConversionNone: with the None strategy, reading through the
// other version changes apiVersion and nothing else, and etcd holds the
// storage version.
func TestCRDConversionNone(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	crd := k.createCRD(t, noneCRD())
	v1, v2 := k.crs(crd, "v1", "default"), k.crs(crd, "v2", "default")
	gadget := func(version, name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "none.example.com/" + version, "kind": "Gadget",
			"metadata": map[string]interface{}{"name": name, "labels": map[string]interface{}{"a": "b"}},
			"spec":     map[string]interface{}{"note": "from " + version, "count": int64(3)}}}
	}
	// same fails unless a and b differ only in apiVersion.
	same := func(what string, a, b *unstructured.Unstructured, va, vb string) {
		t.Helper()
		if a.GetAPIVersion() != "none.example.com/"+va || b.GetAPIVersion() != "none.example.com/"+vb {
			t.Errorf("%s: apiVersions %s and %s, want %s and %s", what, a.GetAPIVersion(), b.GetAPIVersion(), va, vb)
		}
		ac, bc := a.DeepCopy(), b.DeepCopy()
		delete(ac.Object, "apiVersion")
		delete(bc.Object, "apiVersion")
		delete(ac.Object["metadata"].(map[string]interface{}), "managedFields")
		delete(bc.Object["metadata"].(map[string]interface{}), "managedFields")
		ja, _ := json.Marshal(ac.Object)
		jb, _ := json.Marshal(bc.Object)
		if string(ja) != string(jb) {
			t.Errorf("%s: more than apiVersion differs:\n%s\n%s", what, ja, jb)
		}
	}
	for _, c := range []struct{ create, other string }{{"v1", "v2"}, {"v2", "v1"}} {
		cl, other := v1, v2
		if c.create == "v2" {
			cl, other = v2, v1
		}
		name := "g-" + c.create
		created, err := cl.Create(ctx, gadget(c.create, name), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if created.Object["spec"].(map[string]interface{})["note"] != "from "+c.create {
			t.Errorf("created %v", created.Object)
		}
		got, err := other.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		same(name+" created through "+c.create+", read through "+c.other, created, got, c.create, c.other)
		resp, err := k.srv.Etcd().Get(ctx, "/registry/none.example.com/gadgets/default/"+name)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("etcd: %v %v", err, resp)
		}
		var stored map[string]interface{}
		if err := json.Unmarshal(resp.Kvs[0].Value, &stored); err != nil {
			t.Fatalf("stored %q is not JSON: %v", resp.Kvs[0].Value, err)
		}
		if stored["apiVersion"] != "none.example.com/v1" || fmt.Sprint(stored["spec"]) != fmt.Sprint(map[string]interface{}{"note": "from " + c.create, "count": float64(3)}) {
			t.Errorf("stored %s, want the v1 Gadget", resp.Kvs[0].Value)
		}
	}
	// Writes through v2 and lists through both.
	if _, err := v2.Patch(ctx, "g-v1", types.MergePatchType, []byte(`{"spec":{"count":4}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	l1, err := v1.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := v2.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l1.Items) != 2 || len(l2.Items) != 2 {
		t.Fatalf("lists of %d and %d items", len(l1.Items), len(l2.Items))
	}
	for i := range l1.Items {
		same("list item "+l1.Items[i].GetName(), &l1.Items[i], &l2.Items[i], "v1", "v2")
		if l1.Items[i].GetName() == "g-v1" {
			if n, _, _ := unstructured.NestedInt64(l1.Items[i].Object, "spec", "count"); n != 4 {
				t.Errorf("g-v1 count %d after the v2 patch, want 4", n)
			}
		}
	}
	// A watch through v2 sees v2 objects.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := v2.Watch(wctx, metav1.ListOptions{ResourceVersion: l2.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := v1.Create(ctx, gadget("v1", "g-w"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		u, _ := ev.Object.(*unstructured.Unstructured)
		if ev.Type != watch.Added || u == nil || u.GetName() != "g-w" || u.GetAPIVersion() != "none.example.com/v2" {
			t.Errorf("event %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event")
	}
}

// A field selector selects custom resources by the selectable fields of
// the version it asks for: one stored in another version is converted
// first, as kube-apiserver's storage of each version converts what it
// reads (kube's conformance spec "CustomResourceFieldSelectors MUST list
// and watch custom resources matching the field selector").
func TestCRDSelectableFieldsConverted(t *testing.T) {
	wh := newConvWebhook(t)
	k := startKapi(t)
	ctx := context.Background()
	def := thingCRD(wh.url, wh.caPEM)
	def.Spec.Versions[0].SelectableFields = []apiextensionsv1.SelectableField{{JSONPath: ".spec.size"}}
	def.Spec.Versions[1].SelectableFields = []apiextensionsv1.SelectableField{{JSONPath: ".spec.unit"}}
	crd := k.createCRD(t, def)
	v1, v2 := k.crs(crd, "v1", "default"), k.crs(crd, "v2", "default")
	names := func(l *unstructured.UnstructuredList) []string {
		var out []string
		for _, i := range l.Items {
			out = append(out, i.GetName())
		}
		return out
	}
	w, err := v2.Watch(ctx, metav1.ListOptions{FieldSelector: "spec.unit=Gi"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, th := range []*unstructured.Unstructured{thingV1("a", "3Gi", "red", nil), thingV1("b", "5Mi", "red", nil)} {
		if _, err := v1.Create(ctx, th, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v2.Create(ctx, thingV2("c", 7, "Gi", "blue", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		client   dynamic.ResourceInterface
		selector string
		want     []string
	}{
		{v2, "spec.unit=Gi", []string{"a", "c"}},
		{v2, "spec.unit=Mi", []string{"b"}},
		{v1, "spec.size=5Mi", []string{"b"}},
		{v1, "spec.size=7Gi", []string{"c"}},
	} {
		l, err := c.client.List(ctx, metav1.ListOptions{FieldSelector: c.selector})
		if err != nil {
			t.Fatalf("%s: %v", c.selector, err)
		}
		if got := names(l); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.selector, got, c.want)
		}
	}
	// A v1 field is not a v2 one.
	if _, err := v2.List(ctx, metav1.ListOptions{FieldSelector: "spec.size=3Gi"}); !apierrors.IsBadRequest(err) {
		t.Errorf("spec.size through v2: %v", err)
	}
	var seen []string
	for len(seen) < 2 {
		select {
		case e := <-w.ResultChan():
			u := e.Object.(*unstructured.Unstructured)
			if e.Type != watch.Added || u.GetAPIVersion() != convGroup+"/v2" {
				t.Fatalf("watch: %s %s", e.Type, u.GetAPIVersion())
			}
			seen = append(seen, u.GetName())
		case <-time.After(20 * time.Second):
			t.Fatalf("the watch of spec.unit=Gi saw %v", seen)
		}
	}
	if !slices.Equal(seen, []string{"a", "c"}) {
		t.Errorf("the watch of spec.unit=Gi saw %v", seen)
	}
}
