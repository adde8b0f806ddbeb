package admission

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/diff"

	"kapi/internal/authz"
	"kapi/internal/authz/node"
)

// NodeRestriction is kube-apiserver's plugin of the same name: what the
// Node authorizer lets every node write, each node may write only for
// itself. A node (user system:node:<name> in system:nodes) may create and
// update only its own Node, without changing its taints, owner references
// or the labels kubelets may not set (kubernetes.io and k8s.io ones other
// than the kubelet's own and those under kubelet.kubernetes.io and
// node.kubernetes.io; never node-restriction.kubernetes.io); create only
// mirror pods bound to itself and owned by its Node, referencing no API
// object; delete, evict and write the status of only the pods bound to
// it; write only the status (capacity and conditions) of claims; ask
// tokens only for pods bound to it and for the audiences they use (or
// that it is authorized for), pod certificates only for its pods; touch
// only its own Lease and CSINode,
// the ResourceSlices of its own node, and CSRs of the kubelet signers
// only for its own name. Other users pass. Its messages are kube's.
type NodeRestriction struct {
	Pods, Nodes, ServiceAccounts Objects
	// Claims, Volumes and CSIDrivers tell which audiences a pod's CSI
	// volumes ask tokens for.
	Claims, Volumes, CSIDrivers Objects
	// Authorizer allows a node tokens for other audiences, and pod
	// certificates of signers its pod does not mount.
	Authorizer authz.Authorizer
}

// Admit implements Mutator (kube's plugin is a mutating one).
func (p *NodeRestriction) Admit(ctx context.Context, a *Attributes) error {
	if a.Operation == Connect || a.Resource == nil {
		return nil
	}
	name, isNode := node.Identity(a.User)
	if !isNode {
		return nil
	}
	if name == "" {
		return nodeForbidden(a, fmt.Errorf("could not determine node from user %q", a.User.Name))
	}
	switch a.Resource.Group + "/" + a.Resource.Name {
	case "/pods":
		switch a.Subresource {
		case "":
			return p.pod(ctx, name, a)
		case "status":
			return podStatus(name, a)
		case "eviction":
			return p.eviction(ctx, name, a)
		}
		return nodeForbidden(a, fmt.Errorf("unexpected pod subresource %q, only 'status' and 'eviction' are allowed", a.Subresource))
	case "/nodes":
		return nodeObject(name, a)
	case "/persistentvolumeclaims":
		if a.Subresource != "status" {
			return nodeForbidden(a, fmt.Errorf("may only update PVC status"))
		}
		return pvcStatus(name, a)
	case "/serviceaccounts":
		return p.token(ctx, name, a)
	case "coordination.k8s.io/leases":
		return nodeLease(name, a)
	case "storage.k8s.io/csinodes":
		return csiNode(name, a)
	case "resource.k8s.io/resourceslices":
		return resourceSlice(name, a)
	case "certificates.k8s.io/certificatesigningrequests":
		return nodeCSR(name, a)
	case "certificates.k8s.io/podcertificaterequests":
		return p.podCertificateRequest(ctx, name, a)
	}
	return nil
}

// nodeForbidden is kube's admission.NewForbidden: the request's name
// first (a delete's), else the object's.
func nodeForbidden(a *Attributes, err error) error {
	if a.Name != "" {
		return apierrors.NewForbidden(a.Resource.GVR().GroupResource(), a.Name, err)
	}
	return Forbidden(a, err)
}

func (p *NodeRestriction) pod(ctx context.Context, name string, a *Attributes) error {
	switch a.Operation {
	case Create:
		return p.mirrorPod(ctx, name, a)
	case Delete:
		pod, ok := a.OldObject.(*corev1.Pod)
		if !ok {
			return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.OldObject))
		}
		if pod.Spec.NodeName != name {
			return nodeForbidden(a, fmt.Errorf("node %q can only delete pods with spec.nodeName set to itself", name))
		}
		return nil
	}
	return nodeForbidden(a, fmt.Errorf("unexpected operation %q, node %q can only create and delete mirror pods", a.Operation, name))
}

