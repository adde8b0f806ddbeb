package admission

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var pvcsRow = row("v1/persistentvolumeclaims", true)

func TestDefaultStorageClass(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := func(name string, created time.Time, annotations map[string]string) *storagev1.StorageClass {
		return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created), Annotations: annotations}}
	}
	def := map[string]string{isDefaultStorageClass: "true"}
	classes := objects("storage.k8s.io/storageclasses",
		sc("old", t0, def), sc("new", t0.Add(time.Hour), def), sc("b-tie", t0.Add(2*time.Hour), map[string]string{isDefaultStorageClassBeta: "true"}),
		sc("a-tie", t0.Add(2*time.Hour), def), sc("newest", t0.Add(3*time.Hour), map[string]string{isDefaultStorageClass: "false"}))
	claim := func(class *string, annotations map[string]string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", Annotations: annotations},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: class}}
	}
	for _, tc := range []struct {
		name    string
		classes Objects
		pvc     *corev1.PersistentVolumeClaim
		op      Operation
		want    *string
	}{
		{"newest default, by name on a tie", classes, claim(nil, nil), Create, ptr.To("a-tie")},
		{"no default", objects("storage.k8s.io/storageclasses", sc("x", t0, nil)), claim(nil, nil), Create, nil},
		{"class named", classes, claim(ptr.To("mine"), nil), Create, ptr.To("mine")},
		{"empty class named", classes, claim(ptr.To(""), nil), Create, ptr.To("")},
		{"beta annotation", classes, claim(nil, map[string]string{betaStorageClass: "mine"}), Create, nil},
		{"update", classes, claim(nil, nil), Update, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := attrs(tc.op, pvcsRow, "", tc.pvc, nil)
			if err := (&DefaultStorageClass{StorageClasses: tc.classes}).Admit(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tc.pvc.Spec.StorageClassName, tc.want) {
				t.Fatalf("class %v, want %v", ptr.Deref(tc.pvc.Spec.StorageClassName, "<nil>"), ptr.Deref(tc.want, "<nil>"))
			}
		})
	}
}

func TestDefaultIngressClass(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ic := func(name string, created time.Time, def bool) *networkingv1.IngressClass {
		c := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)}}
		if def {
			c.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
		}
		return c
	}
	classes := objects("networking.k8s.io/ingressclasses", ic("old", t0, true), ic("new", t0.Add(time.Hour), true), ic("newest", t0.Add(2*time.Hour), false))
	ingresses := row("networking.k8s.io/v1/ingresses", true)
	ing := func(class *string, annotations map[string]string) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "i", Annotations: annotations}, Spec: networkingv1.IngressSpec{IngressClassName: class}}
	}
	for _, tc := range []struct {
		name string
		ing  *networkingv1.Ingress
		want *string
	}{
		{"newest default", ing(nil, nil), ptr.To("new")},
		{"class named", ing(ptr.To("mine"), nil), ptr.To("mine")},
		{"annotation", ing(nil, map[string]string{"kubernetes.io/ingress.class": "mine"}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := (&DefaultIngressClass{IngressClasses: classes}).Admit(context.Background(), attrs(Create, ingresses, "", tc.ing, nil)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tc.ing.Spec.IngressClassName, tc.want) {
				t.Fatalf("class %v, want %v", ptr.Deref(tc.ing.Spec.IngressClassName, "<nil>"), ptr.Deref(tc.want, "<nil>"))
			}
		})
	}
}

func TestStorageObjectInUseProtection(t *testing.T) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", Finalizers: []string{"mine"}}}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "v"}}
	protected := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "w", Finalizers: []string{PVProtectionFinalizer}}}
	p := StorageObjectInUseProtection{}
	for _, a := range []*Attributes{attrs(Create, pvcsRow, "", pvc, nil), attrs(Create, row("v1/persistentvolumes", false), "", pv, nil),
		attrs(Create, row("v1/persistentvolumes", false), "", protected, nil)} {
		if err := p.Admit(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(pvc.Finalizers, []string{"mine", PVCProtectionFinalizer}) || !reflect.DeepEqual(pv.Finalizers, []string{PVProtectionFinalizer}) ||
		!reflect.DeepEqual(protected.Finalizers, []string{PVProtectionFinalizer}) {
		t.Fatalf("finalizers: %v %v %v", pvc.Finalizers, pv.Finalizers, protected.Finalizers)
	}
	updated := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}}
	if err := p.Admit(context.Background(), attrs(Update, pvcsRow, "", updated, updated.DeepCopy())); err != nil || len(updated.Finalizers) != 0 {
		t.Fatalf("update: %v %v", err, updated.Finalizers)
	}
}

func TestPersistentVolumeClaimResize(t *testing.T) {
	classes := objects("storage.k8s.io/storageclasses",
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "grows"}, AllowVolumeExpansion: ptr.To(true)},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fixed"}})
	claim := func(class string, size string, phase corev1.PersistentVolumeClaimPhase) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(class),
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: phase}}
	}
	const notAllowed = `persistentvolumeclaims "c" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`
	for _, tc := range []struct {
		name     string
		old, new *corev1.PersistentVolumeClaim
		want     string
	}{
		{"grow", claim("grows", "1Gi", corev1.ClaimBound), claim("grows", "2Gi", corev1.ClaimBound), ""},
		{"same size", claim("fixed", "1Gi", corev1.ClaimBound), claim("fixed", "1Gi", corev1.ClaimBound), ""},
		{"shrink is validation's", claim("fixed", "2Gi", corev1.ClaimBound), claim("fixed", "1Gi", corev1.ClaimBound), ""},
		{"class does not allow", claim("fixed", "1Gi", corev1.ClaimBound), claim("fixed", "2Gi", corev1.ClaimBound), notAllowed},
		{"unknown class", claim("gone", "1Gi", corev1.ClaimBound), claim("gone", "2Gi", corev1.ClaimBound), notAllowed},
		{"class changed", claim("fixed", "1Gi", corev1.ClaimBound), claim("grows", "2Gi", corev1.ClaimBound), notAllowed},
		{"not bound", claim("grows", "1Gi", corev1.ClaimPending), claim("grows", "2Gi", corev1.ClaimPending),
			`persistentvolumeclaims "c" is forbidden: Only bound persistent volume claims can be expanded`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&PersistentVolumeClaimResize{StorageClasses: classes}).Validate(context.Background(), attrs(Update, pvcsRow, "", tc.new, tc.old))
			code := int32(403)
			if tc.want == "" {
				code = 0
			}
			wantErr(t, err, tc.want, code)
		})
	}
}
