package autoscaling

import (
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

var hpaDocs, hpaStatusDocs = autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc(), autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()

// hpaColumns: NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE, for
// both versions; v1 objects print through their v2 form.
var hpaColumns = []metav1.TableColumnDefinition{
	{Name: "Reference", Type: "string", Description: hpaDocs["scaleTargetRef"]},
	{Name: "Targets", Type: "string", Description: hpaDocs["metrics"]},
	{Name: "MinPods", Type: "string", Description: hpaDocs["minReplicas"]},
	{Name: "MaxPods", Type: "string", Description: hpaDocs["maxReplicas"]},
	{Name: "Replicas", Type: "string", Description: hpaStatusDocs["currentReplicas"]},
	registry.AgeColumn,
}

var tableV2 = &registry.TableDef{
	Columns: hpaColumns,
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		return hpaCells(obj.(*autoscalingv2.HorizontalPodAutoscaler), now)
	},
}

var tableV1 = &registry.TableDef{
	Columns: hpaColumns,
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		h, err := V1ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler))
		if err != nil {
			return []interface{}{"", "<unknown>", "", int64(0), int64(0), registry.Age(obj, now)}
		}
		return hpaCells(h, now)
	},
}

func hpaCells(h *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []interface{} {
	minPods := "<unset>"
	if h.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *h.Spec.MinReplicas)
	}
	ref := h.Spec.ScaleTargetRef
	return []interface{}{ref.Kind + "/" + ref.Name, hpaTargets(h.Spec.Metrics, h.Status.CurrentMetrics), minPods,
		int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas), registry.Age(h, now)}
}

// hpaTargets prints current/target for the first two metrics, e.g.
// "cpu: 30%/80%, memory: <unknown>/1Gi + 1 more...". The i-th status is
// taken to describe the i-th metric, as kube-apiserver takes it.
func hpaTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	const max = 2
	var list []string
	for i, spec := range specs {
		var st *autoscalingv2.MetricStatus
		if i < len(statuses) {
			st = &statuses[i]
		}
		list = append(list, metricTarget(spec, st))
	}
	if len(list) <= max {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ", "), len(list)-max)
}

func metricTarget(spec autoscalingv2.MetricSpec, st *autoscalingv2.MetricStatus) string {
	current := "<unknown>"
	switch spec.Type {
	case autoscalingv2.ExternalMetricSourceType:
		if spec.External.Target.AverageValue != nil {
			if st != nil && st.External != nil && st.External.Current.AverageValue != nil {
				current = st.External.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", current, spec.External.Target.AverageValue.String())
		}
		if st != nil && st.External != nil {
			current = st.External.Current.Value.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.External.Target.Value.String())
	case autoscalingv2.PodsMetricSourceType:
		if st != nil && st.Pods != nil {
			current = st.Pods.Current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.Pods.Target.AverageValue.String())
	case autoscalingv2.ObjectMetricSourceType:
		if spec.Object.Target.AverageValue != nil {
			if st != nil && st.Object != nil && st.Object.Current.AverageValue != nil {
				current = st.Object.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", current, spec.Object.Target.AverageValue.String())
		}
		if st != nil && st.Object != nil {
			current = st.Object.Current.Value.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.Object.Target.Value.String())
	case autoscalingv2.ResourceMetricSourceType:
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.Resource != nil {
			cur = &st.Resource.Current
		}
		return resourceCell(string(spec.Resource.Name), spec.Resource.Target, cur)
	case autoscalingv2.ContainerResourceMetricSourceType:
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.ContainerResource != nil {
			cur = &st.ContainerResource.Current
		}
		return resourceCell(string(spec.ContainerResource.Name), spec.ContainerResource.Target, cur)
	}
	return "<unknown type>"
}

// resourceCell prints "cpu: 30%/80%" for a utilization target and
// "memory: 100Mi/1Gi" for an average value; a utilization without a
// target is "<auto>".
func resourceCell(name string, target autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	current := "<unknown>"
	if target.AverageValue != nil {
		if cur != nil {
			current = cur.AverageValue.String()
		}
		return fmt.Sprintf("%s: %s/%s", name, current, target.AverageValue.String())
	}
	if cur != nil && cur.AverageUtilization != nil {
		current = fmt.Sprintf("%d%%", *cur.AverageUtilization)
	}
	want := "<auto>"
	if target.AverageUtilization != nil {
		want = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, current, want)
}
