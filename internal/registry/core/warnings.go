package core

import (
	"crypto/tls"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// What several kinds warn about, in kube-apiserver's words: deprecated
// node labels (pkg/api/node) and fractional bytes of storage
// (pkg/api/persistentvolumeclaim).

// warnings gathers warning texts.
type warnings []string

func (w *warnings) add(format string, args ...any) { *w = append(*w, fmt.Sprintf(format, args...)) }

// fractionalBytes warns about a byte quantity of list[r] that is not whole.
func (w *warnings) fractionalBytes(path *field.Path, list corev1.ResourceList, r corev1.ResourceName) {
	if q, ok := list[r]; ok && q.MilliValue()%1000 != 0 {
		w.add("%s: fractional byte value %q is invalid, must be an integer", path.Key(string(r)), q.String())
	}
}

// deprecatedPlugins is kube's word on each deprecated or removed volume
// plugin, by its field, for pods' volumes and persistent volumes alike.
var deprecatedPlugins = map[string]string{
	"photonPersistentDisk": "deprecated in v1.11, non-functional in v1.16+",
	"gitRepo":              "deprecated in v1.11",
	"scaleIO":              "deprecated in v1.16, non-functional in v1.22+",
	"flocker":              "deprecated in v1.22, non-functional in v1.25+",
	"storageOS":            "deprecated in v1.22, non-functional in v1.25+",
	"quobyte":              "deprecated in v1.22, non-functional in v1.25+",
	"glusterfs":            "deprecated in v1.25, non-functional in v1.26+",
	"cephfs":               "deprecated in v1.28, non-functional in v1.31+",
	"rbd":                  "deprecated in v1.28, non-functional in v1.31+",
}

// deprecatedNodeLabels are the node labels that have a newer name.
var deprecatedNodeLabels = map[string]string{
	"beta.kubernetes.io/arch":                  `deprecated since v1.14; use "kubernetes.io/arch" instead`,
	"beta.kubernetes.io/os":                    `deprecated since v1.14; use "kubernetes.io/os" instead`,
	"failure-domain.beta.kubernetes.io/region": `deprecated since v1.17; use "topology.kubernetes.io/region" instead`,
	"failure-domain.beta.kubernetes.io/zone":   `deprecated since v1.17; use "topology.kubernetes.io/zone" instead`,
	"beta.kubernetes.io/instance-type":         `deprecated since v1.17; use "node.kubernetes.io/instance-type" instead`,
}

// DeprecatedNodeLabel is kube's word on a deprecated node label key.
func DeprecatedNodeLabel(key string) (string, bool) {
	msg, ok := deprecatedNodeLabels[key]
	return msg, ok
}

// NodeSelectorTermWarnings warn about deprecated node labels in a term's
// expressions (not its fields).
func NodeSelectorTermWarnings(term corev1.NodeSelectorTerm, path *field.Path) []string {
	var w warnings
	for i, e := range term.MatchExpressions {
		if msg, ok := DeprecatedNodeLabel(e.Key); ok {
			w.add("%s: %s is %s", path.Child("matchExpressions").Index(i).Child("key"), e.Key, msg)
		}
	}
	return w
}

// ClaimSpecWarnings warn about a claim's storage request or limit that is
// not a whole number of bytes.
func ClaimSpecWarnings(path *field.Path, spec *corev1.PersistentVolumeClaimSpec) []string {
	var w warnings
	w.fractionalBytes(path.Child("resources", "requests"), spec.Resources.Requests, corev1.ResourceStorage)
	w.fractionalBytes(path.Child("resources", "limits"), spec.Resources.Limits, corev1.ResourceStorage)
	return w
}

// serviceWarnings are kube's warnings about a Service, on every write:
// IPs and CIDRs in a non-standard form, fields the service's type
// ignores, deprecated annotations and traffic distribution.
func serviceWarnings(obj, _ runtime.Object) []string {
	svc := obj.(*corev1.Service)
	s := &svc.Spec
	var w warnings
	if _, ok := svc.Annotations[corev1.DeprecatedAnnotationTopologyAwareHints]; ok {
		w.add("annotation %s is deprecated, please use %s instead", corev1.DeprecatedAnnotationTopologyAwareHints, corev1.AnnotationTopologyMode)
	}
	spec := field.NewPath("spec")
	if s.ClusterIP != "" && s.ClusterIP != corev1.ClusterIPNone {
		for i, ip := range s.ClusterIPs {
			w = append(w, validation.GetWarningsForIP(spec.Child("clusterIPs").Index(i), ip)...)
		}
	}
	if s.Type == corev1.ServiceTypeClusterIP && s.ClusterIP == corev1.ClusterIPNone {
		if s.LoadBalancerIP != "" {
			w.add("spec.loadBalancerIP is ignored for headless services")
		}
		if len(s.ExternalIPs) > 0 {
			w.add("spec.externalIPs is ignored for headless services")
		}
		if s.SessionAffinity != corev1.ServiceAffinityNone {
			w.add("spec.SessionAffinity is ignored for headless services")
		}
	}
	for i, ip := range s.ExternalIPs {
		w = append(w, validation.GetWarningsForIP(spec.Child("externalIPs").Index(i), ip)...)
	}
	if s.LoadBalancerIP != "" {
		w = append(w, validation.GetWarningsForIP(spec.Child("loadBalancerIP"), s.LoadBalancerIP)...)
	}
	for i, cidr := range s.LoadBalancerSourceRanges {
		w = append(w, validation.GetWarningsForCIDR(spec.Child("loadBalancerSourceRanges").Index(i), cidr)...)
	}
	if s.Type == corev1.ServiceTypeExternalName && len(s.ExternalIPs) > 0 {
		w.add("spec.externalIPs is ignored when spec.type is %q", corev1.ServiceTypeExternalName)
	}
	if s.Type != corev1.ServiceTypeExternalName && s.ExternalName != "" {
		w.add("spec.externalName is ignored when spec.type is not %q", corev1.ServiceTypeExternalName)
	}
	if d := s.TrafficDistribution; d != nil && *d == corev1.ServiceTrafficDistributionPreferClose {
		w.add("spec.trafficDistribution: %q is deprecated; use %q", corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone)
	}
	return w
}

// endpointsWarnings: addresses in a non-standard form, in Endpoints that
// the endpoints controller does not manage.
func endpointsWarnings(obj, _ runtime.Object) []string {
	ep := obj.(*corev1.Endpoints)
	if ep.Labels["endpoints.kubernetes.io/managed-by"] == "endpoint-controller" {
		return nil
	}
	var w []string
	for i, s := range ep.Subsets {
		p := field.NewPath("subsets").Index(i)
		for j, a := range s.Addresses {
			w = append(w, validation.GetWarningsForIP(p.Child("addresses").Index(j).Child("ip"), a.IP)...)
		}
		for j, a := range s.NotReadyAddresses {
			w = append(w, validation.GetWarningsForIP(p.Child("notReadyAddresses").Index(j).Child("ip"), a.IP)...)
		}
	}
	return w
}

// nodeWarnings: fields a node no longer uses, on every write.
func nodeWarnings(obj, _ runtime.Object) []string {
	node := obj.(*corev1.Node)
	var w []string
	if node.Spec.ConfigSource != nil {
		w = append(w, "spec.configSource: the feature is removed")
	}
	if node.Spec.DoNotUseExternalID != "" {
		w = append(w, "spec.externalID: this field is deprecated, and is unused by Kubernetes")
	}
	return w
}

// deprecatedStorageClassAnnotation is kube's word on the beta annotation
// that named a volume's or claim's class.
const deprecatedStorageClassAnnotation = `deprecated since v1.8; use "storageClassName" attribute instead`

// persistentVolumeWarnings, on every write: the beta class annotation,
// the Recycle policy, deprecated node labels and volume plugins.
func persistentVolumeWarnings(obj, _ runtime.Object) []string {
	pv := obj.(*corev1.PersistentVolume)
	var w warnings
	if _, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		w.add("%s: %s", field.NewPath("metadata", "annotations").Key(corev1.BetaStorageClassAnnotation), deprecatedStorageClassAnnotation)
	}
	spec := field.NewPath("spec")
	if pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		w.add("%s: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning.", spec.Child("persistentVolumeReclaimPolicy"))
	}
	if a := pv.Spec.NodeAffinity; a != nil && a.Required != nil {
		for i, t := range a.Required.NodeSelectorTerms {
			w = append(w, NodeSelectorTermWarnings(t, spec.Child("nodeAffinity", "required", "nodeSelectorTerms").Index(i))...)
		}
	}
	s := &pv.Spec.PersistentVolumeSource
	for _, d := range []struct {
		field string
		set   bool
	}{
		{"cephfs", s.CephFS != nil}, {"photonPersistentDisk", s.PhotonPersistentDisk != nil}, {"scaleIO", s.ScaleIO != nil},
		{"storageOS", s.StorageOS != nil}, {"glusterfs", s.Glusterfs != nil}, {"rbd", s.RBD != nil},
	} {
		if d.set {
			w.add("%s: %s", spec.Child(d.field), deprecatedPlugins[d.field])
		}
	}
	return w
}

