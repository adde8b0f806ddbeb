package admission

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"kapi/internal/request"
)

func TestPodSecurity(t *testing.T) {
	ns := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	nss := objects("namespaces",
		ns("open", nil),
		ns("strict", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}),
		ns("baseline", map[string]string{"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.30"}),
		ns("warned", map[string]string{"pod-security.kubernetes.io/warn": "restricted"}),
	)
	privileged := func(ns string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "x"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "i", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}}}
	}
	pods := objects("pods", privileged("open"))
	p, err := NewPodSecurity(nil, nss, pods)
	if err != nil {
		t.Fatal(err)
	}
	deployment := func(ns string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "d"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: privileged(ns).Spec}}}
	}
	restrictedOK := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "strict", Name: "ok"}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "c", Image: "i", SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}}
	deployments := row("apps/v1/deployments", true)
	for _, tc := range []struct {
		name     string
		a        *Attributes
		want     string
		warnings []string
	}{
		{"privileged namespace", attrs(Create, podsRow, "", privileged("open"), nil), "", nil},
		{"restricted refuses", attrs(Create, podsRow, "", privileged("strict"), nil),
			`pods "x" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`, nil},
		{"restricted admits a restricted pod", attrs(Create, podsRow, "", restrictedOK, nil), "", nil},
		{"baseline at a version", attrs(Create, podsRow, "", privileged("baseline"), nil),
			`pods "x" is forbidden: violates PodSecurity "baseline:v1.30": privileged (container "c" must not set securityContext.privileged=true)`, nil},
		{"status is not checked", attrs(Update, podsRow, "status", privileged("strict"), privileged("strict")), "", nil},
		{"warn", attrs(Create, podsRow, "", privileged("warned"), nil), "",
			[]string{`would violate PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true)`}},
		// warn follows enforce when it is not set.
		{"a deployment is warned, not refused", attrs(Create, deployments, "", deployment("strict"), nil), "",
			[]string{`would violate PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false`}},
		{"a deployment in a warn namespace", attrs(Create, deployments, "", deployment("warned"), nil), "",
			[]string{`would violate PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true)`}},
		{"invalid label on a namespace", attrs(Create, namespacesRow, "", ns("bad", map[string]string{"pod-security.kubernetes.io/enforce": "strictest"}), nil),
			`Namespace "bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strictest": must be one of privileged, baseline, restricted`, nil},
		{"tightening a namespace warns of its pods", attrs(Update, namespacesRow, "", ns("open", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}), ns("open", nil)), "",
			[]string{`existing pods in namespace "open" violate the new PodSecurity enforce level "baseline:latest"`, `x: privileged`}},
		{"config maps are not looked at", attrs(Create, row("v1/configmaps", true), "", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "strict", Name: "c"}}, nil), "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			ctx := request.WithWarnings(context.Background(), func(w string) { got = append(got, w) })
			tc.a.Kind = tc.a.Resource.GVR().GroupVersion().WithKind(map[string]string{"pods": "Pod", "namespaces": "Namespace", "deployments": "Deployment", "configmaps": "ConfigMap"}[tc.a.Resource.Name])
			err := p.Validate(ctx, tc.a)
			if tc.want != "" {
				if err == nil || err.Error() != tc.want {
					t.Fatalf("error:\n%v\nwant:\n%s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.warnings) {
				t.Fatalf("warnings %q, want %q", got, tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.Contains(got[i], w) {
					t.Fatalf("warning %q, want %q", got[i], w)
				}
			}
		})
	}
}
