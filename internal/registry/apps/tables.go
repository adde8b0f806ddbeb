package apps

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
)

// The tables of apps/v1 types, as kube-apiserver prints them. The wide
// view adds the template's containers and images, and most add the
// selector.

var (
	containersColumn = metav1.TableColumnDefinition{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."}
	imagesColumn     = metav1.TableColumnDefinition{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."}
)

// replicas is spec.replicas, 1 when unset as defaulting makes it.
func replicas(r *int32) int64 {
	if r == nil {
		return 1
	}
	return int64(*r)
}

var deploymentDocs, deploymentStatusDocs = appsv1.DeploymentSpec{}.SwaggerDoc(), appsv1.DeploymentStatus{}.SwaggerDoc()

// DeploymentTable: NAME READY UP-TO-DATE AVAILABLE AGE, and CONTAINERS
// IMAGES SELECTOR in the wide view.
var DeploymentTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
		{Name: "Up-to-date", Type: "string", Description: deploymentStatusDocs["updatedReplicas"]},
		{Name: "Available", Type: "string", Description: deploymentStatusDocs["availableReplicas"]},
		registry.AgeColumn, containersColumn, imagesColumn,
		{Name: "Selector", Type: "string", Priority: 1, Description: deploymentDocs["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		d := obj.(*appsv1.Deployment)
		names, images := registry.ContainerCells(d.Spec.Template.Spec.Containers)
		// Unlike the other workloads, an empty selector prints as nothing.
		selector := "<invalid>"
		if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
			selector = s.String()
		}
		return []interface{}{fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas)),
			int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas), registry.Age(d, now),
			names, images, selector}
	},
}

var rsDocs, rsStatusDocs = appsv1.ReplicaSetSpec{}.SwaggerDoc(), appsv1.ReplicaSetStatus{}.SwaggerDoc()

var replicaSetTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Desired", Type: "integer", Description: rsDocs["replicas"]},
		{Name: "Current", Type: "integer", Description: rsStatusDocs["replicas"]},
		{Name: "Ready", Type: "integer", Description: rsStatusDocs["readyReplicas"]},
		registry.AgeColumn, containersColumn, imagesColumn,
		{Name: "Selector", Type: "string", Priority: 1, Description: rsDocs["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		rs := obj.(*appsv1.ReplicaSet)
		names, images := registry.ContainerCells(rs.Spec.Template.Spec.Containers)
		return []interface{}{replicas(rs.Spec.Replicas), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas),
			registry.Age(rs, now), names, images, metav1.FormatLabelSelector(rs.Spec.Selector)}
	},
}

var dsDocs, dsStatusDocs = appsv1.DaemonSetSpec{}.SwaggerDoc(), appsv1.DaemonSetStatus{}.SwaggerDoc()

var daemonSetTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Desired", Type: "integer", Description: dsStatusDocs["desiredNumberScheduled"]},
		{Name: "Current", Type: "integer", Description: dsStatusDocs["currentNumberScheduled"]},
		{Name: "Ready", Type: "integer", Description: dsStatusDocs["numberReady"]},
		{Name: "Up-to-date", Type: "integer", Description: dsStatusDocs["updatedNumberScheduled"]},
		{Name: "Available", Type: "integer", Description: dsStatusDocs["numberAvailable"]},
		{Name: "Node Selector", Type: "string", Description: "NodeSelector is a selector which must be true for the pod to fit on a node."},
		registry.AgeColumn, containersColumn, imagesColumn,
		{Name: "Selector", Type: "string", Priority: 1, Description: dsDocs["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		ds := obj.(*appsv1.DaemonSet)
		st := ds.Status
		names, images := registry.ContainerCells(ds.Spec.Template.Spec.Containers)
		return []interface{}{int64(st.DesiredNumberScheduled), int64(st.CurrentNumberScheduled), int64(st.NumberReady),
			int64(st.UpdatedNumberScheduled), int64(st.NumberAvailable), labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
			registry.Age(ds, now), names, images, metav1.FormatLabelSelector(ds.Spec.Selector)}
	},
}

var statefulSetTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
		registry.AgeColumn, containersColumn, imagesColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		ss := obj.(*appsv1.StatefulSet)
		names, images := registry.ContainerCells(ss.Spec.Template.Spec.Containers)
		return []interface{}{fmt.Sprintf("%d/%d", ss.Status.ReadyReplicas, replicas(ss.Spec.Replicas)),
			registry.Age(ss, now), names, images}
	},
}

// controllerRevisionTable names the owning controller as
// "statefulset.apps/web".
var controllerRevisionTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Controller", Type: "string", Description: "Controller of the object"},
		{Name: "Revision", Type: "string", Description: appsv1.ControllerRevision{}.SwaggerDoc()["revision"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		cr := obj.(*appsv1.ControllerRevision)
		controller := "<none>"
		if ref := metav1.GetControllerOf(cr); ref != nil {
			controller = ref.Name
			if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil {
				if gk := gv.WithKind(ref.Kind).GroupKind(); !gk.Empty() {
					controller = strings.ToLower(gk.String()) + "/" + ref.Name
				}
			}
		}
		return []interface{}{controller, cr.Revision, registry.Age(cr, now)}
	},
}