// persistentVolumeClaimWarnings, on every write: the beta class
// annotation and fractional bytes.
func persistentVolumeClaimWarnings(obj, _ runtime.Object) []string {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	var w warnings
	if _, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		w.add("%s: %s", field.NewPath("metadata", "annotations").Key(corev1.BetaStorageClassAnnotation), deprecatedStorageClassAnnotation)
	}
	return append(w, ClaimSpecWarnings(field.NewPath("spec"), &pvc.Spec)...)
}

// secretWarnings: a TLS secret whose certificate and key do not make a
// pair, with Go's reason, on every write.
func secretWarnings(obj, _ runtime.Object) []string {
	s := obj.(*corev1.Secret)
	if s.Type != corev1.SecretTypeTLS {
		return nil
	}
	if _, err := tls.X509KeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// enforceMountableSecrets is the service account annotation that limits
// its pods to the secrets it lists.
const enforceMountableSecrets = "kubernetes.io/enforce-mountable-secrets"

// serviceAccountWarnings: the deprecated annotation, when it is set (not
// on an update of an account that had it).
func serviceAccountWarnings(obj, old runtime.Object) []string {
	if old != nil {
		if _, had := old.(*corev1.ServiceAccount).Annotations[enforceMountableSecrets]; had {
			return nil
		}
	}
	if _, ok := obj.(*corev1.ServiceAccount).Annotations[enforceMountableSecrets]; !ok {
		return nil
	}
	return []string{fmt.Sprintf("metadata.annotations[%s]: deprecated in v1.32+; prefer separate namespaces to isolate access to mounted secrets", enforceMountableSecrets)}
}
