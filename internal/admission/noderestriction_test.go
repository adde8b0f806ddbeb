package admission

import (
	"context"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// TestNodeRestriction: what each node may write for itself, with kube's
// messages; other users pass.
func TestNodeRestriction(t *testing.T) {
	nodesRow, leasesRow := row("v1/nodes", false), row("coordination.k8s.io/v1/leases", true)
	pcrRow := row("certificates.k8s.io/v1/podcertificaterequests", true)
	node := func(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "uid-name", Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	pod := func(name, nodeName string, annotations map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: "uid-name", Annotations: annotations},
			Spec: corev1.PodSpec{NodeName: nodeName, ServiceAccountName: "sa"}}
	}
	p := &NodeRestriction{Pods: objects("pods", pod("p1", "n1", nil), pod("p2", "n2", nil)), Nodes: objects("nodes", node("n1", nil)),
		ServiceAccounts: objects("serviceaccounts", &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "sa", UID: "sa-uid"}})}
	n1 := &request.User{Name: "system:node:n1", Groups: []string{"system:nodes", request.AllAuthenticated}}
	pcr := func(podName string) *certificatesv1.PodCertificateRequest {
		return &certificatesv1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"}, Spec: certificatesv1.PodCertificateRequestSpec{
			SignerName: "example.com/s", PodName: podName, PodUID: "uid-name", ServiceAccountName: "sa", ServiceAccountUID: "sa-uid", NodeName: "n1", NodeUID: "uid-name"}}
	}
	for _, c := range []struct {
		name string
		user *request.User
		a    *Attributes
		want string
	}{
		{"own node's labels", n1, attrs(Update, nodesRow, "", node("n1", map[string]string{"kubernetes.io/hostname": "h", "a.node.kubernetes.io/x": "1", "example.com/y": "2"}), node("n1", nil)), ""},
		{"restricted labels", n1, attrs(Update, nodesRow, "", node("n1", map[string]string{"node-role.kubernetes.io/worker": "", "x.node-restriction.kubernetes.io/z": ""}), node("n1", nil)),
			`nodes "n1" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/worker, x.node-restriction.kubernetes.io/z`},
		{"removing a restricted label", n1, attrs(Update, nodesRow, "", node("n1", nil), node("n1", map[string]string{"k8s.io/pool": "a"})), "is not allowed to modify labels: k8s.io/pool"},
		{"create with restricted labels", n1, attrs(Create, nodesRow, "", node("n1", map[string]string{"node-role.kubernetes.io/x": ""}), nil),
			`node "n1" is not allowed to set the following labels: node-role.kubernetes.io/x`},
		{"taints", n1, attrs(Update, nodesRow, "", node("n1", nil, corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoSchedule}), node("n1", nil)), `node "n1" is not allowed to modify taints`},
		{"another node", n1, attrs(Update, nodesRow, "status", node("n2", nil), node("n2", nil)), `nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"`},
		{"another node as someone else", &request.User{Name: "bob"}, attrs(Update, nodesRow, "status", node("n2", nil), node("n2", nil)), ""},
		{"a node without system:nodes", &request.User{Name: "system:node:n1"}, attrs(Update, nodesRow, "", node("n2", nil), node("n2", nil)), ""},
		{"unnamed node", &request.User{Name: "system:node:", Groups: []string{"system:nodes"}}, attrs(Update, nodesRow, "", node("n2", nil), node("n2", nil)),
			`could not determine node from user "system:node:"`},
		{"its lease", n1, attrs(Create, leasesRow, "", &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-node-lease", Name: "n1"}}, nil), ""},
		{"another lease", n1, attrs(Create, leasesRow, "", &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-node-lease", Name: "n2"}}, nil),
			"can only access node lease with the same name as the requesting node"},
		{"a pod's status on another node", n1, attrs(Update, podsRow, "status", pod("p2", "n2", nil), pod("p2", "n2", nil)),
			`node "n1" can only update pod status for pods with spec.nodeName set to itself`},
		{"a pod's labels through status", n1, attrs(Update, podsRow, "status", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1", Labels: map[string]string{"a": "b"}}, Spec: corev1.PodSpec{NodeName: "n1"}}, pod("p1", "n1", nil)),
			`node "n1" cannot update labels through pod status`},
		{"a pod's update", n1, attrs(Update, podsRow, "", pod("p1", "n1", nil), pod("p1", "n1", nil)), `unexpected operation "UPDATE", node "n1" can only create and delete mirror pods`},
		{"a pod's binding", n1, attrs(Create, podsRow, "binding", pod("p1", "n1", nil), nil), `unexpected pod subresource "binding", only 'status' and 'eviction' are allowed`},
		{"a mirror pod without owner", n1, attrs(Create, podsRow, "", pod("m", "n1", map[string]string{"kubernetes.io/config.mirror": "x"}), nil),
			`node "n1" can only create pods with an owner reference set to itself`},
		{"a pod certificate of its pod", n1, attrs(Create, pcrRow, "", pcr("p1"), nil), `pod "ns/p1" does not mount a podCertificate projected volume for signer "example.com/s"`},
		{"a pod certificate of another node's pod", n1, attrs(Create, pcrRow, "", pcr("p2"), nil), `pod "ns/p2" is not running on node "n1" named in the PodCertificateRequest`},
		{"a pod certificate of a pod not there", n1, attrs(Create, pcrRow, "", pcr("gone"), nil), `while retrieving pod "ns/gone" named in the PodCertificateRequest: pods "gone" not found`},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.a.User = c.user
			p.Authorizer = denyAll{}
			wantErr(t, p.Admit(context.Background(), c.a), c.want, 0)
		})
	}
	if got := forbiddenNodeLabels(map[string]string{"beta.kubernetes.io/arch": "a", "topology.kubernetes.io/zone": "z", "kubernetes.io/role": "r"}, nil); len(got) != 1 || got[0] != "kubernetes.io/role" {
		t.Errorf("forbidden labels %v", got)
	}
}

// denyAll has no opinion on anything.
type denyAll struct{}

func (denyAll) Authorize(context.Context, authz.Attributes) (authz.Decision, string, error) {
	return authz.NoOpinion, "", nil
}
