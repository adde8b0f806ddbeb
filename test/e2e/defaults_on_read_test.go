package e2e

import (
	"bytes"
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"

	"kapi/internal/server"
)

// TestStoredObjectsDefaulted: objects stored without the defaults kapi
// now gives them (as an older kapi, or a kube-apiserver of an older
// version, stored them) are served with those defaults, from the watch
// cache and from etcd alike, as kube-apiserver defaults what it decodes
// from etcd. So a write that sends such an object back as it was stored
// counts no new generation, and a Deployment and its ReplicaSet, stored
// with equal templates, still have equal templates after the
// Deployment's next write; kube-controller-manager compares the two, and
// would otherwise roll the Deployment out.
func TestStoredObjectsDefaulted(t *testing.T) {
	url := startEtcd(t)
	ctx := context.Background()
	c := etcdClient(t, url)

	labels := map[string]string{"app": "web"}
	// A template as a client writes it: none of the defaults.
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
	}
	stored := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Generation: 1,
			CreationTimestamp: metav1.NewTime(time.Now().Truncate(time.Second))}
	}
	deployment := func(name string) *appsv1.Deployment {
		return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: stored(name),
			Spec: appsv1.DeploymentSpec{Replicas: ptr[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template}}
	}
	put := func(key string, obj runtime.Object) {
		var buf bytes.Buffer
		if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(obj, &buf); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Put(ctx, "/registry/"+key, buf.String()); err != nil {
			t.Fatal(err)
		}
	}
	modes := map[string]bool{"cached": true, "direct": false}
	for mode := range modes {
		put("deployments/default/web-"+mode, deployment("web-"+mode))
		put("replicasets/default/web-"+mode, &appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
			ObjectMeta: stored("web-" + mode),
			Spec:       appsv1.ReplicaSetSpec{Replicas: ptr[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template}})
		put("pods/default/p-"+mode, &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: stored("p-" + mode),
			Spec: template.Spec, Status: corev1.PodStatus{Phase: corev1.PodPending, PodIP: "10.0.0.1"}})
	}

	for mode, watchCache := range modes {
		t.Run(mode, func(t *testing.T) {
			k := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) {
				c.EtcdServers, c.WatchCache = []string{url}, watchCache
			})
			deployments := k.client.AppsV1().Deployments("default")
			d, err := deployments.Get(ctx, "web-"+mode, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			spec := d.Spec.Template.Spec
			if spec.RestartPolicy != corev1.RestartPolicyAlways || spec.Containers[0].TerminationMessagePath != corev1.TerminationMessagePathDefault ||
				d.Spec.RevisionHistoryLimit == nil || *d.Spec.RevisionHistoryLimit != 10 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
				t.Errorf("the stored Deployment is served without its defaults: %+v", d.Spec)
			}
			pods, err := k.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=p-" + mode})
			if err != nil || len(pods.Items) != 1 {
				t.Fatalf("pods: %v %v", err, pods)
			}
			if p := pods.Items[0]; p.Spec.DNSPolicy != corev1.DNSClusterFirst || p.Spec.EnableServiceLinks == nil ||
				len(p.Status.PodIPs) != 1 || p.Status.PodIPs[0].IP != "10.0.0.1" {
				t.Errorf("the stored Pod is listed without its defaults: %+v %+v", p.Spec, p.Status)
			}

			// The manifest as it was stored, sent back (kubectl replace):
			// nothing changes but what defaults give, so no generation.
			again := deployment("web-" + mode)
			again.ResourceVersion, again.UID, again.CreationTimestamp = d.ResourceVersion, "", metav1.Time{}
			replaced, err := deployments.Update(ctx, again, metav1.UpdateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if replaced.Generation != 1 {
				t.Errorf("sending back the stored Deployment counted generation %d, want 1", replaced.Generation)
			}
			// A write of the Deployment's own (a label) leaves its template
			// equal to the ReplicaSet's, which was stored alike and not
			// written since.
			d, err = deployments.Patch(ctx, "web-"+mode, types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":"front"}}}`), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rs, err := k.client.AppsV1().ReplicaSets("default").Get(ctx, "web-"+mode, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(d.Spec.Template, rs.Spec.Template) {
				t.Errorf("the Deployment's template after a write differs from its ReplicaSet's:\n%+v\n%+v", d.Spec.Template, rs.Spec.Template)
			}
			if d.Generation != 1 {
				t.Errorf("a label counted generation %d, want 1", d.Generation)
			}
		})
	}
}
