package core

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// What kube-apiserver warns about in a pod or a workload's pod template
// (its GetWarningsForPod and GetWarningsForPodTemplate): deprecated node
// labels, annotations and volume plugins, and what validation lets
// through but is most likely a mistake: fractional bytes, duplicate
// environment variables, ports, host aliases and image pull secrets,
// selectors that match nothing. The texts and field paths are kube's.

// podWarnings are the warnings about a new pod; kube gives none on a
// pod's update (a path written often, and seldom by people).
func podWarnings(obj, old runtime.Object) []string {
	if old != nil {
		return nil
	}
	pod := obj.(*corev1.Pod)
	var w warnings
	if msgs := validation.IsDNS1123Label(pod.Name); len(msgs) != 0 {
		w.add("metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: %v", msgs)
	}
	return append(w, podSpecWarnings(nil, &pod.Spec, pod.Annotations)...)
}

// TemplateWarnings are the warnings about the pod template at path
// ("spec.template").
func TemplateWarnings(path *field.Path, tpl *corev1.PodTemplateSpec) []string {
	return podSpecWarnings(path, &tpl.Spec, tpl.Annotations)
}

// WorkloadWarnings are kube's warnings about a workload whose name its
// pods' names and hostnames start with (a Deployment, a Job): its name
// when it is created, and what spec finds (its template's) when it is
// created or an update moves its generation.
func WorkloadWarnings(obj, old runtime.Object, name string, spec func() []string) []string {
	var w []string
	if old == nil {
		if msgs := validation.IsDNS1123Label(name); len(msgs) != 0 {
			w = append(w, fmt.Sprintf("metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: %v", msgs))
		}
	}
	if SpecChanged(obj, old) {
		w = append(w, spec()...)
	}
	return w
}

// SpecChanged tells whether an update (old not nil) changed what its
// object's generation counts, as kube warns about a workload's template
// only when it is created or its generation moves.
func SpecChanged(obj, old runtime.Object) bool {
	if old == nil {
		return true
	}
	m, _ := meta.Accessor(obj)
	o, _ := meta.Accessor(old)
	return m.GetGeneration() != o.GetGeneration()
}

// deprecatedPodAnnotations are the pod annotations that no longer do
// anything, with kube's word on each.
var deprecatedPodAnnotations = []struct{ key, message string }{
	{"scheduler.alpha.kubernetes.io/critical-pod", `non-functional in v1.16+; use the "priorityClassName" field instead`},
	{"security.alpha.kubernetes.io/sysctls", `non-functional in v1.11+; use the "sysctls" field instead`},
	{"security.alpha.kubernetes.io/unsafe-sysctls", `non-functional in v1.11+; use the "sysctls" field instead`},
}

// deprecatedVolumes are a pod volume's deprecated plugins, by their
// field, in kube's order.
var deprecatedVolumes = []struct {
	field string
	set   func(*corev1.Volume) bool
}{
	{"photonPersistentDisk", func(v *corev1.Volume) bool { return v.PhotonPersistentDisk != nil }},
	{"gitRepo", func(v *corev1.Volume) bool { return v.GitRepo != nil }},
	{"scaleIO", func(v *corev1.Volume) bool { return v.ScaleIO != nil }},
	{"flocker", func(v *corev1.Volume) bool { return v.Flocker != nil }},
	{"storageOS", func(v *corev1.Volume) bool { return v.StorageOS != nil }},
	{"quobyte", func(v *corev1.Volume) bool { return v.Quobyte != nil }},
	{"glusterfs", func(v *corev1.Volume) bool { return v.Glusterfs != nil }},
	{"cephfs", func(v *corev1.Volume) bool { return v.CephFS != nil }},
	{"rbd", func(v *corev1.Volume) bool { return v.RBD != nil }},
}

