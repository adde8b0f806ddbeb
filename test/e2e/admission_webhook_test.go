package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// webhookEnv is one kapi and one webhook server shared by the cases of a
// test; each case works in its own namespace, which its webhooks select.
type webhookEnv struct {
	t   *testing.T
	k   *kapi
	srv *admissionServer
}

func (e *webhookEnv) namespace(t *testing.T, name string) {
	t.Helper()
	if _, err := e.k.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The webhooks a case registers see only its own writes, not the
	// root CA publisher's kube-root-ca.crt, made before.
	waitRootCA(t, e.k, name)
}

// mutating creates a MutatingWebhookConfiguration of hooks and deletes
// it when the case ends.
func (e *webhookEnv) mutating(t *testing.T, name string, hooks ...admissionregistrationv1.MutatingWebhook) {
	t.Helper()
	ctx := context.Background()
	c := e.k.client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if _, err := c.Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Webhooks: hooks}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(ctx, name, metav1.DeleteOptions{}) })
}

func (e *webhookEnv) validating(t *testing.T, name string, hooks ...admissionregistrationv1.ValidatingWebhook) {
	t.Helper()
	ctx := context.Background()
	c := e.k.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := c.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Webhooks: hooks}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(ctx, name, metav1.DeleteOptions{}) })
}

func (e *webhookEnv) cms(ns string) interface {
	Create(context.Context, *corev1.ConfigMap, metav1.CreateOptions) (*corev1.ConfigMap, error)
	Get(context.Context, string, metav1.GetOptions) (*corev1.ConfigMap, error)
	Update(context.Context, *corev1.ConfigMap, metav1.UpdateOptions) (*corev1.ConfigMap, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
} {
	return e.k.client.CoreV1().ConfigMaps(ns)
}

func cm(name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Data: map[string]string{"k": "v"}}
}

var (
	none      = ptr(admissionregistrationv1.SideEffectClassNone)
	noneOnDry = ptr(admissionregistrationv1.SideEffectClassNoneOnDryRun)
	fail      = ptr(admissionregistrationv1.Fail)
	ignore    = ptr(admissionregistrationv1.Ignore)
	v1Reviews = []string{"v1"}
)

func validatingHook(name string, cc admissionregistrationv1.WebhookClientConfig, ns string) admissionregistrationv1.ValidatingWebhook {
	return admissionregistrationv1.ValidatingWebhook{Name: name, ClientConfig: cc, Rules: configMapRules(), SideEffects: none,
		AdmissionReviewVersions: v1Reviews, NamespaceSelector: inNamespace(ns), FailurePolicy: fail}
}

// mutatingHook takes creates and updates: a patch for a delete is an error
// (a probe deletes what it made before the webhook was in force).
func mutatingHook(name string, cc admissionregistrationv1.WebhookClientConfig, ns string) admissionregistrationv1.MutatingWebhook {
	return admissionregistrationv1.MutatingWebhook{Name: name, ClientConfig: cc, SideEffects: none,
		Rules:                   configMapRules(admissionregistrationv1.Create, admissionregistrationv1.Update),
		AdmissionReviewVersions: v1Reviews, NamespaceSelector: inNamespace(ns), FailurePolicy: fail}
}

// addLabel is a mutating answer that adds label k=v.
func addLabel(k, v string) func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	return func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		var obj struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		json.Unmarshal(r.Object.Raw, &obj)
		if obj.Metadata.Labels == nil {
			return patchResponse(map[string]any{"op": "add", "path": "/metadata/labels", "value": map[string]string{k: v}})
		}
		return patchResponse(map[string]any{"op": "add", "path": "/metadata/labels/" + escapeJSONPointer(k), "value": v})
	}
}

