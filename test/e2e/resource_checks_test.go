package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestResourceClaimChecks: what kube's ResourceClaim strategies check
// beyond validation (pkg/registry/resource/utils.go). A claim or claim
// template asking for admin access to devices is refused (422, kube's
// message) until its namespace has the resource.kubernetes.io/admin-access
// label; a claim's status.allocation changes only by who may update
// resourceclaims/binding in every namespace; the status of a driver's
// devices only by who may update resourceclaims/driver of that driver,
// with "associated-node:" verbs for a service account on the claim's node
// and "arbitrary-node:" ones for anyone; and deallocating a device drops
// its status.
func TestResourceClaimChecks(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	const ns = "default"
	rc := k.client.ResourceV1()

	admin := func(name string) resourcev1.DeviceClaim {
		return resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{
			{Name: "plain", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com"}},
			{Name: name, Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com", AdminAccess: ptr(true)}}}}
	}
	claim := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Name: "admin"}, Spec: resourcev1.ResourceClaimSpec{Devices: admin("monitor")}}
	template := &resourcev1.ResourceClaimTemplate{ObjectMeta: metav1.ObjectMeta{Name: "admin"},
		Spec: resourcev1.ResourceClaimTemplateSpec{Spec: resourcev1.ResourceClaimSpec{Devices: admin("monitor")}}}
	const refusal = "spec.devices.requests[1].adminAccess: Forbidden: admin access to devices requires the `resource.kubernetes.io/admin-access: true` label on the containing namespace"
	if _, err := rc.ResourceClaims(ns).Create(ctx, claim, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), refusal) {
		t.Fatalf("a claim asking for admin access in an unlabelled namespace: %v", err)
	}
	if _, err := rc.ResourceClaimTemplates(ns).Create(ctx, template, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), refusal) {
		t.Fatalf("a template asking for admin access in an unlabelled namespace: %v", err)
	}
	if l, err := rc.ResourceClaims(ns).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Fatalf("the refused claim was stored: %v %v", l, err)
	}
	nsObj, err := k.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["resource.kubernetes.io/admin-access"] = "true"
	if _, err := k.client.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.ResourceClaims(ns).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a claim asking for admin access in a labelled namespace: %v", err)
	}
	if _, err := rc.ResourceClaimTemplates(ns).Create(ctx, template, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a template asking for admin access in a labelled namespace: %v", err)
	}

	// Status writers: each may update resourceclaims/status, and some more.
	rbac := k.client.RbacV1()
	role := func(name string, subject rbacv1.Subject, rules ...rbacv1.PolicyRule) {
		t.Helper()
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{"resource.k8s.io"}, Resources: []string{"resourceclaims", "resourceclaims/status"},
			Verbs: []string{"get", "update", "patch"}})
		if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{subject}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The RBAC authorizer learns of the binding through its watch:
		// wait until it allows what the role grants.
		who := subject.Name
		if subject.Kind == "ServiceAccount" {
			who = "system:serviceaccount:" + subject.Namespace + ":" + subject.Name
		}
		if err := waitUntil(20*time.Second, func() bool {
			sar, err := k.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: who, ResourceAttributes: &authorizationv1.ResourceAttributes{Group: "resource.k8s.io", Resource: "resourceclaims",
					Subresource: "status", Verb: "update", Namespace: ns}}}, metav1.CreateOptions{})
			return err == nil && sar.Status.Allowed
		}); err != nil {
			t.Fatalf("%s's role did not take effect: %v", who, err)
		}
	}
	binder := rbacv1.PolicyRule{APIGroups: []string{"resource.k8s.io"}, Resources: []string{"resourceclaims/binding"}, Verbs: []string{"update"}}
	user := func(name string) rbacv1.Subject {
		return rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: name}
	}
	role("status-only", user("status-only"))
	role("binder", user("binder"), binder)
	role("anywhere-driver", user("anywhere-driver"), binder, rbacv1.PolicyRule{APIGroups: []string{"resource.k8s.io"}, Resources: []string{"resourceclaims/driver"},
		ResourceNames: []string{"gpu.example.com"}, Verbs: []string{"arbitrary-node:update"}})
	// A node's driver: a service account (impersonated, with its token's
	// node) allowed for the claims allocated on its own node only.
	const nodeSA = "system:serviceaccount:default:gpu-driver"
	role("node-driver", rbacv1.Subject{Kind: "ServiceAccount", Name: "gpu-driver", Namespace: "default"}, binder,
		rbacv1.PolicyRule{APIGroups: []string{"resource.k8s.io"}, Resources: []string{"resourceclaims/driver"},
			ResourceNames: []string{"gpu.example.com"}, Verbs: []string{"associated-node:update"}})
	as := func(user string, extra map[string][]string) kubernetes.Interface {
		c := rest.CopyConfig(k.rest)
		c.Impersonate = rest.ImpersonationConfig{UserName: user, Extra: extra}
		return kubernetes.NewForConfigOrDie(c)
	}
	onNode := func(node string) kubernetes.Interface {
		return as(nodeSA, map[string][]string{"authentication.kubernetes.io/node-name": {node}})
	}

	plain, err := rc.ResourceClaims(ns).Create(ctx, &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Name: "plain"},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{
			{Name: "gpu", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com"}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	allocated := plain.DeepCopy()
	allocated.Status.Allocation = &resourcev1.AllocationResult{
		Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{
			{Request: "gpu", Driver: "gpu.example.com", Pool: "node-a", Device: "gpu-0"}}},
		NodeSelector: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-a"}}}}}}}
	_, err = as("status-only", nil).ResourceV1().ResourceClaims(ns).UpdateStatus(ctx, allocated, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `status.allocation: Forbidden: changing status.allocation or status.reservedFor requires resource="resourceclaims/binding", verb="update" permission: resourceclaims.resource.k8s.io is forbidden: User "status-only" cannot update resource "resourceclaims/binding" in API group "resource.k8s.io" at the cluster scope`) {
		t.Fatalf("allocating without resourceclaims/binding: %v", err)
	}
	if plain, err = as("binder", nil).ResourceV1().ResourceClaims(ns).UpdateStatus(ctx, allocated, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("allocating with resourceclaims/binding: %v", err)
	}

	withDevice := plain.DeepCopy()
	withDevice.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: "gpu.example.com", Pool: "node-a", Device: "gpu-0",
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Up", LastTransitionTime: metav1.Now()}}}}
	_, err = as("binder", nil).ResourceV1().ResourceClaims(ns).UpdateStatus(ctx, withDevice, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `status.devices: Forbidden: changing status.devices requires resource="resourceclaims/driver", verb="[arbitrary-node:update]" permission: resourceclaims.resource.k8s.io "gpu.example.com" is forbidden: User "binder" cannot arbitrary-node:update resource "resourceclaims/driver" in API group "resource.k8s.io" in the namespace "default"`) {
		t.Fatalf("a device's status without resourceclaims/driver: %v", err)
	}
	_, err = onNode("node-b").ResourceV1().ResourceClaims(ns).UpdateStatus(ctx, withDevice, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `verb="[arbitrary-node:update]" permission`) {
		t.Fatalf("a device's status by a node driver on another node: %v", err)
	}
	if withDevice, err = onNode("node-a").ResourceV1().ResourceClaims(ns).UpdateStatus(ctx, withDevice, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("a device's status by the driver on the claim's node: %v", err)
	}
	withDevice.Status.Devices[0].Conditions[0].Reason = "StillUp"
	if plain, err = as("anywhere-driver", nil).ResourceV1().ResourceClaims(ns).UpdateStatus(ctx, withDevice, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("a device's status by a driver allowed on any node: %v", err)
	}

	// Deallocated, the device's status goes with it.
	plain.Status.Allocation = nil
	plain, err = as("binder", nil).ResourceV1().ResourceClaims(ns).UpdateStatus(ctx, plain, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("deallocating: %v", err)
	}
	if len(plain.Status.Devices) != 0 {
		t.Fatalf("deallocated, the claim keeps its device's status: %+v", plain.Status.Devices)
	}

	// Allocating admin access needs the label too.
	nsObj, err = k.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(nsObj.Labels, "resource.kubernetes.io/admin-access")
	if _, err := k.client.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	adminClaim, err := rc.ResourceClaims(ns).Get(ctx, "admin", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	adminClaim.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{
		{Request: "monitor", Driver: "gpu.example.com", Pool: "node-a", Device: "gpu-0", AdminAccess: ptr(true)}}}}
	_, err = rc.ResourceClaims(ns).UpdateStatus(ctx, adminClaim, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "status.allocation.devices.results[0].adminAccess: Forbidden: admin access to devices requires the `resource.kubernetes.io/admin-access: true` label") {
		t.Fatalf("granting admin access in an unlabelled namespace: %v", err)
	}
}
