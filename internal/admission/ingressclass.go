package admission

import (
	"context"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultIngressClass is kube-apiserver's plugin of the same name: an
// Ingress created without a class (neither spec.ingressClassName nor the
// kubernetes.io/ingress.class annotation) gets the default IngressClass
// (ingressclass.kubernetes.io/is-default-class=true), the newest when
// several are.
type DefaultIngressClass struct {
	IngressClasses Objects
}

// Admit sets the class.
func (p *DefaultIngressClass) Admit(ctx context.Context, a *Attributes) error {
	if a.Operation != Create || !is(a, "networking.k8s.io", "ingresses") || a.Subresource != "" {
		return nil
	}
	ing, ok := a.Object.(*networkingv1.Ingress)
	if !ok {
		return nil
	}
	if _, ok := ing.Annotations["kubernetes.io/ingress.class"]; ok || ing.Spec.IngressClassName != nil {
		return nil
	}
	objs, err := p.IngressClasses.List(ctx, "")
	if err != nil {
		return Forbidden(a, err)
	}
	var defaults []metav1.Object
	for _, o := range objs {
		if c, ok := o.(*networkingv1.IngressClass); ok && c.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
			defaults = append(defaults, c)
		}
	}
	if def := newest(defaults); def != nil {
		ing.Spec.IngressClassName = ptrTo(def.GetName())
	}
	return nil
}