// TestAdmissionWebhooks: mutating and validating webhooks reached by URL,
// each behaviour of kube-apiserver's webhooks one case.
func TestAdmissionWebhooks(t *testing.T) {
	e := &webhookEnv{t: t, k: startKapi(t), srv: newAdmissionServer(t)}
	ctx := context.Background()

	t.Run("mutate a label", func(t *testing.T) {
		e.namespace(t, "wh-mutate")
		e.srv.on("/mutate", addLabel("mutated", "yes"))
		e.mutating(t, "mutate.kapi.test", mutatingHook("mutate.kapi.test", e.srv.clientConfig("/mutate"), "wh-mutate"))
		var got *corev1.ConfigMap
		settle(t, "the mutating webhook", func() bool {
			e.cms("wh-mutate").Delete(ctx, "a", metav1.DeleteOptions{})
			var err error
			got, err = e.cms("wh-mutate").Create(ctx, cm("a", nil), metav1.CreateOptions{})
			return err == nil && got.Labels["mutated"] == "yes"
		})
		stored, err := e.cms("wh-mutate").Get(ctx, "a", metav1.GetOptions{})
		if err != nil || stored.Labels["mutated"] != "yes" {
			t.Fatalf("the stored object lacks the webhook's label: %v %v", err, stored.Labels)
		}
		reqs := e.srv.requests("/mutate")
		last := reqs[len(reqs)-1]
		if last.Operation != admissionv1.Create || last.Namespace != "wh-mutate" || last.Name != "a" ||
			last.Kind.Kind != "ConfigMap" || last.Resource.Resource != "configmaps" || last.RequestKind == nil || last.UserInfo.Username == "" {
			t.Fatalf("the webhook's request: %+v", last)
		}
		if opts := objectOf(t, last.Options.Raw); opts.GetKind() != "CreateOptions" {
			t.Fatalf("options: %s", last.Options.Raw)
		}
		// As in kube-apiserver, what only the server sets comes after
		// admission.
		if sent := objectOf(t, last.Object.Raw); sent.GetUID() != "" || sent.GetCreationTimestamp() != (metav1.Time{}) {
			t.Fatalf("the webhook saw a uid or creation time on create: %s", last.Object.Raw)
		}
		if got.UID == "" || got.CreationTimestamp.IsZero() {
			t.Fatalf("the created object lacks its uid or creation time: %+v", got.ObjectMeta)
		}
		// The user is the one the request authenticated as.
		if _, err := asUser(e.k, "alice", "system:masters").CoreV1().ConfigMaps("wh-mutate").Create(ctx, cm("by-alice", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		reqs = e.srv.requests("/mutate")
		if u := reqs[len(reqs)-1].UserInfo; u.Username != "alice" || !slices.Contains(u.Groups, "system:masters") || !slices.Contains(u.Groups, "system:authenticated") {
			t.Fatalf("user info: %+v", u)
		}
		// An update sees the old object too, and UpdateOptions.
		stored.Data["k"] = "w"
		if _, err := e.cms("wh-mutate").Update(ctx, stored, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		reqs = e.srv.requests("/mutate")
		last = reqs[len(reqs)-1]
		if last.Operation != admissionv1.Update || len(last.OldObject.Raw) == 0 || objectOf(t, last.Options.Raw).GetKind() != "UpdateOptions" {
			t.Fatalf("update request: %s %s %s", last.Operation, last.OldObject.Raw, last.Options.Raw)
		}
		if old := objectOf(t, last.OldObject.Raw); old.GetLabels()["mutated"] != "yes" {
			t.Fatalf("old object: %v", old)
		}
		// The metrics as kube names them.
		code, _, body := e.k.do(t, "GET", "/metrics", "", nil)
		for _, m := range []string{`apiserver_admission_webhook_request_total{code="200",name="mutate.kapi.test",operation="CREATE",rejected="false",type="admit"}`,
			`apiserver_admission_webhook_admission_duration_seconds_count{name="mutate.kapi.test",operation="UPDATE",rejected="false",type="admit"}`} {
			if code != 200 || !strings.Contains(string(body), m) {
				t.Errorf("/metrics lacks %s", m)
			}
		}
	})

	t.Run("deny by name", func(t *testing.T) {
		e.namespace(t, "wh-deny")
		e.srv.on("/deny", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			// Creates only: the probe below deletes what it made before
			// the webhook was in force.
			if r.Operation == admissionv1.Create && strings.HasPrefix(r.Name, "forbidden") {
				return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Code: 403, Reason: metav1.StatusReasonForbidden, Message: "no forbidden names"}}
			}
			return &admissionv1.AdmissionResponse{Allowed: true}
		})
		e.validating(t, "deny.kapi.test", validatingHook("deny.kapi.test", e.srv.clientConfig("/deny"), "wh-deny"))
		var err error
		settle(t, "the validating webhook", func() bool {
			// Made before the webhook was in force, it goes again.
			e.cms("wh-deny").Delete(ctx, "forbidden-1", metav1.DeleteOptions{})
			_, err = e.cms("wh-deny").Create(ctx, cm("forbidden-1", nil), metav1.CreateOptions{})
			return err != nil
		})
		if !apierrors.IsForbidden(err) || err.Error() != `admission webhook "deny.kapi.test" denied the request: no forbidden names` {
			t.Fatalf("denied create: %v", err)
		}
		if _, err := e.cms("wh-deny").Get(ctx, "forbidden-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a denied object was stored: %v", err)
		}
		if _, err := e.cms("wh-deny").Create(ctx, cm("allowed", nil), metav1.CreateOptions{}); err != nil {
			t.Fatalf("allowed create: %v", err)
		}
		// Deletes are validated with the stored object.
		if err := e.cms("wh-deny").Delete(ctx, "allowed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		reqs := e.srv.requests("/deny")
		last := reqs[len(reqs)-1]
		if last.Operation != admissionv1.Delete || len(last.Object.Raw) != 0 || objectOf(t, last.OldObject.Raw).GetName() != "allowed" ||
			objectOf(t, last.Options.Raw).GetKind() != "DeleteOptions" {
			t.Fatalf("delete request: %s object %s old %s", last.Operation, last.Object.Raw, last.OldObject.Raw)
		}
	})

	t.Run("failure policy with the server gone", func(t *testing.T) {
		e.namespace(t, "wh-down")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gone := "https://" + ln.Addr().String() + "/gone"
		ln.Close()
		failing := validatingHook("down-fail.kapi.test", admissionregistrationv1.WebhookClientConfig{URL: &gone, CABundle: e.srv.caPEM}, "wh-down")
		failing.Rules = configMapRules(admissionregistrationv1.Create)
		failing.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"policy": "fail"}}
		ignoring := validatingHook("down-ignore.kapi.test", admissionregistrationv1.WebhookClientConfig{URL: &gone, CABundle: e.srv.caPEM}, "wh-down")
		ignoring.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"policy": "ignore"}}
		ignoring.FailurePolicy = ignore
		e.validating(t, "down.kapi.test", failing, ignoring)
		var cerr error
		settle(t, "the failing webhook", func() bool {
			e.cms("wh-down").Delete(ctx, "f", metav1.DeleteOptions{})
			_, cerr = e.cms("wh-down").Create(ctx, cm("f", map[string]string{"policy": "fail"}), metav1.CreateOptions{})
			return cerr != nil
		})
		if !apierrors.IsInternalError(cerr) || !strings.Contains(cerr.Error(), `failed calling webhook "down-fail.kapi.test"`) {
			t.Fatalf("Fail with the server down: %v", cerr)
		}
		if _, err := e.cms("wh-down").Create(ctx, cm("i", map[string]string{"policy": "ignore"}), metav1.CreateOptions{}); err != nil {
			t.Fatalf("Ignore with the server down: %v", err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		e.namespace(t, "wh-slow")
		e.srv.onRaw("/slow", func(w http.ResponseWriter, r *admissionv1.AdmissionReview) { time.Sleep(3 * time.Second) })
		slow := validatingHook("slow.kapi.test", e.srv.clientConfig("/slow"), "wh-slow")
		slow.Rules = configMapRules(admissionregistrationv1.Create)
		slow.TimeoutSeconds = ptr(int32(1))
		slow.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"policy": "fail"}}
		slowIgnored := slow
		slowIgnored.Name, slowIgnored.FailurePolicy = "slow-ignore.kapi.test", ignore
		slowIgnored.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"policy": "ignore"}}
		e.validating(t, "slow.kapi.test", slow, slowIgnored)
		var cerr error
		settle(t, "the slow webhook", func() bool {
			e.cms("wh-slow").Delete(ctx, "s", metav1.DeleteOptions{})
			_, cerr = e.cms("wh-slow").Create(ctx, cm("s", map[string]string{"policy": "fail"}), metav1.CreateOptions{})
			return cerr != nil
		})
		if !apierrors.IsInternalError(cerr) || !strings.Contains(cerr.Error(), `failed calling webhook "slow.kapi.test"`) ||
			!strings.Contains(cerr.Error(), "deadline exceeded") {
			t.Fatalf("a webhook slower than its timeout: %v", cerr)
		}
		if _, err := e.cms("wh-slow").Create(ctx, cm("i", map[string]string{"policy": "ignore"}), metav1.CreateOptions{}); err != nil {
			t.Fatalf("a slow webhook with Ignore: %v", err)
		}
		if _, err := e.cms("wh-slow").Get(ctx, "s", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a refused object was stored: %v", err)
		}
	})

	t.Run("reinvocation", func(t *testing.T) {
		e.namespace(t, "wh-reinvoke")
		// "a-first" runs first and counts its calls in an annotation;
		// "b-second" then adds a label, which calls "a-first" again.
		e.srv.on("/count", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			obj := objectOf(t, r.Object.Raw)
			n, _ := strconv.Atoi(obj.GetAnnotations()["calls"])
			if obj.GetAnnotations() == nil {
				return patchResponse(map[string]any{"op": "add", "path": "/metadata/annotations", "value": map[string]string{"calls": "1", "saw-label": fmt.Sprint(obj.GetLabels()["second"] != "")}})
			}
			return patchResponse(map[string]any{"op": "replace", "path": "/metadata/annotations/calls", "value": strconv.Itoa(n + 1)},
				map[string]any{"op": "replace", "path": "/metadata/annotations/saw-label", "value": fmt.Sprint(obj.GetLabels()["second"] != "")})
		})
		e.srv.on("/second", addLabel("second", "yes"))
		first := mutatingHook("count.kapi.test", e.srv.clientConfig("/count"), "wh-reinvoke")
		first.ReinvocationPolicy = ptr(admissionregistrationv1.IfNeededReinvocationPolicy)
		e.mutating(t, "a-first.kapi.test", first)
		e.mutating(t, "b-second.kapi.test", mutatingHook("second.kapi.test", e.srv.clientConfig("/second"), "wh-reinvoke"))
		var got *corev1.ConfigMap
		settle(t, "both webhooks", func() bool {
			e.cms("wh-reinvoke").Delete(ctx, "r", metav1.DeleteOptions{})
			var err error
			got, err = e.cms("wh-reinvoke").Create(ctx, cm("r", nil), metav1.CreateOptions{})
			return err == nil && got.Labels["second"] == "yes" && got.Annotations["calls"] != ""
		})
		if got.Annotations["calls"] != "2" || got.Annotations["saw-label"] != "true" {
			t.Fatalf("the IfNeeded webhook was not called again after the later change: %v", got.Annotations)
		}
	})

	t.Run("match conditions and selectors", func(t *testing.T) {
		e.namespace(t, "wh-match")
		e.namespace(t, "wh-other")
		hook := validatingHook("match.kapi.test", e.srv.clientConfig("/match"), "wh-match")
		hook.MatchConditions = []admissionregistrationv1.MatchCondition{
			{Name: "named-mc", Expression: `object.metadata.name.startsWith("mc-")`},
			{Name: "not-by-nobody", Expression: `request.userInfo.username != "nobody"`},
		}
		hook.ObjectSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "skip", Operator: metav1.LabelSelectorOpDoesNotExist}}}
		e.srv.on("/match", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Message: "matched " + r.Name}}
		})
		e.validating(t, "match.kapi.test", hook)
		settle(t, "the webhook with conditions", func() bool {
			e.cms("wh-match").Delete(ctx, "mc-probe", metav1.DeleteOptions{})
			_, err := e.cms("wh-match").Create(ctx, cm("mc-probe", nil), metav1.CreateOptions{})
			return err != nil
		})
		for _, c := range []struct {
			ns, name string
			labels   map[string]string
			called   bool
		}{
			{"wh-match", "mc-1", nil, true},
			{"wh-match", "other-1", nil, false},                        // matchConditions say no
			{"wh-match", "mc-2", map[string]string{"skip": ""}, false}, // objectSelector says no
			{"wh-other", "mc-3", nil, false},                           // namespaceSelector says no
		} {
			_, err := e.cms(c.ns).Create(ctx, cm(c.name, c.labels), metav1.CreateOptions{})
			if c.called != (err != nil) {
				t.Errorf("%s/%s: called %v, got %v", c.ns, c.name, c.called, err)
			}
			if c.called && !strings.Contains(fmt.Sprint(err), "matched "+c.name) {
				t.Errorf("%s/%s: %v", c.ns, c.name, err)
			}
		}
		// kube's count of the calls the conditions left out ("other-1"
		// above, and one more now).
		exclusions := `apiserver_admission_match_condition_exclusions_total{kind="webhook",name="match.kapi.test",operation="CREATE",type="validating"}`
		before, err := metricSeries(ctx, e.k.client, exclusions)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.cms("wh-match").Create(ctx, cm("other-2", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if after, err := metricSeries(ctx, e.k.client, exclusions); err != nil || before < 1 || after != before+1 {
			t.Errorf("%s: %v -> %v (%v), want one more", exclusions, before, after, err)
		}
		// Conditions that fail to evaluate (a label the object does not
		// have) refuse the request under failurePolicy Fail, as kube's
		// do: 403, the evaluation's error.
		e.srv.on("/broken-mc", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return &admissionv1.AdmissionResponse{Allowed: true}
		})
		broken := validatingHook("broken-mc.kapi.test", e.srv.clientConfig("/broken-mc"), "wh-match")
		broken.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "team", Expression: `object.metadata.labels["team"] == "x"`}}
		e.validating(t, "broken-mc.kapi.test", broken)
		settle(t, "the webhook whose conditions fail", func() bool {
			e.cms("wh-match").Delete(ctx, "bm", metav1.DeleteOptions{})
			_, err = e.cms("wh-match").Create(ctx, cm("bm", nil), metav1.CreateOptions{})
			return err != nil
		})
		if !apierrors.IsForbidden(err) || !strings.HasPrefix(err.Error(), `configmaps "bm" is forbidden: `) || !strings.Contains(err.Error(), `expression 'object.metadata.labels["team"] == "x"' resulted in error: no such key: labels`) {
			t.Errorf("conditions that fail to evaluate: %v", err)
		}
		if n := len(e.srv.requests("/broken-mc")); n != 0 {
			t.Errorf("the webhook whose conditions fail was called %d times", n)
		}
		// The evaluations, timed, and their errors, which kube's matcher
		// counts.
		for _, series := range []string{
			`apiserver_admission_match_condition_evaluation_seconds_count{kind="webhook",name="match.kapi.test",operation="CREATE",type="validating"}`,
			`apiserver_admission_match_condition_evaluation_errors_total{kind="webhook",name="broken-mc.kapi.test",operation="CREATE",type="validating"}`,
		} {
			if v, err := metricSeries(ctx, e.k.client, series); err != nil || v < 1 {
				t.Errorf("%s = %v (%v)", series, v, err)
			}
		}
	})

	t.Run("a server certificate without SANs", func(t *testing.T) {
		// Go refuses a certificate that names its host in the legacy
		// Common Name only; kube counts such failures
		// (apiserver_webhooks_x509_missing_san_total).
		e.namespace(t, "wh-cn")
		cert := selfSignedFor(t, "127.0.0.1", nil)
		srv := newAdmissionServerWith(t, &cert)
		srv.on("/cn", func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return &admissionv1.AdmissionResponse{Allowed: true}
		})
		e.validating(t, "cn-only.kapi.test", validatingHook("cn-only.kapi.test", srv.clientConfig("/cn"), "wh-cn"))
		const missingSAN = "apiserver_webhooks_x509_missing_san_total"
		before, err := metricSeries(ctx, e.k.client, missingSAN)
		if err != nil || before < 0 {
			t.Fatalf("%s: %v %v", missingSAN, before, err)
		}
		settle(t, "the webhook", func() bool {
			e.cms("wh-cn").Delete(ctx, "c", metav1.DeleteOptions{})
			_, err = e.cms("wh-cn").Create(ctx, cm("c", nil), metav1.CreateOptions{})
			return err != nil
		})
		if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `failed calling webhook "cn-only.kapi.test"`) ||
			!strings.Contains(err.Error(), "x509: certificate relies on legacy Common Name field") {
			t.Fatalf("a webhook with a Common Name only: %v", err)
		}
		if after, err := metricSeries(ctx, e.k.client, missingSAN); err != nil || after < before+1 {
			t.Errorf("%s: %v -> %v (%v)", missingSAN, before, after, err)
		}
		if n := len(srv.requests("/cn")); n != 0 {
			t.Errorf("the webhook was reached %d times", n)
		}
	})

	t.Run("dry run and side effects", func(t *testing.T) {
		e.namespace(t, "wh-dry")
		e.srv.on("/dry", addLabel("dry", "seen"))
		hook := mutatingHook("dry.kapi.test", e.srv.clientConfig("/dry"), "wh-dry")
		hook.SideEffects = noneOnDry
		e.mutating(t, "dry.kapi.test", hook)
		var got *corev1.ConfigMap
		settle(t, "the dry-run webhook", func() bool {
			var err error
			got, err = e.cms("wh-dry").Create(ctx, cm("d", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err == nil && got.Labels["dry"] == "seen"
		})
		reqs := e.srv.requests("/dry")
		if last := reqs[len(reqs)-1]; last.DryRun == nil || !*last.DryRun {
			t.Fatalf("the webhook was not told of the dry run: %+v", last.DryRun)
		}
		if _, err := e.cms("wh-dry").Get(ctx, "d", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a dry run stored the object: %v", err)
		}
		// A dry-run update, and one the webhook refuses, each call the
		// webhook once: the decision taken on the cache's copy is not
		// taken again after the read that confirms the copy.
		stored, err := e.cms("wh-dry").Create(ctx, cm("u", nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		before := len(e.srv.requests("/dry"))
		stored.Data["k"] = "dry"
		if _, err := e.cms("wh-dry").Update(ctx, stored, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatal(err)
		}
		if n := len(e.srv.requests("/dry")) - before; n != 1 {
			t.Fatalf("a dry-run update called the webhook %d times", n)
		}
		e.srv.on("/dry", func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Message: "no"}}
		})
		before = len(e.srv.requests("/dry"))
		if _, err := e.cms("wh-dry").Update(ctx, stored, metav1.UpdateOptions{}); !apierrors.IsBadRequest(err) {
			t.Fatalf("a refused update: %v", err)
		}
		if n := len(e.srv.requests("/dry")) - before; n != 1 {
			t.Fatalf("a refused update called the webhook %d times", n)
		}
	})

	t.Run("an update is seen defaulted", func(t *testing.T) {
		// A PUT without a Deployment's defaulted fields: the webhook sees
		// them, as the stored object will have them.
		e.namespace(t, "wh-defaults")
		hook := validatingHook("defaults.kapi.test", e.srv.clientConfig("/defaults"), "wh-defaults")
		hook.Rules = []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}}}
		e.validating(t, "defaults.kapi.test", hook)
		deps := e.k.client.AppsV1().Deployments("wh-defaults")
		if _, err := deps.Create(ctx, deployment("d", 1, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		const body = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","labels":{"n":"%d"}},"spec":{"replicas":1,
			"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`
		n := 0
		settle(t, "the webhook on updates", func() bool {
			n++
			code, _, _ := e.k.request(t, "PUT", "/apis/apps/v1/namespaces/wh-defaults/deployments/d", "application/json", []byte(fmt.Sprintf(body, n)))
			return code == 200 && len(e.srv.requests("/defaults")) > 0
		})
		reqs := e.srv.requests("/defaults")
		seen := objectOf(t, reqs[len(reqs)-1].Object.Raw)
		strategy, _, _ := unstructured.NestedString(seen.Object, "spec", "strategy", "type")
		history, _, _ := unstructured.NestedFieldNoCopy(seen.Object, "spec", "revisionHistoryLimit")
		if strategy != "RollingUpdate" || fmt.Sprint(history) != "10" {
			t.Errorf("the webhook saw strategy %q and revisionHistoryLimit %v, not the defaults, in %s", strategy, history, reqs[len(reqs)-1].Object.Raw)
		}
	})

	t.Run("warnings and audit annotations", func(t *testing.T) {
		e.namespace(t, "wh-warn")
		e.srv.on("/warn", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{"mind the " + r.Name}, AuditAnnotations: map[string]string{"seen": r.Name}}
		})
		e.validating(t, "warn.kapi.test", validatingHook("warn.kapi.test", e.srv.clientConfig("/warn"), "wh-warn"))
		body, _ := json.Marshal(cm("w", nil))
		settle(t, "the warning webhook", func() bool {
			e.cms("wh-warn").Delete(ctx, "w", metav1.DeleteOptions{})
			code, hdr, _ := e.k.request(t, "POST", "/api/v1/namespaces/wh-warn/configmaps", "application/json", body)
			return code == 201 && strings.Contains(strings.Join(hdr.Values("Warning"), ";"), `299 - "mind the w"`)
		})
	})

	t.Run("bad answers", func(t *testing.T) {
		e.namespace(t, "wh-bad")
		e.srv.onRaw("/garbage", func(w http.ResponseWriter, _ *admissionv1.AdmissionReview) { w.Write([]byte("{not json")) })
		e.srv.onRaw("/wrong-uid", func(w http.ResponseWriter, r *admissionv1.AdmissionReview) {
			json.NewEncoder(w).Encode(admissionv1.AdmissionReview{TypeMeta: r.TypeMeta, Response: &admissionv1.AdmissionResponse{UID: "not-the-uid", Allowed: true}})
		})
		e.srv.onRaw("/empty", func(w http.ResponseWriter, r *admissionv1.AdmissionReview) {
			json.NewEncoder(w).Encode(admissionv1.AdmissionReview{TypeMeta: r.TypeMeta})
		})
		e.srv.on("/breaks", func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return patchResponse(map[string]any{"op": "replace", "path": "/data", "value": 42})
		})
		e.srv.on("/rename", func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return patchResponse(map[string]any{"op": "replace", "path": "/metadata/name", "value": "renamed"})
		})
		e.srv.on("/bad-path", func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return patchResponse(map[string]any{"op": "remove", "path": "/no/such/field"})
		})
		var hooks []admissionregistrationv1.MutatingWebhook
		cases := map[string]string{
			"garbage": "failed to call webhook", "wrong-uid": `expected response.uid=`, "empty": "webhook response was absent",
			"breaks": "breaks the object", "rename": "attempted to change the object's name", "bad-path": "does not apply",
		}
		for path := range cases {
			h := mutatingHook(path+".kapi.test", e.srv.clientConfig("/"+path), "wh-bad")
			h.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"case": path}}
			hooks = append(hooks, h)
		}
		e.mutating(t, "bad.kapi.test", hooks...)
		settle(t, "the bad webhooks", func() bool {
			e.cms("wh-bad").Delete(ctx, "probe", metav1.DeleteOptions{})
			_, err := e.cms("wh-bad").Create(ctx, cm("probe", map[string]string{"case": "garbage"}), metav1.CreateOptions{})
			return apierrors.IsInternalError(err)
		})
		for path, want := range cases {
			_, err := e.cms("wh-bad").Create(ctx, cm(path, map[string]string{"case": path}), metav1.CreateOptions{})
			if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), path+".kapi.test") || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v (want a 500 naming the webhook and %q)", path, err, want)
			}
			if _, err := e.cms("wh-bad").Get(ctx, path, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s: the object was stored: %v", path, err)
			}
		}
	})

	t.Run("bad configurations are refused", func(t *testing.T) {
		c := e.k.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
		good := validatingHook("good.kapi.test", e.srv.clientConfig("/x"), "nowhere")
		for _, bc := range []struct {
			name   string
			change func(*admissionregistrationv1.ValidatingWebhook)
			field  string
		}{
			{"cel", func(w *admissionregistrationv1.ValidatingWebhook) {
				w.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "c", Expression: "object.metadata.name +"}}
			}, "webhooks[0].matchConditions[0].expression"},
			{"cel-type", func(w *admissionregistrationv1.ValidatingWebhook) {
				w.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "c", Expression: "object.metadata.name"}}
			}, "webhooks[0].matchConditions[0].expression"},
			{"timeout", func(w *admissionregistrationv1.ValidatingWebhook) { w.TimeoutSeconds = ptr(int32(31)) }, "webhooks[0].timeoutSeconds"},
			{"side-effects", func(w *admissionregistrationv1.ValidatingWebhook) { w.SideEffects = nil }, "webhooks[0].sideEffects"},
			{"http", func(w *admissionregistrationv1.ValidatingWebhook) { w.ClientConfig.URL = ptr("http://127.0.0.1:1/x") }, "webhooks[0].clientConfig.url"},
			{"name", func(w *admissionregistrationv1.ValidatingWebhook) { w.Name = "short" }, "webhooks[0].name"},
			{"too-many", func(w *admissionregistrationv1.ValidatingWebhook) {
				for i := 0; i < 65; i++ {
					w.MatchConditions = append(w.MatchConditions, admissionregistrationv1.MatchCondition{Name: fmt.Sprintf("c%d", i), Expression: "true"})
				}
			}, "webhooks[0].matchConditions"},
		} {
			w := *good.DeepCopy()
			bc.change(&w)
			_, err := c.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "bad-" + bc.name},
				Webhooks: []admissionregistrationv1.ValidatingWebhook{w}}, metav1.CreateOptions{})
			var se *apierrors.StatusError
			if !apierrors.IsInvalid(err) || !errors.As(err, &se) || se.ErrStatus.Details == nil || len(se.ErrStatus.Details.Causes) == 0 ||
				se.ErrStatus.Details.Causes[0].Field != bc.field {
				t.Errorf("%s: %v (want 422 on %s)", bc.name, err, bc.field)
			}
		}
		// Defaults as kube's: what a client leaves out.
		created, err := c.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "defaults"},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "d.kapi.test", ClientConfig: e.srv.clientConfig("/x"), SideEffects: none,
				AdmissionReviewVersions: v1Reviews, Rules: configMapRules()}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Delete(ctx, "defaults", metav1.DeleteOptions{})
		d := created.Webhooks[0]
		if *d.FailurePolicy != admissionregistrationv1.Fail || *d.MatchPolicy != admissionregistrationv1.Equivalent || *d.TimeoutSeconds != 10 ||
			d.NamespaceSelector == nil || d.ObjectSelector == nil || *d.Rules[0].Scope != admissionregistrationv1.AllScopes {
			t.Fatalf("defaults: %+v", d)
		}
	})

	t.Run("configurations are exempt", func(t *testing.T) {
		// A webhook that refuses everything cannot keep itself from
		// being removed.
		e.srv.on("/all", func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return &admissionv1.AdmissionResponse{Allowed: false}
		})
		all := admissionregistrationv1.ValidatingWebhook{Name: "all.kapi.test", ClientConfig: e.srv.clientConfig("/all"), SideEffects: none,
			AdmissionReviewVersions: v1Reviews, FailurePolicy: fail, Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"*/*"}}}}}
		c := e.k.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
		if _, err := c.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "all.kapi.test"}, Webhooks: []admissionregistrationv1.ValidatingWebhook{all}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var err error
		n := 0
		probe := func() error {
			n++
			_, err := e.cms("default").Create(ctx, cm(fmt.Sprintf("x-%d", n), nil), metav1.CreateOptions{})
			return err
		}
		settle(t, "the refuse-all webhook", func() bool {
			err = probe()
			return err != nil
		})
		if err.Error() != `admission webhook "all.kapi.test" denied the request without explanation` {
			t.Fatalf("refusal without a message: %v", err)
		}
		if err := c.Delete(ctx, "all.kapi.test", metav1.DeleteOptions{}); err != nil {
			t.Fatalf("the configuration could not be deleted: %v", err)
		}
		settle(t, "the removal", func() bool { return probe() == nil })
	})
}

