package storage

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// BenchmarkPredicate: a label and field selector against 2,000 objects,
// 1% of which match.
func BenchmarkPredicate(b *testing.B) {
	var objs []runtime.Object
	for i := 0; i < 2000; i++ {
		l := map[string]string{"app": "x"}
		if i%100 == 0 {
			l["selected"] = "yes"
		}
		objs = append(objs, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: "default", Labels: l}})
	}
	sel, _ := labels.Parse("selected=yes,app in (x,y)")
	attrs := func(o runtime.Object) (labels.Set, fields.Set, error) {
		cm := o.(*corev1.ConfigMap)
		return cm.Labels, fields.Set{"metadata.name": cm.Name, "metadata.namespace": cm.Namespace}, nil
	}
	for name, p := range map[string]Predicate{
		"labels-and-fields": {Label: sel, Field: fields.OneTermEqualSelector("metadata.namespace", "default"), Attrs: attrs},
		"labels":            {Label: sel, Attrs: attrs},
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, o := range objs {
					if ok, _ := p.Matches(o); ok {
						n++
					}
				}
				if n != 20 {
					b.Fatalf("%d matched", n)
				}
			}
		})
	}
}
