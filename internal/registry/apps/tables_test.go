package apps

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var now = time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)

func cells(t *testing.T, name string, obj runtime.Object) []interface{} {
	t.Helper()
	for _, r := range Resources() {
		if r.Name == name {
			c := r.TableRow(obj, now)
			if len(c) != len(r.TableColumns()) {
				t.Fatalf("%d cells for %d columns", len(c), len(r.TableColumns()))
			}
			return c
		}
	}
	t.Fatalf("no row %s", name)
	return nil
}

func check(t *testing.T, got []interface{}, want ...interface{}) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %#v\nwant %#v", got, want)
	}
}

func template(containers ...corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}
}

func TestDeploymentTable(t *testing.T) {
	var names []string
	for _, c := range DeploymentTable.Columns {
		names = append(names, c.Name)
		if (c.Priority == 1) != (c.Name == "Containers" || c.Name == "Images" || c.Name == "Selector") {
			t.Errorf("column %s has priority %d", c.Name, c.Priority)
		}
	}
	if want := []string{"Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %v", names)
	}

	three := int32(3)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: metav1.NewTime(now.Add(-26 * time.Hour))},
		Spec: appsv1.DeploymentSpec{Replicas: &three,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}},
			Template: template(corev1.Container{Name: "app", Image: "nginx:1.29"}, corev1.Container{Name: "log", Image: "busybox"})},
		Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2},
	}
	check(t, cells(t, "deployments", d), "web", "2/3", int64(3), int64(2), "26h", "app,log", "nginx:1.29,busybox", "app=web,tier in (a,b)")

	// Unset replicas default to one; an empty selector prints as nothing.
	d.Spec.Replicas, d.Spec.Selector = nil, &metav1.LabelSelector{}
	d.Status = appsv1.DeploymentStatus{}
	check(t, cells(t, "deployments", d)[1:4], "0/1", int64(0), int64(0))
	check(t, cells(t, "deployments", d)[7:], "")
}

func TestOtherWorkloadTables(t *testing.T) {
	created := metav1.NewTime(now.Add(-5 * time.Minute))
	two := int32(2)
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	check(t, cells(t, "replicasets", &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-7d", CreationTimestamp: created},
		Spec:   appsv1.ReplicaSetSpec{Replicas: &two, Selector: sel, Template: template(corev1.Container{Name: "app", Image: "nginx"})},
		Status: appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1}}),
		"web-7d", int64(2), int64(2), int64(1), "5m", "app", "nginx", "app=db")
	check(t, cells(t, "statefulsets", &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", CreationTimestamp: created},
		Spec:   appsv1.StatefulSetSpec{Replicas: &two, Template: template(corev1.Container{Name: "pg", Image: "postgres"})},
		Status: appsv1.StatefulSetStatus{ReadyReplicas: 2}}),
		"db", "2/2", "5m", "pg", "postgres")
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", CreationTimestamp: created},
		Spec: appsv1.DaemonSetSpec{Template: template(corev1.Container{Name: "a", Image: "agent"})},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2,
			UpdatedNumberScheduled: 3, NumberAvailable: 2}}
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	check(t, cells(t, "daemonsets", ds), "agent", int64(3), int64(3), int64(2), int64(3), int64(2), "kubernetes.io/os=linux",
		"5m", "a", "agent", "<none>")
	isController := true
	cr := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "db-6f", CreationTimestamp: created,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: &isController}}},
		Revision: 4}
	check(t, cells(t, "controllerrevisions", cr), "db-6f", "statefulset.apps/db", int64(4), "5m")
}
