package bench

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
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The admission benchmark (kapi-bench --admission): what webhooks cost a
// write. --clients clients create --objects ConfigMaps in a fresh
// namespace per scenario and round, the scenarios taking turns over three
// rounds (medians):
//
//   - none: no webhook configuration at all;
//   - unmatched: 100 webhook configurations (50 mutating, 50 validating)
//     whose rules name other resources; the goal is no measurable cost;
//   - webhook: one validating webhook that takes every ConfigMap of the
//     namespace, served over HTTPS on loopback by the benchmark process
//     (it answers "allowed" at once); the goal is at least 60% of none;
//   - policy: one ValidatingAdmissionPolicy of three CEL rules that takes
//     every ConfigMap of the namespace.

// admissionBench is the state of one admission benchmark run.
type admissionBench struct {
	*bench
	url    string
	caPEM  []byte
	served atomic.Int64
}

func (b *bench) runAdmission(ctx context.Context) error {
	ab := &admissionBench{bench: b}
	stop, err := ab.serve()
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(b.out, "kapi-bench --admission: %d ConfigMaps of %d bytes per scenario and round, %d clients, 3 rounds\n\n",
		b.cfg.Objects, b.cfg.ObjectSize, b.cfg.Clients)
	b.data = strings.Repeat("x", b.cfg.ObjectSize)
	if err := ab.configure(ctx); err != nil {
		return err
	}
	scenarios := []string{"none", "unmatched", "webhook", "policy"}
	results := map[string][]float64{}
	for r := 0; r < 3; r++ {
		// Each round starts with another scenario, so that none gains
		// from its place (a warmer kapi, a smaller etcd).
		for j := range scenarios {
			s := scenarios[(j+r)%len(scenarios)]
			ns := fmt.Sprintf("adm-%s-%d", s, r)
			labels := map[string]string{"bench": s}
			if _, err := b.kapi.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{}); err != nil {
				return err
			}
			before := ab.served.Load()
			var rate float64
			err := b.profiled(ctx, nil, "admission-"+s, time.Second, func() error {
				var err error
				rate, err = parallel(b.cfg.Objects, b.cfg.Clients, func(i int) error {
					_, err := b.kapi.CoreV1().ConfigMaps(ns).Create(ctx, b.configMap(fmt.Sprintf("o-%d", i), nil), metav1.CreateOptions{})
					return err
				})
				return err
			})
			if err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
			calls := ab.served.Load() - before
			if want := int64(0); s != "webhook" && calls != want {
				return fmt.Errorf("%s: the webhook was called %d times", s, calls)
			}
			if s == "webhook" && calls < int64(b.cfg.Objects) {
				return fmt.Errorf("webhook: called %d times for %d creates", calls, b.cfg.Objects)
			}
			results[s] = append(results[s], rate)
		}
	}
	base := medianOf(results["none"])
	fmt.Fprintf(b.out, "%-44s %10.0f creates/s\n", "creates, no webhook configuration", base)
	for _, s := range []struct{ name, label, goal string }{
		{"unmatched", "creates, 100 configurations matching nothing", "no measurable cost"},
		{"webhook", "creates, one matching validating webhook", ">= 0.60 of none"},
		{"policy", "creates, one policy of three CEL rules", "reported"},
	} {
		v := medianOf(results[s.name])
		fmt.Fprintf(b.out, "%-44s %10.0f creates/s  %.2f of none  (goal %s; rounds %v)\n", s.label, v, v/base, s.goal, rounded(results[s.name]))
	}
	fmt.Fprintf(b.out, "%-44s rounds %v\n", "(no webhook configuration)", rounded(results["none"]))
	if rss, err := procMB(b.pid, "VmHWM"); err == nil {
		fmt.Fprintf(b.out, "kapi peak RSS %.0f MB\n", rss)
	}
	return nil
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func rounded(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x + 0.5)
	}
	return out
}

// configure writes the 100 configurations that match nothing and the one
// webhook, and waits until the webhook is in force.
func (ab *admissionBench) configure(ctx context.Context) error {
	none := admissionregistrationv1.SideEffectClassNone
	cc := admissionregistrationv1.WebhookClientConfig{URL: &ab.url, CABundle: ab.caPEM}
	other := func(i int) []admissionregistrationv1.RuleWithOperations {
		return []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{fmt.Sprintf("group%d.bench.kapi", i)}, APIVersions: []string{"*"}, Resources: []string{"*"}}}}
	}
	reg := ab.kapi.AdmissionregistrationV1()
	for i := 0; i < 50; i++ {
		name := fmt.Sprintf("unmatched-%d.bench.kapi", i)
		if _, err := reg.MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: name, ClientConfig: cc, Rules: other(i), SideEffects: &none, AdmissionReviewVersions: []string{"v1"}}}},
			metav1.CreateOptions{}); err != nil {
			return err
		}
		if _, err := reg.ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: name, ClientConfig: cc, Rules: other(i), SideEffects: &none, AdmissionReviewVersions: []string{"v1"}}}},
			metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	const name = "allow.bench.kapi"
	if _, err := reg.ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: name, ClientConfig: cc, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"bench": "webhook"}},
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}}}},
		metav1.CreateOptions{}); err != nil {
		return err
	}
	pol := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "three-rules.bench.kapi"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}}},
			Validations: []admissionregistrationv1.Validation{
				{Expression: `object.metadata.name.startsWith("o-") || object.metadata.name.startsWith("p-")`},
				{Expression: `!has(object.data) || size(object.data) <= 10`},
				{Expression: `!has(object.metadata.labels) || !("forbidden" in object.metadata.labels)`},
			}}}
	if _, err := reg.ValidatingAdmissionPolicies().Create(ctx, pol, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := reg.ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "three-rules.bench.kapi"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: pol.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"bench": "policy"}}}}},
		metav1.CreateOptions{}); err != nil {
		return err
	}
	// In force once a probe is seen.
	if _, err := ab.kapi.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "adm-probe",
		Labels: map[string]string{"bench": "webhook"}}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	i := 0
	if err := waitFor(30*time.Second, func() bool {
		before := ab.served.Load()
		i++
		_, err := ab.kapi.CoreV1().ConfigMaps("adm-probe").Create(ctx, ab.configMap(fmt.Sprintf("p-%d", i), nil), metav1.CreateOptions{})
		return err == nil && ab.served.Load() > before
	}); err != nil {
		return fmt.Errorf("the webhook did not take effect: %w", err)
	}
	// The policy is in force once it refuses a name its first rule does
	// not allow.
	if _, err := ab.kapi.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "adm-policy-probe",
		Labels: map[string]string{"bench": "policy"}}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := waitFor(30*time.Second, func() bool {
		i++
		_, err := ab.kapi.CoreV1().ConfigMaps("adm-policy-probe").Create(ctx, ab.configMap(fmt.Sprintf("x-%d", i), nil), metav1.CreateOptions{})
		return apierrors.IsInvalid(err)
	}); err != nil {
		return fmt.Errorf("the policy did not take effect: %w", err)
	}
	return nil
}

// serve starts the benchmark's webhook: HTTPS (HTTP/2) on loopback,
// allowing everything.
func (ab *admissionBench) serve() (stop func(), err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	ab.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		review := &admissionv1.AdmissionReview{}
		if err := json.NewDecoder(r.Body).Decode(review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		ab.served.Add(1)
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(review)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, NextProtos: []string{"h2", "http/1.1"}}}
	go srv.ServeTLS(ln, "", "")
	ab.url = "https://" + ln.Addr().String() + "/validate"
	return func() { srv.Close() }, nil
}
