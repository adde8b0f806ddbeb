package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/registry/fieldtest"
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// TestLimitRangeValidation: kube's ValidateLimitRange, its orderings and
// names.
func TestLimitRangeValidation(t *testing.T) {
	for _, c := range []struct {
		name   string
		limits []corev1.LimitRangeItem
		want   string
	}{
		{"valid", []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Min: rl("cpu", "100m"), Max: rl("cpu", "2"),
			Default: rl("cpu", "1"), DefaultRequest: rl("cpu", "500m"), MaxLimitRequestRatio: rl("cpu", "4")}}, ""},
		{"min above max", []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Min: rl("cpu", "2"), Max: rl("cpu", "1")}},
			"spec.limits[0].min[cpu]: Invalid value"},
		{"default above max, request above default", []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Max: rl("memory", "1Gi"),
			Default: rl("memory", "2Gi"), DefaultRequest: rl("memory", "3Gi")}},
			"spec.limits[0].defaultRequest[memory]: Invalid value; spec.limits[0].defaultRequest[memory]: Invalid value; spec.limits[0].default[memory]: Invalid value"},
		{"ratio", []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Min: rl("cpu", "1"), Max: rl("cpu", "2"), MaxLimitRequestRatio: rl("cpu", "3")}},
			"spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value"},
		{"pod defaults", []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Default: rl("cpu", "1")}}, "spec.limits[0].default: Forbidden"},
		{"claim without storage", []corev1.LimitRangeItem{{Type: corev1.LimitTypePersistentVolumeClaim}}, "spec.limits[0].limits: Required value"},
		{"twice, odd type and resource", []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}, {Type: corev1.LimitTypeContainer, Max: rl("pods", "1")}, {Type: "Thing"}},
			"spec.limits[1].type: Duplicate value; spec.limits[1].max[pods]: Invalid value; spec.limits[2].type: Invalid value"},
	} {
		lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "ns"}, Spec: corev1.LimitRangeSpec{Limits: c.limits}}
		if got := fieldtest.Paths(limitRangeHooks.Validate(lr, nil)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestResourceQuotaValidation: kube's ValidateResourceQuotaSpec.
func TestResourceQuotaValidation(t *testing.T) {
	for _, c := range []struct {
		hard corev1.ResourceList
		want string
	}{
		{rl("pods", "10", "requests.cpu", "2", "count/deployments.apps", "3", "requests.nvidia.com/gpu", "1", "bogus/thing", "1"), ""},
		{rl("pods", "-1"), "spec.hard[pods]: Invalid value"},
		{rl("pods", "1500m"), "spec.hard[pods]: Invalid value"},
		{rl("things", "1"), "spec.hard[things]: Invalid value"},
		{rl("storage", "1Gi"), "spec.hard[storage]: Invalid value"},
		// kube quotas huge pages by requests only.
		{rl("hugepages-2Mi", "4Mi", "requests.hugepages-1Gi", "1Gi"), ""},
		{rl("limits.hugepages-2Mi", "4Mi"), "spec.hard[limits.hugepages-2Mi]: Invalid value"},
	} {
		q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns"}, Spec: corev1.ResourceQuotaSpec{Hard: c.hard}}
		if got := fieldtest.Paths(resourceQuotaHooks.Validate(q, nil)); got != c.want {
			t.Errorf("%v: %q, want %q", c.hard, got, c.want)
		}
	}
}

// TestLimitRangeDefaults: kube's SetDefaults_LimitRangeItem, stored with
// the range: a container's default limit from max, its default request
// from the default limit, else from min; other types untouched.
func TestLimitRangeDefaults(t *testing.T) {
	q := resource.MustParse
	lr := &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"cpu": q("2")}, Min: corev1.ResourceList{"memory": q("64Mi"), "cpu": q("100m")}},
		{Type: corev1.LimitTypePod, Max: corev1.ResourceList{"cpu": q("4")}},
	}}}
	limitRangeHooks.PrepareCreate(lr)
	c := lr.Spec.Limits[0]
	if c.Default.Cpu().String() != "2" || c.DefaultRequest.Cpu().String() != "2" || c.DefaultRequest.Memory().String() != "64Mi" || len(c.Default) != 1 {
		t.Errorf("container defaults: default %v, defaultRequest %v", c.Default, c.DefaultRequest)
	}
	if p := lr.Spec.Limits[1]; p.Default != nil || p.DefaultRequest != nil {
		t.Errorf("pod item: %+v", p)
	}
	if errs := validateLimitRange(lr); len(errs) != 0 {
		t.Errorf("the defaulted range: %v", errs)
	}
}
