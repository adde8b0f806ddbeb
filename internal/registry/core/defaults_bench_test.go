package core

import (
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// BenchmarkPodDefaultsOnRead is what defaulting adds to each Pod read
// from etcd (a watch cache filling, every watch event): the decode of a
// Pod as a Deployment makes them (kapi-bench --large's), stored with its
// defaults, alone and then with the row's Default.
func BenchmarkPodDefaultsOnRead(b *testing.B) {
	var env []corev1.EnvVar
	for k := range 8 {
		env = append(env, corev1.EnvVar{Name: "SETTING_" + strconv.Itoa(k), Value: "value-of-setting-" + strconv.Itoa(k)})
	}
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}}
	container := func(name string) corev1.Container {
		return corev1.Container{Name: name, Image: "registry.example.com/team/" + name + ":1.0", Env: env, Resources: res,
			LivenessProbe: probe, ReadinessProbe: probe, Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-1", Namespace: "large-1", Labels: map[string]string{"app": "web", "pod-template-hash": "5d8f9c7b6"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{container("app"), container("sidecar")}, NodeName: "node-1",
			Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}}}},
	}
	podHooks.PrepareCreate(pod)
	data, err := pod.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	for _, withDefaults := range []bool{false, true} {
		name := "decode"
		if withDefaults {
			name = "decode+default"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var p corev1.Pod
				if err := p.Unmarshal(data); err != nil {
					b.Fatal(err)
				}
				if withDefaults {
					podHooks.Default(&p)
				}
			}
		})
	}
}