func (p *NodeRestriction) mirrorPod(ctx context.Context, name string, a *Attributes) error {
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; !mirror {
		return nodeForbidden(a, fmt.Errorf("pod does not have %q annotation, node %q can only create mirror pods", corev1.MirrorPodAnnotationKey, name))
	}
	if pod.Spec.NodeName != name {
		return nodeForbidden(a, fmt.Errorf("node %q can only create pods with spec.nodeName set to itself", name))
	}
	switch len(pod.OwnerReferences) {
	case 0:
		return nodeForbidden(a, fmt.Errorf("node %q can only create pods with an owner reference set to itself", name))
	case 1:
	default:
		return nodeForbidden(a, fmt.Errorf("node %q can only create pods with a single owner reference set to itself", name))
	}
	owner := pod.OwnerReferences[0]
	if owner.APIVersion != "v1" || owner.Kind != "Node" || owner.Name != name {
		return nodeForbidden(a, fmt.Errorf("node %q can only create pods with an owner reference set to itself", name))
	}
	if owner.Controller == nil || !*owner.Controller {
		return nodeForbidden(a, fmt.Errorf("node %q can only create pods with a controller owner reference set to itself", name))
	}
	if owner.BlockOwnerDeletion != nil && *owner.BlockOwnerDeletion {
		return nodeForbidden(a, fmt.Errorf("node %q must not set blockOwnerDeletion on an owner reference", name))
	}
	obj, err := p.Nodes.Get(ctx, "", name)
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return nodeForbidden(a, fmt.Errorf("error looking up node %s to verify uid: %v", name, err))
	}
	if n, ok := obj.(*corev1.Node); !ok || owner.UID != n.UID {
		uid := ""
		if ok {
			uid = string(n.UID)
		}
		return nodeForbidden(a, fmt.Errorf("node %s UID mismatch: expected %s got %s", name, uid, owner.UID))
	}
	if ref, err := apiObjectReference(pod); err != nil {
		return nodeForbidden(a, fmt.Errorf("error checking mirror pod for API references: %w", err))
	} else if ref != "" {
		return nodeForbidden(a, fmt.Errorf("node %q can not create pods that reference %s", name, ref))
	}
	return nil
}

// apiObjectReference names what a mirror pod references in the API, if
// anything (kube's HasAPIObjectReference).
func apiObjectReference(pod *corev1.Pod) (string, error) {
	if pod.Spec.ServiceAccountName != "" {
		return "serviceaccounts", nil
	}
	secrets, configMaps := node.PodSecretAndConfigMapNames(pod)
	if len(secrets) > 0 {
		return "secrets", nil
	}
	if len(configMaps) > 0 {
		return "configmaps", nil
	}
	if len(pod.Spec.ResourceClaims) > 0 {
		return "resourceclaims", nil
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.AWSElasticBlockStore != nil, v.AzureDisk != nil, v.CephFS != nil, v.Cinder != nil,
			v.DownwardAPI != nil, v.EmptyDir != nil, v.FC != nil, v.FlexVolume != nil, v.Flocker != nil, v.GCEPersistentDisk != nil,
			v.GitRepo != nil, v.HostPath != nil, v.Image != nil, v.ISCSI != nil, v.NFS != nil, v.PhotonPersistentDisk != nil,
			v.PortworxVolume != nil, v.Quobyte != nil, v.RBD != nil, v.ScaleIO != nil, v.StorageOS != nil, v.VsphereVolume != nil:
		case v.ConfigMap != nil:
			return "configmaps (via configmap volumes)", nil
		case v.Secret != nil:
			return "secrets (via secret volumes)", nil
		case v.CSI != nil:
			return "csidrivers (via CSI volumes)", nil
		case v.Glusterfs != nil:
			return "endpoints (via glusterFS volumes)", nil
		case v.PersistentVolumeClaim != nil:
			return "persistentvolumeclaims", nil
		case v.Ephemeral != nil:
			return "persistentvolumeclaims (via ephemeral volumes)", nil
		case v.AzureFile != nil:
			return "secrets (via azureFile volumes)", nil
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				switch {
				case s.ConfigMap != nil:
					return "configmaps (via projected volumes)", nil
				case s.Secret != nil:
					return "secrets (via projected volumes)", nil
				case s.ServiceAccountToken != nil:
					return "serviceaccounts (via projected volumes)", nil
				case s.ClusterTrustBundle != nil:
					return "clustertrustbundles", nil
				case s.PodCertificate != nil:
					return "podcertificates", nil
				case s.DownwardAPI != nil:
				default:
					return "", fmt.Errorf("unknown source for projected volume %q", v.Name)
				}
			}
		default:
			return "", fmt.Errorf("unknown volume type for volume  %q", v.Name)
		}
	}
	return "", nil
}

