package admission

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestServiceAccount(t *testing.T) {
	sas := objects("serviceaccounts",
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "default"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "quiet"}, AutomountServiceAccountToken: ptr.To(false)},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "strict",
			Annotations: map[string]string{EnforceMountableSecretsAnnotation: "true"}},
			Secrets: []corev1.ObjectReference{{Name: "allowed"}}},
	)
	p := &ServiceAccount{ServiceAccounts: sas, Attempts: 2, Pause: time.Millisecond,
		generateName: func(prefix string) string { return prefix + "abcde" }}
	newPod := func(ns string, mutate ...func(*corev1.Pod)) *corev1.Pod {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p"}, Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init"}},
			Containers:     []corev1.Container{{Name: "a"}, {Name: "b"}}}}
		for _, m := range mutate {
			m(pod)
		}
		return pod
	}
	mount := corev1.VolumeMount{Name: "kube-api-access-abcde", ReadOnly: true, MountPath: DefaultAPITokenMountPath}

	t.Run("defaults and mounts", func(t *testing.T) {
		pod := newPod("ns")
		if err := p.Admit(context.Background(), attrs(Create, podsRow, "", pod, nil)); err != nil {
			t.Fatal(err)
		}
		if pod.Spec.ServiceAccountName != "default" {
			t.Fatalf("serviceAccountName %q", pod.Spec.ServiceAccountName)
		}
		if len(pod.Spec.Volumes) != 1 || pod.Spec.Volumes[0].Name != "kube-api-access-abcde" || !reflect.DeepEqual(pod.Spec.Volumes[0].Projected, TokenVolumeSource()) {
			t.Fatalf("volumes %+v", pod.Spec.Volumes)
		}
		src := pod.Spec.Volumes[0].Projected
		if *src.DefaultMode != 0644 || *src.Sources[0].ServiceAccountToken.ExpirationSeconds != 3607 || src.Sources[0].ServiceAccountToken.Path != "token" ||
			src.Sources[1].ConfigMap.Name != "kube-root-ca.crt" || src.Sources[1].ConfigMap.Items[0].Key != "ca.crt" ||
			src.Sources[2].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.namespace" {
			t.Fatalf("token volume %+v", src)
		}
		for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
			if !reflect.DeepEqual(c.VolumeMounts, []corev1.VolumeMount{mount}) {
				t.Fatalf("container %s mounts %+v", c.Name, c.VolumeMounts)
			}
		}
		if !reflect.DeepEqual(pod.Spec.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "pull"}}) {
			t.Fatalf("imagePullSecrets %+v", pod.Spec.ImagePullSecrets)
		}
	})
	t.Run("an existing mount stays", func(t *testing.T) {
		own := corev1.VolumeMount{Name: "mine", MountPath: DefaultAPITokenMountPath}
		pod := newPod("ns", func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{own}
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "mine"}}
		})
		if err := p.Admit(context.Background(), attrs(Create, podsRow, "", pod, nil)); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(pod.Spec.Containers[0].VolumeMounts, []corev1.VolumeMount{own}) || !reflect.DeepEqual(pod.Spec.Containers[1].VolumeMounts, []corev1.VolumeMount{mount}) {
			t.Fatalf("mounts %+v", pod.Spec.Containers)
		}
		if len(pod.Spec.Volumes) != 1 || pod.Spec.ImagePullSecrets[0].Name != "mine" {
			t.Fatalf("pod %+v", pod.Spec)
		}
	})
	t.Run("every container mounted already", func(t *testing.T) {
		pod := newPod("ns", func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Spec.Containers = p.Spec.Containers[:1]
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "mine", MountPath: DefaultAPITokenMountPath}}
		})
		if err := p.Admit(context.Background(), attrs(Create, podsRow, "", pod, nil)); err != nil || len(pod.Spec.Volumes) != 0 {
			t.Fatalf("%v %+v", err, pod.Spec.Volumes)
		}
	})
	t.Run("automount off", func(t *testing.T) {
		for _, pod := range []*corev1.Pod{
			newPod("ns", func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = ptr.To(false) }),
			newPod("ns", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "quiet" }),
		} {
			if err := p.Admit(context.Background(), attrs(Create, podsRow, "", pod, nil)); err != nil || len(pod.Spec.Volumes) != 0 || len(pod.Spec.Containers[0].VolumeMounts) != 0 {
				t.Fatalf("%v %+v", err, pod.Spec)
			}
		}
		// The pod's word wins over its service account's.
		pod := newPod("ns", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "quiet"
			p.Spec.AutomountServiceAccountToken = ptr.To(true)
		})
		if err := p.Admit(context.Background(), attrs(Create, podsRow, "", pod, nil)); err != nil || len(pod.Spec.Volumes) != 1 {
			t.Fatalf("%v %+v", err, pod.Spec)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			op   Operation
			sub  string
			pod  *corev1.Pod
			want string
		}{
			{"missing default", Create, "", newPod("empty"), `pods "p" is forbidden: error looking up service account empty/default: serviceaccount "default" not found`},
			{"missing named", Create, "", newPod("ns", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "x" }), `error looking up service account ns/x: serviceaccount "x" not found`},
			{"mirror with a service account", Create, "", newPod("ns", func(p *corev1.Pod) {
				p.Annotations = map[string]string{MirrorPodAnnotation: "x"}
				p.Spec.ServiceAccountName = "default"
			}), "a mirror pod may not reference service accounts"},
			{"mirror with a secret", Create, "", newPod("ns", func(p *corev1.Pod) {
				p.Annotations = map[string]string{MirrorPodAnnotation: "x"}
				p.Spec.Containers[1].Env = []corev1.EnvVar{{Name: "E", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}}
			}), "a mirror pod may not reference secrets"},
			{"mirror with a token projection", Create, "", newPod("ns", func(p *corev1.Pod) {
				p.Annotations = map[string]string{MirrorPodAnnotation: "x"}
				p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}}}
			}), "a mirror pod may not use ServiceAccountToken volume projections"},
			{"mirror left alone", Create, "", newPod("empty", func(p *corev1.Pod) { p.Annotations = map[string]string{MirrorPodAnnotation: "x"} }), ""},
			{"secret volume not listed", Create, "", newPod("ns", func(p *corev1.Pod) {
				p.Spec.ServiceAccountName = "strict"
				p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "other"}}}}
			}), `volume with secret.secretName="other" is not allowed because service account strict does not reference that secret`},
			{"envFrom not listed", Create, "", newPod("ns", func(p *corev1.Pod) {
				p.Spec.ServiceAccountName = "strict"
				p.Spec.InitContainers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}}}
			}), `init container init with envFrom referencing secret.secretName="other" is not allowed because service account strict does not reference that secret`},
			{"listed secret", Create, "", newPod("ns", func(p *corev1.Pod) {
				p.Spec.ServiceAccountName = "strict"
				p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "allowed"}}}}
			}), ""},
			{"ephemeral container secret", Update, "ephemeralcontainers", newPod("ns", func(p *corev1.Pod) {
				p.Spec.ServiceAccountName = "strict"
				p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug",
					Env: []corev1.EnvVar{{Name: "E", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}}}}}}}
			}), `ephemeral container debug with envVar E referencing secret.secretName="other" is not allowed`},
			{"update is not looked at", Update, "", newPod("empty"), ""},
			{"status is not looked at", Create, "status", newPod("empty"), ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var old *corev1.Pod
				if tc.op == Update {
					old = tc.pod.DeepCopy()
				}
				a := attrs(tc.op, podsRow, tc.sub, tc.pod, nil)
				a.OldObject = old
				err := p.Admit(context.Background(), a)
				if err == nil {
					err = p.Validate(context.Background(), a)
				}
				code := int32(403)
				if tc.want == "" {
					code = 0
				}
				wantErr(t, err, tc.want, code)
			})
		}
	})
	t.Run("default looked up again", func(t *testing.T) {
		empty := objects("serviceaccounts")
		q := &ServiceAccount{ServiceAccounts: empty, Attempts: 3, Pause: time.Millisecond}
		_ = q.Admit(context.Background(), attrs(Create, podsRow, "", newPod("ns"), nil))
		if empty.gets != 3 {
			t.Fatalf("%d lookups of default, want 3", empty.gets)
		}
		empty.gets = 0
		_ = q.Admit(context.Background(), attrs(Create, podsRow, "", newPod("ns", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "x" }), nil))
		if empty.gets != 1 {
			t.Fatalf("%d lookups of x, want 1", empty.gets)
		}
	})
	t.Run("generated volume name", func(t *testing.T) {
		q := &ServiceAccount{ServiceAccounts: sas}
		pod := newPod("ns")
		if err := q.Admit(context.Background(), attrs(Create, podsRow, "", pod, nil)); err != nil {
			t.Fatal(err)
		}
		if n := pod.Spec.Volumes[0].Name; len(n) != len("kube-api-access-")+5 || n[:16] != "kube-api-access-" {
			t.Fatalf("volume name %q", n)
		}
	})
}
