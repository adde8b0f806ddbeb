package admission

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
)

const (
	// DefaultServiceAccountName is the service account of a pod that names
	// none.
	DefaultServiceAccountName = "default"
	// EnforceMountableSecretsAnnotation on a service account ("true")
	// limits its pods to the secrets it lists.
	EnforceMountableSecretsAnnotation = "kubernetes.io/enforce-mountable-secrets"
	// ServiceAccountVolumeName prefixes the name of the token volume.
	ServiceAccountVolumeName = "kube-api-access"
	// DefaultAPITokenMountPath is where containers find the token.
	DefaultAPITokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// MirrorPodAnnotation marks a kubelet's mirror of a static pod.
	MirrorPodAnnotation = "kubernetes.io/config.mirror"
	// tokenExpirationSeconds is the token projection's lifetime: kube's
	// WarnOnlyBoundTokenExpirationSeconds (an hour and 7 seconds, which
	// tells the token's audience it may be used a year, with a warning).
	tokenExpirationSeconds = 3607
)

// ServiceAccount is kube-apiserver's plugin of the same name, for pods:
// on create, a pod without serviceAccountName gets "default"; the
// service account must exist; unless the pod or its service account
// turns automountServiceAccountToken off, every container and init
// container without a mount at /var/run/secrets/kubernetes.io/serviceaccount
// mounts a projected volume kube-api-access-xxxxx (a bound token, the
// cluster's CA from the kube-root-ca.crt ConfigMap and the namespace); a
// pod without imagePullSecrets gets its service account's. Mirror pods
// are left as they are, and may not name a service account, secrets or
// token projections. A service account annotated
// kubernetes.io/enforce-mountable-secrets=true limits its pods (and
// ephemeral containers added later) to the secrets it lists.
type ServiceAccount struct {
	ServiceAccounts Objects
	// Attempts is how many times a missing "default" service account is
	// looked up before the pod is refused (kube: 10, as its controller may
	// be about to create it), Pause between two (kube: 100-200ms). Zero
	// values mean kube's.
	Attempts int
	Pause    time.Duration
	// generateName makes the token volume's name (tests fix it).
	generateName func(prefix string) string
}

// Admit defaults and mounts on pod create.
func (p *ServiceAccount) Admit(ctx context.Context, a *Attributes) error {
	pod, ok := p.pod(a)
	if !ok || a.Operation != Create {
		return nil
	}
	if _, mirror := pod.Annotations[MirrorPodAnnotation]; mirror {
		return p.Validate(ctx, a)
	}
	if pod.Spec.ServiceAccountName == "" {
		// and its alias, which kube's conversion writes out as the same
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
		pod.Spec.DeprecatedServiceAccount = DefaultServiceAccountName
	}
	sa, err := p.serviceAccount(ctx, a.Namespace, pod.Spec.ServiceAccountName)
	if err != nil {
		return Forbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.Namespace, pod.Spec.ServiceAccountName, err))
	}
	if automount(sa, pod) {
		p.mountToken(pod)
	}
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = make([]corev1.LocalObjectReference, len(sa.ImagePullSecrets))
		for i, s := range sa.ImagePullSecrets {
			pod.Spec.ImagePullSecrets[i].Name = s.Name
		}
	}
	return p.Validate(ctx, a)
}

// Validate checks pod creates and the ephemeral containers of updates.
func (p *ServiceAccount) Validate(ctx context.Context, a *Attributes) error {
	pod, ok := p.pod(a)
	if !ok {
		return nil
	}
	if a.Operation == Update && a.Subresource == "ephemeralcontainers" {
		return p.limitEphemeralContainers(ctx, a, pod)
	}
	if a.Operation != Create {
		return nil
	}
	if _, mirror := pod.Annotations[MirrorPodAnnotation]; mirror {
		if pod.Spec.ServiceAccountName != "" {
			return Forbidden(a, fmt.Errorf("a mirror pod may not reference service accounts"))
		}
		if hasSecrets := !visitPodSecrets(pod, func(string) bool { return false }); hasSecrets {
			return Forbidden(a, fmt.Errorf("a mirror pod may not reference secrets"))
		}
		for _, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					return Forbidden(a, fmt.Errorf("a mirror pod may not use ServiceAccountToken volume projections"))
				}
			}
		}
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		return Forbidden(a, fmt.Errorf("no service account specified for pod %s/%s", a.Namespace, pod.Name))
	}
	sa, err := p.serviceAccount(ctx, a.Namespace, pod.Spec.ServiceAccountName)
	if err != nil {
		return Forbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.Namespace, pod.Spec.ServiceAccountName, err))
	}
	if enforceMountableSecrets(sa) {
		if err := limitSecretReferences(sa, pod); err != nil {
			return Forbidden(a, err)
		}
	}
	return nil
}