func podStatus(name string, a *Attributes) error {
	if a.Operation != Update {
		return nodeForbidden(a, fmt.Errorf("unexpected operation %q", a.Operation))
	}
	old, ok := a.OldObject.(*corev1.Pod)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.OldObject))
	}
	if old.Spec.NodeName != name {
		return nodeForbidden(a, fmt.Errorf("node %q can only update pod status for pods with spec.nodeName set to itself", name))
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
	}
	if !labels.Equals(old.Labels, pod.Labels) {
		return nodeForbidden(a, fmt.Errorf("node %q cannot update labels through pod status", name))
	}
	if !equality.Semantic.DeepEqual(old.Status.ResourceClaimStatuses, pod.Status.ResourceClaimStatuses) {
		return nodeForbidden(a, fmt.Errorf("node %q cannot update resource claim statues", name))
	}
	if !equality.Semantic.DeepEqual(old.Status.ExtendedResourceClaimStatus, pod.Status.ExtendedResourceClaimStatus) {
		return nodeForbidden(a, fmt.Errorf("node %q cannot update extended resource claim status", name))
	}
	if !equality.Semantic.DeepEqual(old.Status.NodeAllocatableResourceClaimStatuses, pod.Status.NodeAllocatableResourceClaimStatuses) {
		return nodeForbidden(a, fmt.Errorf("node %q cannot update node allocatable resource claim statuses", name))
	}
	return nil
}

func (p *NodeRestriction) eviction(ctx context.Context, name string, a *Attributes) error {
	if a.Operation != Create {
		return nodeForbidden(a, fmt.Errorf("unexpected operation %s", a.Operation))
	}
	podName := a.Name
	if podName == "" {
		if ev, ok := a.Object.(*policyv1.Eviction); ok {
			podName = ev.Name
		}
		if podName == "" {
			return nodeForbidden(a, fmt.Errorf("could not determine pod from request data"))
		}
	}
	obj, err := p.Pods.Get(ctx, a.Namespace, podName)
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return nodeForbidden(a, err)
	}
	if pod, ok := obj.(*corev1.Pod); !ok || pod.Spec.NodeName != name {
		return nodeForbidden(a, fmt.Errorf("node %s can only evict pods with spec.nodeName set to itself", name))
	}
	return nil
}

func pvcStatus(name string, a *Attributes) error {
	if a.Operation != Update {
		return nodeForbidden(a, fmt.Errorf("unexpected operation %q", a.Operation))
	}
	old, ok := a.OldObject.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.OldObject))
	}
	pvc, ok := a.Object.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
	}
	old, pvc = old.DeepCopy(), pvc.DeepCopy()
	for _, c := range []*corev1.PersistentVolumeClaim{old, pvc} {
		c.ResourceVersion = ""
		c.ManagedFields = nil
		c.Status.Capacity = nil
		c.Status.Conditions = nil
		c.Status.AllocatedResourceStatuses = nil
		c.Status.AllocatedResources = nil
	}
	if !equality.Semantic.DeepEqual(old, pvc) {
		return nodeForbidden(a, fmt.Errorf("node %q is not allowed to update fields other than status.quantity and status.conditions: %v", name, diff.Diff(old, pvc)))
	}
	return nil
}

func nodeObject(name string, a *Attributes) error {
	if a.Name != name {
		return nodeForbidden(a, fmt.Errorf("node %q is not allowed to modify node %q", name, a.Name))
	}
	switch a.Operation {
	case Create:
		n, ok := a.Object.(*corev1.Node)
		if !ok {
			return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
		}
		if n.Spec.ConfigSource != nil {
			return nodeForbidden(a, fmt.Errorf("node %q is not allowed to create pods with a non-nil configSource", name))
		}
		if forbidden := forbiddenNodeLabels(n.Labels, nil); len(forbidden) > 0 {
			return nodeForbidden(a, fmt.Errorf("node %q is not allowed to set the following labels: %s", name, strings.Join(forbidden, ", ")))
		}
	case Update:
		n, ok := a.Object.(*corev1.Node)
		if !ok {
			return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
		}
		old, ok := a.OldObject.(*corev1.Node)
		if !ok {
			return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
		}
		if n.Spec.ConfigSource != nil && !equality.Semantic.DeepEqual(n.Spec.ConfigSource, old.Spec.ConfigSource) {
			return nodeForbidden(a, fmt.Errorf("node %q is not allowed to update configSource to a new non-nil configSource", name))
		}
		if !equality.Semantic.DeepEqual(n.Spec.Taints, old.Spec.Taints) {
			return nodeForbidden(a, fmt.Errorf("node %q is not allowed to modify taints", name))
		}
		if !equality.Semantic.DeepEqual(n.OwnerReferences, old.OwnerReferences) {
			return nodeForbidden(a, fmt.Errorf("node %q is not allowed to modify ownerReferences", name))
		}
		if forbidden := forbiddenNodeLabels(n.Labels, old.Labels); len(forbidden) > 0 {
			return nodeForbidden(a, fmt.Errorf("is not allowed to modify labels: %s", strings.Join(forbidden, ", ")))
		}
	}
	return nil
}