func podSpecWarnings(path *field.Path, spec *corev1.PodSpec, annotations map[string]string) []string {
	var w warnings
	specPath := path.Child("spec")
	for _, k := range slices.Sorted(maps.Keys(spec.NodeSelector)) {
		if msg, ok := DeprecatedNodeLabel(k); ok {
			w.add("%s: %s", specPath.Child("nodeSelector").Key(k), msg)
		}
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil {
		n := a.NodeAffinity
		if n.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			terms := specPath.Child("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
			for i, t := range n.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
				w = append(w, NodeSelectorTermWarnings(t, terms.Index(i))...)
			}
		}
		preferred := specPath.Child("affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
		for i, t := range n.PreferredDuringSchedulingIgnoredDuringExecution {
			w = append(w, NodeSelectorTermWarnings(t.Preference, preferred.Index(i).Child("preference"))...)
		}
	}
	for i, t := range spec.TopologySpreadConstraints {
		p := specPath.Child("topologySpreadConstraints").Index(i)
		if msg, ok := DeprecatedNodeLabel(t.TopologyKey); ok {
			w.add("%s: %s is %s", p.Child("topologyKey"), t.TopologyKey, msg)
		}
		if t.LabelSelector == nil {
			w.add("%s: a null labelSelector results in matching no pod", p.Child("labelSelector"))
		}
	}
	annotationsPath := path.Child("metadata", "annotations")
	for _, d := range deprecatedPodAnnotations {
		if _, ok := annotations[d.key]; ok {
			w.add("%s: %s", annotationsPath.Key(d.key), d.message)
		}
	}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		p := specPath.Child("volumes").Index(i)
		for _, d := range deprecatedVolumes {
			if d.set(v) {
				w.add("%s: %s", p.Child(d.field), deprecatedPlugins[d.field])
			}
		}
		if v.Ephemeral != nil && v.Ephemeral.VolumeClaimTemplate != nil {
			w = append(w, ClaimSpecWarnings(p.Child("ephemeral", "volumeClaimTemplate", "spec"), &v.Ephemeral.VolumeClaimTemplate.Spec)...)
		}
	}
	w = append(w, tokenPathWarnings(specPath, spec.Volumes)...)
	w = append(w, duplicateWarnings(specPath.Child("hostAliases"), "ip", len(spec.HostAliases), func(i int) string { return spec.HostAliases[i].IP })...)
	w = append(w, duplicateWarnings(specPath.Child("imagePullSecrets"), "name", len(spec.ImagePullSecrets), func(i int) string { return spec.ImagePullSecrets[i].Name })...)
	for i, s := range spec.ImagePullSecrets {
		if s.Name == "" {
			w.add("%s: invalid empty name %q", specPath.Child("imagePullSecrets").Index(i).Child("name"), s.Name)
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		w.fractionalBytes(specPath.Child("overhead"), spec.Overhead, r)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil {
		if _, ok := annotations[corev1.SeccompPodAnnotationKey]; ok {
			w.add(`%s: non-functional in v1.27+; use the "seccompProfile" field instead`, annotationsPath.Key(corev1.SeccompPodAnnotationKey))
		}
	}
	podAppArmor := spec.SecurityContext != nil && spec.SecurityContext.AppArmorProfile != nil
	VisitContainers(spec, specPath, func(c *corev1.Container, p *field.Path) {
		if c.SecurityContext == nil || c.SecurityContext.SeccompProfile == nil {
			key := corev1.SeccompContainerAnnotationKeyPrefix + c.Name
			if _, ok := annotations[key]; ok {
				w.add(`%s: non-functional in v1.27+; use the "seccompProfile" field instead`, annotationsPath.Key(key))
			}
		}
		// A pod's own AppArmor annotations become its fields when it is
		// created; a template's stay annotations.
		if path != nil && !podAppArmor && (c.SecurityContext == nil || c.SecurityContext.AppArmorProfile == nil) {
			key := corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + c.Name
			if _, ok := annotations[key]; ok {
				w.add(`%s: deprecated since v1.30; use the "appArmorProfile" field instead`, annotationsPath.Key(key))
			}
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			w.fractionalBytes(p.Child("resources", "limits"), c.Resources.Limits, r)
			w.fractionalBytes(p.Child("resources", "requests"), c.Resources.Requests, r)
		}
		w = append(w, envWarnings(p.Child("env"), c.Env)...)
	})
	w = append(w, portWarnings(spec, specPath)...)
	if g := spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		w.add("%s: must be >= 0; negative values are invalid and will be treated as 1", specPath.Child("terminationGracePeriodSeconds"))
	}
	if a := spec.Affinity; a != nil {
		if pa := a.PodAffinity; pa != nil {
			w = append(w, affinityWarnings(specPath.Child("affinity", "podAffinity"), pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution)...)
		}
		if pa := a.PodAntiAffinity; pa != nil {
			w = append(w, affinityWarnings(specPath.Child("affinity", "podAntiAffinity"), pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution)...)
		}
	}
	return w
}

// VisitContainers is kube's VisitContainersWithPath: it calls f with
// every container of spec (init, regular, ephemeral) and its field path.
func VisitContainers(spec *corev1.PodSpec, specPath *field.Path, f func(*corev1.Container, *field.Path)) {
	for i := range spec.InitContainers {
		f(&spec.InitContainers[i], specPath.Child("initContainers").Index(i))
	}
	for i := range spec.Containers {
		f(&spec.Containers[i], specPath.Child("containers").Index(i))
	}
	for i := range spec.EphemeralContainers {
		f((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), specPath.Child("ephemeralContainers").Index(i))
	}
}

// duplicateWarnings warns about each of n values (at path[i].field) that
// an earlier one already had.
func duplicateWarnings(path *field.Path, fieldName string, n int, value func(int) string) []string {
	var w warnings
	seen := map[string]bool{}
	for i := range n {
		v := value(i)
		if seen[v] {
			w.add("%s: duplicate %s %q", path.Index(i).Child(fieldName), fieldName, v)
		}
		seen[v] = true
	}
	return w
}

// envWarnings warns about a variable that hides an earlier one of its
// name, unless it only extends it ("X=$(X)..." without valueFrom): apply
// merges the list by name and may drop one of the two.
func envWarnings(path *field.Path, env []corev1.EnvVar) []string {
	var w warnings
	seen := map[string]bool{}
	for i, e := range env {
		if !seen[e.Name] {
			seen[e.Name] = true
			continue
		}
		ref := "$(" + e.Name + ")"
		if e.ValueFrom != nil || e.Value == ref || !strings.Contains(e.Value, ref) {
			w.add("%s: hides previous definition of %q, which may be dropped when using apply", path.Index(i), e.Name)
		}
	}
	return w
}

// portWarnings warns about ports of the pod's containers that repeat or
// overlap one another, and about a host IP without a host port.
func portWarnings(spec *corev1.PodSpec, specPath *field.Path) []string {
	type block struct {
		path *field.Path
		port corev1.ContainerPort
	}
	var w warnings
	all := map[string][]block{}
	VisitContainers(spec, specPath, func(c *corev1.Container, p *field.Path) {
		for i, port := range c.Ports {
			pp := p.Child("ports").Index(i)
			if port.HostIP != "" && port.HostPort == 0 {
				w.add("%s: hostIP set without hostPort: %+v", pp, port)
			}
			k := fmt.Sprintf("%d/%s", port.ContainerPort, port.Protocol)
			for _, other := range all[k] {
				a, b := port.HostIP == "", other.port.HostIP == ""
				switch {
				case port.HostIP == other.port.HostIP && port.HostPort == other.port.HostPort:
					w.add("%s: duplicate port definition with %s", pp, other.path)
				case port.HostPort == 0 || other.port.HostPort == 0:
					w.add("%s: overlapping port definition with %s", pp, other.path)
				case port.HostPort == other.port.HostPort && a != b:
					w.add("%s: dangerously ambiguous port definition with %s", pp, other.path)
				}
			}
			all[k] = append(all[k], block{pp, port})
		}
	})
	return w
}

// tokenPathWarnings warns about a projected item whose path is also a
// service account token's path in the pod.
func tokenPathWarnings(specPath *field.Path, volumes []corev1.Volume) []string {
	tokens := map[string]bool{}
	for _, v := range volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					tokens[s.ServiceAccountToken.Path] = true
				}
			}
		}
	}
	if len(tokens) == 0 {
		return nil
	}
	var w warnings
	const dup = "%s: has duplicated path with ServiceAccountToken %q"
	for i, v := range volumes {
		if v.Projected == nil {
			continue
		}
		// kube's paths, which name the list of sources but not the
		// source's index.
		sources := specPath.Child("volumes").Index(i).Child("projected", "sources")
		for _, s := range v.Projected.Sources {
			if s.ConfigMap != nil {
				for j, item := range s.ConfigMap.Items {
					if tokens[item.Path] {
						w.add(dup, sources.Child("configMap").Index(j), item.Path)
					}
				}
			}
			if s.Secret != nil {
				for j, item := range s.Secret.Items {
					if tokens[item.Path] {
						w.add(dup, sources.Child("secrets").Index(j), item.Path)
					}
				}
			}
			if s.DownwardAPI != nil {
				for j, item := range s.DownwardAPI.Items {
					if tokens[item.Path] {
						w.add(dup, sources.Child("downwardAPI").Index(j), item.Path)
					}
				}
			}
			if s.ClusterTrustBundle != nil && tokens[s.ClusterTrustBundle.Path] {
				w.add(dup, sources.Child("ClusterTrustBundle"), s.ClusterTrustBundle.Path)
			}
		}
	}
	return w
}

// affinityWarnings warns about pod affinity terms without a label
// selector, which match no pod.
func affinityWarnings(path *field.Path, required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm) []string {
	var w warnings
	for i, t := range required {
		if t.LabelSelector == nil {
			w.add("%s: a null labelSelector results in matching no pod", path.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i).Child("labelSelector"))
		}
	}
	for i, t := range preferred {
		if t.PodAffinityTerm.LabelSelector == nil {
			w.add("%s: a null labelSelector results in matching no pod", path.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i).Child("podAffinityTerm", "labelSelector"))
		}
	}
	return w
}