// pod is the pod a writes, when the plugin looks at the write: pods
// themselves and their ephemeral containers.
func (p *ServiceAccount) pod(a *Attributes) (*corev1.Pod, bool) {
	if !is(a, "", "pods") || (a.Subresource != "" && a.Subresource != "ephemeralcontainers") {
		return nil, false
	}
	pod, ok := a.Object.(*corev1.Pod)
	return pod, ok
}

// serviceAccount reads ns/name; a missing "default" is looked up again a
// few times, as its controller may be about to make it.
func (p *ServiceAccount) serviceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	attempts := 1
	if name == DefaultServiceAccountName {
		attempts = p.Attempts
		if attempts == 0 {
			attempts = 10
		}
	}
	pause := p.Pause
	if pause == 0 {
		pause = time.Duration(100+rand.IntN(100)) * time.Millisecond
	}
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(pause):
			}
		}
		obj, err := p.ServiceAccounts.Get(ctx, ns, name)
		if err == nil {
			sa, ok := obj.(*corev1.ServiceAccount)
			if !ok {
				return nil, fmt.Errorf("service account %s/%s is a %T", ns, name, obj)
			}
			return sa, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	// kube names the resource in the singular here.
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccount"}, name)
}

func automount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

func enforceMountableSecrets(sa *corev1.ServiceAccount) bool {
	v, ok := sa.Annotations[EnforceMountableSecretsAnnotation]
	if !ok {
		return false
	}
	b, _ := strconv.ParseBool(v)
	return b
}

// mountToken mounts the token volume in every container and init
// container that has nothing at its path, adding the volume if one does.
func (p *ServiceAccount) mountToken(pod *corev1.Pod) {
	volumeName := ""
	hasVolume := false
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, ServiceAccountVolumeName+"-") {
			volumeName, hasVolume = v.Name, true
			break
		}
	}
	if volumeName == "" {
		gen := p.generateName
		if gen == nil {
			gen = func(prefix string) string { return prefix + utilrand.String(5) }
		}
		volumeName = gen(ServiceAccountVolumeName + "-")
	}
	mount := corev1.VolumeMount{Name: volumeName, ReadOnly: true, MountPath: DefaultAPITokenMountPath}
	needed := false
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			mounted := false
			for _, m := range cs[i].VolumeMounts {
				if m.MountPath == DefaultAPITokenMountPath {
					mounted = true
					break
				}
			}
			if !mounted {
				cs[i].VolumeMounts = append(cs[i].VolumeMounts, mount)
				needed = true
			}
		}
	}
	if needed && !hasVolume {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: volumeName,
			VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}})
	}
}

// TokenVolumeSource is the projected volume a pod's token is mounted
// from, as kube-apiserver writes it (default mode set explicitly).
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	return &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To(corev1.ProjectedVolumeSourceDefaultMode),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](tokenExpirationSeconds)}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}
}

// limitSecretReferences refuses a pod that uses a secret its service
// account does not list (volumes, env, envFrom, image pull secrets).
func limitSecretReferences(sa *corev1.ServiceAccount, pod *corev1.Pod) error {
	mountable := map[string]bool{}
	for _, s := range sa.Secrets {
		mountable[s.Name] = true
	}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil && !mountable[v.Secret.SecretName] {
			return fmt.Errorf("volume with secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", v.Secret.SecretName, sa.Name)
		}
	}
	for _, set := range []struct {
		what       string
		containers []corev1.Container
	}{{"init container", pod.Spec.InitContainers}, {"container", pod.Spec.Containers}} {
		for _, c := range set.containers {
			if err := limitContainerSecrets(set.what, c.Name, c.Env, c.EnvFrom, mountable, sa.Name); err != nil {
				return err
			}
		}
	}
	pull := map[string]bool{}
	for _, s := range sa.ImagePullSecrets {
		pull[s.Name] = true
	}
	for i, ref := range pod.Spec.ImagePullSecrets {
		if !pull[ref.Name] {
			return fmt.Errorf(`imagePullSecrets[%d].name="%s" is not allowed because service account %s does not reference that imagePullSecret`, i, ref.Name, sa.Name)
		}
	}
	return nil
}

