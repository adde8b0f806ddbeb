package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// warningCollector keeps the Warning headers a client receives.
type warningCollector struct {
	mu   sync.Mutex
	seen []string
}

func (w *warningCollector) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warningCollector) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.seen
	w.seen = nil
	return out
}

// TestAdmissionBuiltin: kube-apiserver's built-in admission plugins, on
// by default, in one kapi. It allows privileged containers
// (--allow-privileged), for PodSecurity to judge them.
func TestAdmissionBuiltin(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.AllowPrivileged = true })
	ctx := context.Background()
	warnings := &warningCollector{}
	cfg := rest.CopyConfig(k.rest)
	cfg.WarningHandler = warnings
	c := kubernetes.NewForConfigOrDie(cfg)

	// newNamespace makes a namespace, and waits for the default service
	// account kapi's controller gives it.
	newNamespace := func(t *testing.T, name string, labels map[string]string) {
		t.Helper()
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := waitUntil(10*time.Second, func() bool {
			_, err := c.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
			return err == nil
		}); err != nil {
			t.Fatalf("namespace %s has no default service account: %v", name, err)
		}
	}
	pod := func(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		for _, m := range mutate {
			m(p)
		}
		return p
	}

	t.Run("immortal namespaces", func(t *testing.T) {
		err := c.CoreV1().Namespaces().Delete(ctx, "default", metav1.DeleteOptions{})
		if !apierrors.IsForbidden(err) || err.Error() != `namespaces "default" is forbidden: this namespace may not be deleted` {
			t.Fatalf("deleting default: %v", err)
		}
	})

	t.Run("service account", func(t *testing.T) {
		newNamespace(t, "sa", nil)
		got, err := c.CoreV1().Pods("sa").Create(ctx, pod("p"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.ServiceAccountName != "default" || len(got.Spec.Volumes) != 1 || !strings.HasPrefix(got.Spec.Volumes[0].Name, "kube-api-access-") ||
			got.Spec.Volumes[0].Projected == nil || len(got.Spec.Volumes[0].Projected.Sources) != 3 {
			t.Fatalf("pod spec: %+v", got.Spec)
		}
		m := got.Spec.Containers[0].VolumeMounts
		if len(m) != 1 || m[0].Name != got.Spec.Volumes[0].Name || m[0].MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" || !m[0].ReadOnly {
			t.Fatalf("mounts: %+v", m)
		}
		_, err = c.CoreV1().Pods("sa").Create(ctx, pod("q", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "nobody" }), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || err.Error() != `pods "q" is forbidden: error looking up service account sa/nobody: serviceaccount "nobody" not found` {
			t.Fatalf("unknown service account: %v", err)
		}
		// The old field alone names the account as well (kube's
		// conversion), and is written out as serviceAccountName.
		_, err = c.CoreV1().Pods("sa").Create(ctx, pod("r", func(p *corev1.Pod) { p.Spec.DeprecatedServiceAccount = "nobody" }), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || err.Error() != `pods "r" is forbidden: error looking up service account sa/nobody: serviceaccount "nobody" not found` {
			t.Fatalf("unknown service account in spec.serviceAccount: %v", err)
		}
		if got.Spec.DeprecatedServiceAccount != "default" {
			t.Errorf("spec.serviceAccount of a pod given the default account: %q", got.Spec.DeprecatedServiceAccount)
		}
	})

	t.Run("pod security", func(t *testing.T) {
		newNamespace(t, "psa", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
		_, err := c.CoreV1().Pods("psa").Create(ctx, pod("x", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
		}), metav1.CreateOptions{})
		want := `pods "x" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), ` +
			`allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ` +
			`unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ` +
			`runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ` +
			`seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Fatalf("privileged pod:\n%v\nwant:\n%s", err, want)
		}

		newNamespace(t, "psa-warn", map[string]string{"pod-security.kubernetes.io/warn": "baseline"})
		warnings.take()
		if _, err := c.CoreV1().Pods("psa-warn").Create(ctx, pod("x", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
		}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if w := warnings.take(); len(w) != 1 || w[0] != `would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)` {
			t.Fatalf("warnings: %q", w)
		}
		// kube's metrics of the evaluations (the process's: other tests'
		// kapis count too, so these are at least this test's).
		for labels, what := range map[string]string{
			`decision="deny",mode="enforce",policy_level="restricted",policy_version="latest",request_operation="create",resource="pod",subresource=""`: "the refusal",
			`decision="deny",mode="warn",policy_level="baseline",policy_version="latest",request_operation="create",resource="pod",subresource=""`:      "the warning",
		} {
			if v, err := metric(ctx, k.client, "pod_security_evaluations_total", labels); err != nil || v < 1 {
				t.Errorf("pod_security_evaluations_total for %s: %v (%v)", what, v, err)
			}
		}
	})

	t.Run("priority", func(t *testing.T) {
		newNamespace(t, "prio", nil)
		if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := c.CoreV1().Pods("prio").Create(ctx, pod("p", func(p *corev1.Pod) { p.Spec.PriorityClassName = "high" }), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Priority == nil || *got.Spec.Priority != 1000 || got.Spec.PreemptionPolicy == nil || *got.Spec.PreemptionPolicy != corev1.PreemptLowerPriority {
			t.Fatalf("priority %v, preemption policy %v", got.Spec.Priority, got.Spec.PreemptionPolicy)
		}
		_, err = c.CoreV1().Pods("prio").Create(ctx, pod("q", func(p *corev1.Pod) { p.Spec.PriorityClassName = "nope" }), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || err.Error() != `pods "q" is forbidden: no PriorityClass with name nope was found` {
			t.Fatalf("unknown class: %v", err)
		}
		// The system classes exist from the start, and their prefix is
		// theirs alone.
		for name, value := range map[string]int32{"system-node-critical": 2000001000, "system-cluster-critical": 2000000000} {
			pc, err := c.SchedulingV1().PriorityClasses().Get(ctx, name, metav1.GetOptions{})
			if err != nil || pc.Value != value || pc.Description == "" {
				t.Errorf("system priority class %s: %v %+v", name, err, pc)
			}
		}
		_, err = c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-foo"}, Value: 1}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "priority class names with 'system-' prefix are reserved for system use only") {
			t.Errorf("a class with the system- prefix: %v", err)
		}
	})

	t.Run("default tolerations", func(t *testing.T) {
		newNamespace(t, "tol", nil)
		got, err := c.CoreV1().Pods("tol").Create(ctx, pod("p"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, tl := range got.Spec.Tolerations {
			if tl.Operator == corev1.TolerationOpExists && tl.Effect == corev1.TaintEffectNoExecute && tl.TolerationSeconds != nil && *tl.TolerationSeconds == 300 {
				seen[tl.Key] = true
			}
		}
		if !seen["node.kubernetes.io/not-ready"] || !seen["node.kubernetes.io/unreachable"] || len(got.Spec.Tolerations) != 2 {
			t.Fatalf("tolerations: %+v", got.Spec.Tolerations)
		}
	})

	t.Run("new nodes are not ready", func(t *testing.T) {
		got, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.Taints) != 1 || got.Spec.Taints[0].Key != "node.kubernetes.io/not-ready" || got.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule {
			t.Fatalf("taints: %+v", got.Spec.Taints)
		}
	})

	t.Run("storage", func(t *testing.T) {
		newNamespace(t, "store", nil)
		if _, err := c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard",
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "example.com/disk"}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
		var got *corev1.PersistentVolumeClaim
		// The class reaches the cache the plugin reads a moment later.
		if err := waitUntil(10*time.Second, func() bool {
			got, _ = c.CoreV1().PersistentVolumeClaims("store").Create(ctx, claim, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return got != nil && got.Spec.StorageClassName != nil
		}); err != nil {
			t.Fatalf("no default class: %+v", got)
		}
		if *got.Spec.StorageClassName != "standard" || len(got.Finalizers) != 1 || got.Finalizers[0] != "kubernetes.io/pvc-protection" {
			t.Fatalf("claim: class %q finalizers %v", *got.Spec.StorageClassName, got.Finalizers)
		}
	})

	t.Run("certificate subject restriction", func(t *testing.T) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "root", Organization: []string{"system:masters"}}}, key)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "root"},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
				SignerName: certificatesv1.KubeAPIServerClientSignerName, Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}}, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || err.Error() != `certificatesigningrequests.certificates.k8s.io "root" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed` {
			t.Fatalf("system:masters CSR: %v", err)
		}
	})
}
