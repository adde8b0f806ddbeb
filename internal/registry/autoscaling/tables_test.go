package autoscaling

import (
	"reflect"
	"testing"
	"time"
)

func TestTables(t *testing.T) {
	now := when.Add(48 * time.Hour)
	v2, v1 := Resources()[0], Resources()[1]

	h := v2HPA()
	h.CreationTimestamp = when
	want := []interface{}{"web", "Deployment/web", "memory: 900Mi/1Gi, 80/100 + 4 more...", "1", int64(20), int64(5), "2d"}
	if got := v2.TableRow(h, now); !reflect.DeepEqual(got, want) {
		t.Errorf("v2 row\n got %#v\nwant %#v", got, want)
	}

	// v1 prints through v2: its cpu target, and the current value.
	o := v1HPA()
	o.CreationTimestamp = when
	o.Status.CurrentCPUUtilizationPercentage = i32(42)
	want = []interface{}{"web", "Deployment/web", "cpu: 42%/50%", "2", int64(10), int64(3), "2d"}
	if got := v1.TableRow(o, now); !reflect.DeepEqual(got, want) {
		t.Errorf("v1 row\n got %#v\nwant %#v", got, want)
	}
	o.Status.CurrentCPUUtilizationPercentage, o.Spec.MinReplicas = nil, nil
	if got := v1.TableRow(o, now)[2:4]; !reflect.DeepEqual(got, []interface{}{"cpu: <unknown>/50%", "<unset>"}) {
		t.Errorf("v1 row without status: %#v", got)
	}
}
