package node

import (
	"sync"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// kind is the type of an object a node may be given access to.
type kind int

const (
	podKind kind = iota
	secretKind
	configMapKind
	pvcKind
	pvKind
	serviceAccountKind
	resourceClaimKind
	vaKind
	sliceKind
	pcrKind
)

var kindNames = map[kind]string{podKind: "pod", secretKind: "secret", configMapKind: "configmap", pvcKind: "pvc",
	pvKind: "pv", serviceAccountKind: "serviceAccount", resourceClaimKind: "resourceclaim", vaKind: "volumeattachment",
	sliceKind: "resourceslice", pcrKind: "podcertificaterequest"}

// vertex names one object.
type vertex struct {
	kind            kind
	namespace, name string
}

// Graph is what kube's node authorizer graph answers, kept as reference
// counts rather than a general graph: which node each pod is bound to
// (spec.nodeName) and what the pod references (its service account, the
// secrets and config maps of its volumes, env and image pull secrets, its
// persistent volume claims, ephemeral ones included, its resource claims);
// each persistent volume's claim and the secrets it names; the node of
// each volume attachment, resource slice and pod certificate request. A node reaches:
//
//	node <- pod
//	node <- pod <- secret, configmap, serviceaccount, pvc, resourceclaim
//	node <- pod <- pvc <- pv <- secret
//	node <- volumeattachment, resourceslice, podcertificaterequest
//
// Mirror pods reach their node and nothing else, as in kube. The graph is
// fed by informers of pods, persistent volumes and volume attachments.
type Graph struct {
	mu sync.RWMutex
	// direct counts, per object, the pods (or attachments) bound to each
	// node that reference it.
	direct map[vertex]map[string]int
	// pods remembers what each pod added, to take it back.
	pods map[vertex]podEdges
	// pvClaim is each bound PV's claim; pvSecrets the secrets each PV
	// names, and secretPVs the other way round.
	pvClaim   map[string]vertex
	pvSecrets map[string][]vertex
	secretPVs map[vertex]map[string]bool
	// owned are the objects that name their node themselves: volume
	// attachments, resource slices, pod certificate requests.
	owned map[vertex]string
}

type podEdges struct {
	node string
	refs []vertex
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	return &Graph{direct: map[vertex]map[string]int{}, pods: map[vertex]podEdges{}, pvClaim: map[string]vertex{},
		pvSecrets: map[string][]vertex{}, secretPVs: map[vertex]map[string]bool{}, owned: map[vertex]string{}}
}

// SetPod records pod (a new or changed one); a pod not bound to a node
// reaches nothing.
func (g *Graph) SetPod(pod *corev1.Pod) {
	key := vertex{podKind, pod.Namespace, pod.Name}
	var edges podEdges
	if pod.Spec.NodeName != "" {
		edges = podEdges{node: pod.Spec.NodeName, refs: podReferences(pod)}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropPodLocked(key)
	if edges.node == "" {
		return
	}
	g.pods[key] = edges
	for _, v := range edges.refs {
		g.addLocked(v, edges.node, 1)
	}
}

// DeletePod forgets the pod ns/name.
func (g *Graph) DeletePod(namespace, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropPodLocked(vertex{podKind, namespace, name})
}

func (g *Graph) dropPodLocked(key vertex) {
	old, ok := g.pods[key]
	if !ok {
		return
	}
	delete(g.pods, key)
	for _, v := range old.refs {
		g.addLocked(v, old.node, -1)
	}
}

func (g *Graph) addLocked(v vertex, node string, n int) {
	m := g.direct[v]
	if m == nil {
		m = map[string]int{}
		g.direct[v] = m
	}
	m[node] += n
	if m[node] <= 0 {
		delete(m, node)
	}
	if len(m) == 0 {
		delete(g.direct, v)
	}
}

// SetPV records a persistent volume: bound to a claim, it is reachable
// from the nodes that reach the claim, and so are the secrets it names.
func (g *Graph) SetPV(pv *corev1.PersistentVolume) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropPVLocked(pv.Name)
	if pv.Spec.ClaimRef == nil {
		return
	}
	g.pvClaim[pv.Name] = vertex{pvcKind, pv.Spec.ClaimRef.Namespace, pv.Spec.ClaimRef.Name}
	secrets := pvSecrets(pv)
	g.pvSecrets[pv.Name] = secrets
	for _, s := range secrets {
		if g.secretPVs[s] == nil {
			g.secretPVs[s] = map[string]bool{}
		}
		g.secretPVs[s][pv.Name] = true
	}
}

// DeletePV forgets the persistent volume name.
func (g *Graph) DeletePV(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropPVLocked(name)
}

func (g *Graph) dropPVLocked(name string) {
	delete(g.pvClaim, name)
	for _, s := range g.pvSecrets[name] {
		delete(g.secretPVs[s], name)
		if len(g.secretPVs[s]) == 0 {
			delete(g.secretPVs, s)
		}
	}
	delete(g.pvSecrets, name)
}

// SetVolumeAttachment records an attachment's node.
func (g *Graph) SetVolumeAttachment(va *storagev1.VolumeAttachment) {
	g.setOwned(vertex{vaKind, "", va.Name}, va.Spec.NodeName)
}

// DeleteVolumeAttachment forgets the attachment name.
func (g *Graph) DeleteVolumeAttachment(name string) { g.setOwned(vertex{vaKind, "", name}, "") }

// SetResourceSlice records a resource slice's node.
func (g *Graph) SetResourceSlice(s *resourcev1.ResourceSlice) {
	node := ""
	if s.Spec.NodeName != nil {
		node = *s.Spec.NodeName
	}
	g.setOwned(vertex{sliceKind, "", s.Name}, node)
}

// DeleteResourceSlice forgets the slice name.
func (g *Graph) DeleteResourceSlice(name string) { g.setOwned(vertex{sliceKind, "", name}, "") }

// SetPodCertificateRequest records a pod certificate request's node.
func (g *Graph) SetPodCertificateRequest(r *certificatesv1.PodCertificateRequest) {
	g.setOwned(vertex{pcrKind, r.Namespace, r.Name}, string(r.Spec.NodeName))
}

// DeletePodCertificateRequest forgets the request ns/name.
func (g *Graph) DeletePodCertificateRequest(namespace, name string) {
	g.setOwned(vertex{pcrKind, namespace, name}, "")
}

// setOwned records v's node ("": forgets v).
func (g *Graph) setOwned(v vertex, node string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if node == "" {
		delete(g.owned, v)
		return
	}
	g.owned[v] = node
}

// reaches reports whether node reaches the object of kind k ns/name.
func (g *Graph) reaches(node string, k kind, namespace, name string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.reachesLocked(node, vertex{k, namespace, name})
}

func (g *Graph) reachesLocked(node string, v vertex) bool {
	switch v.kind {
	case vaKind, sliceKind, pcrKind:
		return g.owned[v] == node
	case pvKind:
		claim, ok := g.pvClaim[v.name]
		return ok && g.direct[claim][node] > 0
	case secretKind:
		if g.direct[v][node] > 0 {
			return true
		}
		for pv := range g.secretPVs[v] {
			if g.reachesLocked(node, vertex{pvKind, "", pv}) {
				return true
			}
		}
		return false
	}
	return g.direct[v][node] > 0
}

// podReferences are the objects a pod bound to a node lets the node read:
// the pod itself and, unless it is a mirror pod, what it references (kube's
// VisitPodSecretNames and VisitPodConfigmapNames, its claims).
func podReferences(pod *corev1.Pod) []vertex {
	ns := pod.Namespace
	refs := []vertex{{podKind, ns, pod.Name}}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return refs
	}
	seen := map[vertex]bool{}
	add := func(k kind, name string) {
		v := vertex{k, ns, name}
		if name != "" && !seen[v] {
			seen[v] = true
			refs = append(refs, v)
		}
	}
	add(serviceAccountKind, pod.Spec.ServiceAccountName)
	for _, s := range pod.Spec.ImagePullSecrets {
		add(secretKind, s.Name)
	}
	for _, c := range allContainers(&pod.Spec) {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				add(secretKind, e.SecretRef.Name)
			}
			if e.ConfigMapRef != nil {
				add(configMapKind, e.ConfigMapRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				add(secretKind, r.Name)
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				add(configMapKind, r.Name)
			}
		}
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		add(secretKind, volumeSecret(&v.VolumeSource))
		switch {
		case v.ConfigMap != nil:
			add(configMapKind, v.ConfigMap.Name)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					add(secretKind, s.Secret.Name)
				}
				if s.ConfigMap != nil {
					add(configMapKind, s.ConfigMap.Name)
				}
			}
		case v.PersistentVolumeClaim != nil:
			add(pvcKind, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			// The claim of a generic ephemeral volume (component-helpers'
			// ephemeral.VolumeClaimName).
			add(pvcKind, pod.Name+"-"+v.Name)
		}
	}
	for _, c := range pod.Spec.ResourceClaims {
		switch {
		case c.ResourceClaimName != nil:
			add(resourceClaimKind, *c.ResourceClaimName)
		case c.ResourceClaimTemplateName != nil:
			for _, st := range pod.Status.ResourceClaimStatuses {
				if st.Name == c.Name && st.ResourceClaimName != nil {
					add(resourceClaimKind, *st.ResourceClaimName)
				}
			}
		}
	}
	if st := pod.Status.ExtendedResourceClaimStatus; st != nil {
		add(resourceClaimKind, st.ResourceClaimName)
	}
	return refs
}

