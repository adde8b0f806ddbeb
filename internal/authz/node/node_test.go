package node

import (
	"context"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/authz"
	"kapi/internal/request"
)

func nodeUser(name string) *request.User {
	return &request.User{Name: UserPrefix + name, Groups: []string{Group, "system:authenticated"}}
}

// TestNodeAuthorizer: a node reads what the pods bound to it reference,
// and nothing else; its own Node and Lease by name; the rest by kube's
// static rules; a user who is not a node has no opinion from it.
func TestNodeAuthorizer(t *testing.T) {
	g := NewGraph()
	z := New(g)
	pod := func(name, node string, spec corev1.PodSpec) *corev1.Pod {
		spec.NodeName = node
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: spec}
	}
	g.SetPod(pod("p1", "n1", corev1.PodSpec{ServiceAccountName: "sa1",
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
		Containers: []corev1.Container{{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "env-secret"}}}}}}},
		Volumes: []corev1.Volume{
			{Name: "v1", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s1"}}},
			{Name: "v2", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c1"}}}},
			{Name: "v3", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pvc1"}}},
			{Name: "eph", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
		}}))
	g.SetPod(pod("p2", "n2", corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s2"}}}}}))
	g.SetPod(pod("unbound", "", corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s3"}}}}}))
	g.SetPV(&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}, Spec: corev1.PersistentVolumeSpec{
		ClaimRef: &corev1.ObjectReference{Namespace: "ns", Name: "pvc1"},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
			NodePublishSecretRef: &corev1.SecretReference{Namespace: "csi", Name: "pub"}, ControllerPublishSecretRef: &corev1.SecretReference{Namespace: "csi", Name: "ctl"}}}}})

	g.SetResourceSlice(&resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: "slice-n1"}, Spec: resourcev1.ResourceSliceSpec{NodeName: &[]string{"n1"}[0]}})
	g.SetPodCertificateRequest(&certificatesv1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pcr1"}, Spec: certificatesv1.PodCertificateRequestSpec{NodeName: "n1"}})

	res := func(verb, group, resource, sub, ns, name string) authz.Attributes {
		return authz.Attributes{Verb: verb, ResourceRequest: true, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
	}
	for _, c := range []struct {
		user   *request.User
		a      authz.Attributes
		want   authz.Decision
		reason string
	}{
		{nodeUser("n1"), res("get", "", "secrets", "", "ns", "s1"), authz.Allow, ""},
		{nodeUser("n1"), res("watch", "", "secrets", "", "ns", "env-secret"), authz.Allow, ""},
		{nodeUser("n1"), res("get", "", "secrets", "", "ns", "pull"), authz.Allow, ""},
		{nodeUser("n1"), res("get", "", "secrets", "", "ns", "s2"), authz.NoOpinion, "no relationship found between node 'n1' and this object"},
		{nodeUser("n2"), res("get", "", "secrets", "", "ns", "s2"), authz.Allow, ""},
		{nodeUser("n1"), res("get", "", "secrets", "", "ns", "s3"), authz.NoOpinion, "no relationship found between node 'n1' and this object"},
		{nodeUser("n1"), res("list", "", "secrets", "", "ns", ""), authz.NoOpinion, "No Object name found"},
		{nodeUser("n1"), res("update", "", "secrets", "", "ns", "s1"), authz.NoOpinion, "can only read resources of this type"},
		{nodeUser("n1"), res("get", "", "configmaps", "", "ns", "c1"), authz.Allow, ""},
		{nodeUser("n1"), res("get", "", "persistentvolumeclaims", "", "ns", "pvc1"), authz.Allow, ""},
		{nodeUser("n1"), res("get", "", "persistentvolumeclaims", "", "ns", "p1-eph"), authz.Allow, ""},
		{nodeUser("n1"), res("list", "", "persistentvolumeclaims", "", "ns", "pvc1"), authz.NoOpinion, "can only get individual resources of this type"},
		{nodeUser("n1"), res("get", "", "persistentvolumes", "", "", "pv1"), authz.Allow, ""},
		{nodeUser("n2"), res("get", "", "persistentvolumes", "", "", "pv1"), authz.NoOpinion, "no relationship found between node 'n2' and this object"},
		{nodeUser("n1"), res("get", "", "secrets", "", "csi", "pub"), authz.Allow, ""},
		{nodeUser("n1"), res("get", "", "secrets", "", "csi", "ctl"), authz.NoOpinion, "no relationship found between node 'n1' and this object"},
		{nodeUser("n1"), res("create", "", "serviceaccounts", "token", "ns", "sa1"), authz.Allow, ""},
		{nodeUser("n2"), res("create", "", "serviceaccounts", "token", "ns", "sa1"), authz.NoOpinion, "no relationship found between node 'n2' and this object"},
		{nodeUser("n1"), res("get", "", "pods", "", "ns", "p1"), authz.Allow, ""},
		{nodeUser("n1"), res("get", "", "pods", "", "ns", "p2"), authz.NoOpinion, "no relationship found between node 'n1' and this object"},
		{nodeUser("n1"), res("list", "", "pods", "", "", ""), authz.NoOpinion, "can only list/watch pods with spec.nodeName field selector"},
		{nodeUser("n1"), authz.Attributes{Verb: "watch", ResourceRequest: true, Resource: "pods", FieldSelector: "spec.nodeName=n1"}, authz.Allow, ""},
		{nodeUser("n1"), authz.Attributes{Verb: "watch", ResourceRequest: true, Resource: "pods", FieldSelector: "spec.nodeName=n2"}, authz.NoOpinion, "can only list/watch pods with spec.nodeName field selector"},
		{nodeUser("n1"), res("get", "", "nodes", "", "", "n1"), authz.Allow, ""},
		{nodeUser("n1"), res("get", "", "nodes", "", "", "n2"), authz.NoOpinion, "node 'n1' cannot read 'n2', only its own Node object"},
		{nodeUser("n1"), res("list", "", "nodes", "", "", ""), authz.NoOpinion, "node 'n1' cannot read all nodes, only its own Node object"},
		{nodeUser("n1"), res("patch", "", "nodes", "status", "", "n2"), authz.Allow, ""}, // NodeRestriction's to refuse
		{nodeUser("n1"), res("delete", "", "nodes", "", "", "n1"), authz.NoOpinion, ""},
		{nodeUser("n1"), res("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), authz.Allow, ""},
		{nodeUser("n1"), res("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n2"), authz.NoOpinion, "can only access node lease with the same name as the requesting node"},
		{nodeUser("n1"), res("get", "coordination.k8s.io", "leases", "", "default", "n1"), authz.NoOpinion, `can only access leases in the "kube-node-lease" system namespace`},
		{nodeUser("n1"), res("create", "", "events", "", "ns", ""), authz.Allow, ""},
		{nodeUser("n1"), res("create", "authentication.k8s.io", "tokenreviews", "", "", ""), authz.Allow, ""},
		{nodeUser("n1"), res("create", "certificates.k8s.io", "certificatesigningrequests", "", "", ""), authz.Allow, ""},
		{nodeUser("n1"), res("delete", "", "namespaces", "", "", "ns"), authz.NoOpinion, ""},
		{nodeUser("n1"), res("get", "", "serviceaccounts", "", "ns", "sa1"), authz.Allow, ""},
		{nodeUser("n2"), res("get", "", "serviceaccounts", "", "ns", "sa1"), authz.NoOpinion, "no relationship found between node 'n2' and this object"},
		{nodeUser("n1"), res("get", "resource.k8s.io", "resourceslices", "", "", "slice-n1"), authz.Allow, ""},
		{nodeUser("n2"), res("delete", "resource.k8s.io", "resourceslices", "", "", "slice-n1"), authz.NoOpinion, "no relationship found between node 'n2' and this object"},
		{nodeUser("n2"), res("create", "resource.k8s.io", "resourceslices", "", "", ""), authz.Allow, ""},
		{nodeUser("n1"), authz.Attributes{Verb: "deletecollection", ResourceRequest: true, APIGroup: "resource.k8s.io", Resource: "resourceslices", FieldSelector: "spec.nodeName=n1"}, authz.Allow, ""},
		{nodeUser("n1"), res("list", "resource.k8s.io", "resourceslices", "", "", ""), authz.NoOpinion, "can only list/watch/deletecollection resourceslices with nodeName field selector"},
		{nodeUser("n1"), res("get", "certificates.k8s.io", "podcertificaterequests", "", "ns", "pcr1"), authz.Allow, ""},
		{nodeUser("n2"), res("get", "certificates.k8s.io", "podcertificaterequests", "", "ns", "pcr1"), authz.NoOpinion, "no relationship found between node 'n2' and this object"},
		{nodeUser("n2"), res("delete", "certificates.k8s.io", "podcertificaterequests", "", "ns", "pcr1"), authz.NoOpinion, "nodes may not delete podcertificaterequests"},
		{&request.User{Name: "system:node:n1"}, res("get", "", "nodes", "", "", "n1"), authz.NoOpinion, ""},
		{nodeUser(""), res("get", "", "nodes", "", "", "n1"), authz.NoOpinion, `unknown node for user "system:node:"`},
	} {
		c.a.User = c.user
		d, reason, err := z.Authorize(context.Background(), c.a)
		if err != nil || d != c.want || reason != c.reason {
			t.Errorf("%s %+v: %v %q %v, want %v %q", c.user.Name, c.a, d, reason, err, c.want, c.reason)
		}
	}

	// The pod moves away and is deleted: what it referenced is no longer
	// reachable.
	g.SetPod(pod("p1", "", corev1.PodSpec{}))
	if g.reaches("n1", secretKind, "ns", "s1") || g.reaches("n1", pvKind, "", "pv1") {
		t.Error("an unbound pod's references still reach its former node")
	}
	g.DeletePod("ns", "p2")
	if g.reaches("n2", secretKind, "ns", "s2") || len(g.direct) != 0 || len(g.pods) != 0 {
		t.Errorf("a deleted pod's references remain: %v", g.direct)
	}
}