// TestAdmissionWebhookService: a webhook given as a Service is called at a
// ready endpoint of its EndpointSlices (loopback here, which
// --proxy-allow-loopback allows), with the certificate checked for
// <service>.<namespace>.svc; a kapi without the flag refuses loopback
// and link-local endpoint addresses, as kube-apiserver's validation does.
func TestAdmissionWebhookService(t *testing.T) {
	const svc = "wh-svc"
	srv := newAdmissionServer(t, svc+".default.svc")
	srv.on("/svc", addLabel("via", "service"))
	_, portText, _ := net.SplitHostPort(srv.srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)
	ctx := context.Background()
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("https"), Port: ptr(int32(port))}},
	}
	k := startKapi(t, func(c *server.Config) { c.ProxyAllowLoopback = true })
	if _, err := k.client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: svc},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(int32(port))}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := &webhookEnv{t: t, k: k, srv: srv}
	e.namespace(t, "wh-svc")
	e.mutating(t, "svc.kapi.test", mutatingHook("svc.kapi.test", admissionregistrationv1.WebhookClientConfig{
		Service: &admissionregistrationv1.ServiceReference{Namespace: "default", Name: svc, Path: ptr("/svc")}, CABundle: srv.caPEM}, "wh-svc"))
	var last error
	settle(t, "the webhook behind the Service", func() bool {
		k.client.CoreV1().ConfigMaps("wh-svc").Delete(ctx, "s", metav1.DeleteOptions{})
		got, err := k.client.CoreV1().ConfigMaps("wh-svc").Create(ctx, cm("s", nil), metav1.CreateOptions{})
		if last = err; err == nil && got.Labels["via"] != "service" {
			last = fmt.Errorf("labels %v", got.Labels)
		}
		return last == nil
	})
	if last != nil {
		t.Fatal(last)
	}

	// Without the flag, a loopback endpoint is refused as kube-apiserver
	// refuses it, and so is an Endpoints address.
	refused := startKapi(t)
	_, err := refused.client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`) {
		t.Fatalf("a loopback EndpointSlice without --proxy-allow-loopback: %v", err)
	}
	_, err = refused.client.CoreV1().Endpoints("default").Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "169.254.1.1"}}, Ports: []corev1.EndpointPort{{Port: 443}}}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "link-local") {
		t.Fatalf("a link-local Endpoints address without --proxy-allow-loopback: %v", err)
	}
}

// asUser is a client of kapi for user (impersonated by the admin).
func asUser(k *kapi, user string, groups ...string) kubernetes.Interface {
	cfg := rest.CopyConfig(k.rest)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return kubernetes.NewForConfigOrDie(cfg)
}