func allContainers(spec *corev1.PodSpec) []corev1.Container {
	out := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, e := range spec.EphemeralContainers {
		out = append(out, corev1.Container{Env: e.Env, EnvFrom: e.EnvFrom})
	}
	return out
}

// volumeSecret is the secret a volume plugin reads, if any.
func volumeSecret(s *corev1.VolumeSource) string {
	switch {
	case s.Secret != nil:
		return s.Secret.SecretName
	case s.AzureFile != nil:
		return s.AzureFile.SecretName
	case s.CephFS != nil && s.CephFS.SecretRef != nil:
		return s.CephFS.SecretRef.Name
	case s.Cinder != nil && s.Cinder.SecretRef != nil:
		return s.Cinder.SecretRef.Name
	case s.FlexVolume != nil && s.FlexVolume.SecretRef != nil:
		return s.FlexVolume.SecretRef.Name
	case s.RBD != nil && s.RBD.SecretRef != nil:
		return s.RBD.SecretRef.Name
	case s.ScaleIO != nil && s.ScaleIO.SecretRef != nil:
		return s.ScaleIO.SecretRef.Name
	case s.ISCSI != nil && s.ISCSI.SecretRef != nil:
		return s.ISCSI.SecretRef.Name
	case s.StorageOS != nil && s.StorageOS.SecretRef != nil:
		return s.StorageOS.SecretRef.Name
	case s.CSI != nil && s.CSI.NodePublishSecretRef != nil:
		return s.CSI.NodePublishSecretRef.Name
	}
	return ""
}