func limitContainerSecrets(what, name string, env []corev1.EnvVar, envFrom []corev1.EnvFromSource, mountable map[string]bool, sa string) error {
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !mountable[e.ValueFrom.SecretKeyRef.Name] {
			return fmt.Errorf("%s %s with envVar %s referencing secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", what, name, e.Name, e.ValueFrom.SecretKeyRef.Name, sa)
		}
	}
	for _, e := range envFrom {
		if e.SecretRef != nil && !mountable[e.SecretRef.Name] {
			return fmt.Errorf("%s %s with envFrom referencing secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", what, name, e.SecretRef.Name, sa)
		}
	}
	return nil
}

// limitEphemeralContainers checks the secrets of ephemeral containers
// added to a pod whose service account enforces mountable secrets.
func (p *ServiceAccount) limitEphemeralContainers(ctx context.Context, a *Attributes, pod *corev1.Pod) error {
	if pod.Spec.ServiceAccountName == "" {
		return Forbidden(a, fmt.Errorf("no service account specified for pod %s/%s", a.Namespace, pod.Name))
	}
	sa, err := p.serviceAccount(ctx, a.Namespace, pod.Spec.ServiceAccountName)
	if err != nil {
		return Forbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.Namespace, pod.Spec.ServiceAccountName, err))
	}
	if !enforceMountableSecrets(sa) {
		return nil
	}
	mountable := map[string]bool{}
	for _, s := range sa.Secrets {
		mountable[s.Name] = true
	}
	for _, c := range pod.Spec.EphemeralContainers {
		// kube answers these as errors of no status (500); kapi says
		// what they are.
		if err := limitContainerSecrets("ephemeral container", c.Name, c.Env, c.EnvFrom, mountable, sa.Name); err != nil {
			return Forbidden(a, err)
		}
	}
	return nil
}

// visitPodSecrets calls visit with each secret the pod names (pull
// secrets, every kind of container's env and envFrom, volumes) until it
// answers false; it reports whether all were visited.
func visitPodSecrets(pod *corev1.Pod, visit func(name string) bool) bool {
	for _, r := range pod.Spec.ImagePullSecrets {
		if !visit(r.Name) {
			return false
		}
	}
	envs := func(env []corev1.EnvVar, envFrom []corev1.EnvFromSource) bool {
		for _, e := range envFrom {
			if e.SecretRef != nil && !visit(e.SecretRef.Name) {
				return false
			}
		}
		for _, e := range env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !visit(e.ValueFrom.SecretKeyRef.Name) {
				return false
			}
		}
		return true
	}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if !envs(c.Env, c.EnvFrom) {
			return false
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if !envs(c.Env, c.EnvFrom) {
			return false
		}
	}
	ref := func(r *corev1.LocalObjectReference) bool { return r == nil || visit(r.Name) }
	for _, v := range pod.Spec.Volumes {
		s := v.VolumeSource
		ok := true
		switch {
		case s.AzureFile != nil:
			ok = s.AzureFile.SecretName == "" || visit(s.AzureFile.SecretName)
		case s.CephFS != nil:
			ok = ref(s.CephFS.SecretRef)
		case s.Cinder != nil:
			ok = ref(s.Cinder.SecretRef)
		case s.FlexVolume != nil:
			ok = ref(s.FlexVolume.SecretRef)
		case s.Projected != nil:
			for _, src := range s.Projected.Sources {
				if src.Secret != nil && !visit(src.Secret.Name) {
					ok = false
					break
				}
			}
		case s.RBD != nil:
			ok = ref(s.RBD.SecretRef)
		case s.Secret != nil:
			ok = visit(s.Secret.SecretName)
		case s.ScaleIO != nil:
			ok = ref(s.ScaleIO.SecretRef)
		case s.ISCSI != nil:
			ok = ref(s.ISCSI.SecretRef)
		case s.StorageOS != nil:
			ok = ref(s.StorageOS.SecretRef)
		case s.CSI != nil:
			ok = ref(s.CSI.NodePublishSecretRef)
		}
		if !ok {
			return false
		}
	}
	return true
}