// kubeletLabels are the kubernetes.io labels a kubelet sets on its Node
// (k8s.io/kubelet's KubeletLabels).
var kubeletLabels = []string{
	corev1.LabelHostname, corev1.LabelTopologyZone, corev1.LabelTopologyRegion, corev1.LabelFailureDomainBetaZone,
	corev1.LabelFailureDomainBetaRegion, corev1.LabelInstanceType, corev1.LabelInstanceTypeStable, corev1.LabelOSStable,
	corev1.LabelArchStable, "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
}

// forbiddenNodeLabels are the labels added, changed or removed between
// old and labels that a node may not touch, sorted.
func forbiddenNodeLabels(labels, old map[string]string) []string {
	modified := map[string]bool{}
	for k, v := range labels {
		if ov, ok := old[k]; !ok || ov != v {
			modified[k] = true
		}
	}
	for k, v := range old {
		if nv, ok := labels[k]; !ok || nv != v {
			modified[k] = true
		}
	}
	var out []string
	for k := range modified {
		ns := labelNamespace(k)
		restricted := ns == corev1.LabelNamespaceNodeRestriction || strings.HasSuffix(ns, "."+corev1.LabelNamespaceNodeRestriction)
		if restricted || (isKubernetesLabel(ns) && !isKubeletLabel(k, ns)) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func labelNamespace(key string) string {
	if ns, _, ok := strings.Cut(key, "/"); ok {
		return ns
	}
	return ""
}

func isKubernetesLabel(ns string) bool {
	return ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") || ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")
}

func isKubeletLabel(key, ns string) bool {
	if slices.Contains(kubeletLabels, key) {
		return true
	}
	for _, allowed := range []string{corev1.LabelNamespaceSuffixKubelet, corev1.LabelNamespaceSuffixNode} {
		if ns == allowed || strings.HasSuffix(ns, "."+allowed) {
			return true
		}
	}
	return false
}

func nodeLease(name string, a *Attributes) error {
	if a.Namespace != corev1.NamespaceNodeLease {
		return nodeForbidden(a, fmt.Errorf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease))
	}
	leaseName := a.Name
	if a.Operation == Create {
		l, ok := a.Object.(*coordinationv1.Lease)
		if !ok {
			return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
		}
		leaseName = l.Name
	}
	if leaseName != name {
		return nodeForbidden(a, fmt.Errorf("can only access node lease with the same name as the requesting node"))
	}
	return nil
}

func csiNode(name string, a *Attributes) error {
	objName := a.Name
	if a.Operation == Create {
		m, err := meta.Accessor(a.Object)
		if err != nil {
			return nodeForbidden(a, fmt.Errorf("unable to access the object name"))
		}
		objName = m.GetName()
	}
	if objName != name {
		return nodeForbidden(a, fmt.Errorf("can only access CSINode with the same name as the requesting node"))
	}
	if a.Subresource == "status" {
		return nodeForbidden(a, fmt.Errorf("CSIVolumeHealth feature gate is disabled"))
	}
	return nil
}

func resourceSlice(name string, a *Attributes) error {
	var obj any
	var verb string
	switch a.Operation {
	case Create:
		obj, verb = a.Object, "create"
	case Delete:
		obj, verb = a.OldObject, "delete"
	default:
		return nil
	}
	s, ok := obj.(*resourcev1.ResourceSlice)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", obj))
	}
	if s.Spec.NodeName == nil || *s.Spec.NodeName != name {
		return nodeForbidden(a, errors.New("can only "+verb+" ResourceSlice with the same NodeName as the requesting node"))
	}
	return nil
}

func nodeCSR(name string, a *Attributes) error {
	if a.Operation != Create {
		return nil
	}
	csr, ok := a.Object.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
	}
	if csr.Spec.SignerName != certificatesv1.KubeletServingSignerName && csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName {
		return nil
	}
	x509cr, err := parseCSR(csr.Spec.Request)
	if err != nil {
		return nodeForbidden(a, fmt.Errorf("unable to parse csr: %w", err))
	}
	if x509cr.Subject.CommonName != node.UserPrefix+name {
		return nodeForbidden(a, fmt.Errorf("can only create a node CSR with CN=system:node:%s", name))
	}
	return nil
}