// pvSecrets are the secrets a persistent volume names that the kubelet
// reads (kube's VisitPVSecretNames with kubeletVisible): the CSI
// controller-side secrets are not among them.
func pvSecrets(pv *corev1.PersistentVolume) []vertex {
	var out []vertex
	add := func(ns, name string) {
		if name != "" {
			out = append(out, vertex{secretKind, ns, name})
		}
	}
	claimNS := pv.Spec.ClaimRef.Namespace
	s := &pv.Spec.PersistentVolumeSource
	switch {
	case s.AzureFile != nil:
		ns := claimNS
		if s.AzureFile.SecretNamespace != nil && *s.AzureFile.SecretNamespace != "" {
			ns = *s.AzureFile.SecretNamespace
		}
		add(ns, s.AzureFile.SecretName)
	case s.CephFS != nil && s.CephFS.SecretRef != nil:
		add(or(s.CephFS.SecretRef.Namespace, claimNS), s.CephFS.SecretRef.Name)
	case s.Cinder != nil && s.Cinder.SecretRef != nil:
		add(s.Cinder.SecretRef.Namespace, s.Cinder.SecretRef.Name)
	case s.FlexVolume != nil && s.FlexVolume.SecretRef != nil:
		add(or(s.FlexVolume.SecretRef.Namespace, claimNS), s.FlexVolume.SecretRef.Name)
	case s.RBD != nil && s.RBD.SecretRef != nil:
		add(or(s.RBD.SecretRef.Namespace, claimNS), s.RBD.SecretRef.Name)
	case s.ScaleIO != nil && s.ScaleIO.SecretRef != nil:
		add(or(s.ScaleIO.SecretRef.Namespace, claimNS), s.ScaleIO.SecretRef.Name)
	case s.ISCSI != nil && s.ISCSI.SecretRef != nil:
		add(or(s.ISCSI.SecretRef.Namespace, claimNS), s.ISCSI.SecretRef.Name)
	case s.StorageOS != nil && s.StorageOS.SecretRef != nil:
		add(s.StorageOS.SecretRef.Namespace, s.StorageOS.SecretRef.Name)
	case s.CSI != nil:
		for _, r := range []*corev1.SecretReference{s.CSI.NodePublishSecretRef, s.CSI.NodeStageSecretRef, s.CSI.NodeExpandSecretRef} {
			if r != nil {
				add(r.Namespace, r.Name)
			}
		}
	}
	return out
}

func or(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// PodSecretAndConfigMapNames are the secrets and config maps a pod
// references (kube's VisitPodSecretNames and VisitPodConfigmapNames),
// whatever its node.
func PodSecretAndConfigMapNames(pod *corev1.Pod) (secrets, configMaps []string) {
	p := *pod
	p.Annotations = nil
	for _, v := range podReferences(&p) {
		switch v.kind {
		case secretKind:
			secrets = append(secrets, v.name)
		case configMapKind:
			configMaps = append(configMaps, v.name)
		}
	}
	return secrets, configMaps
}
