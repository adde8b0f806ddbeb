// Package limits is kube-apiserver's LimitRanger admission plugin: the
// LimitRanges of a namespace give new pods' containers their default
// requests and limits, and refuse containers, pods and persistent volume
// claims outside their minimum, maximum and limit-to-request ratio.
package limits

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"kapi/internal/admission"
	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// LimitRanger is the plugin.
type LimitRanger struct {
	Catalogue *registry.Catalogue
}

const annotation = "kubernetes.io/limit-ranger"

var limitRangesGVR = schema.GroupVersionResource{Version: "v1", Resource: "limitranges"}

// ranges are the items of the namespace's LimitRanges, with kube's
// defaults (a range an older kapi stored has none); nil without any.
func (p *LimitRanger) ranges(ctx context.Context, ns string) ([]corev1.LimitRangeItem, error) {
	st := p.Catalogue.Snapshot().Store(limitRangesGVR)
	if st == nil {
		return nil, nil
	}
	list, err := st.List(ctx, ns, &metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	sort.Slice(objs, func(i, j int) bool {
		return objs[i].(*corev1.LimitRange).Name < objs[j].(*corev1.LimitRange).Name
	})
	var out []corev1.LimitRangeItem
	for _, o := range objs {
		for _, it := range o.(*corev1.LimitRange).Spec.Limits {
			it = *it.DeepCopy()
			core.DefaultLimitRangeItem(&it)
			out = append(out, it)
		}
	}
	return out, nil
}

// resize: a is an in-place resize of a pod (pods/resize), which kube's
// LimitRanger defaults and checks as a new pod; not of a pod being
// deleted, which it leaves alone.
func resize(a *admission.Attributes) bool {
	if _, ok := a.Object.(*corev1.Pod); !ok || a.Subresource != "resize" || a.Operation != admission.Update {
		return false
	}
	old, ok := a.OldObject.(*corev1.Pod)
	return !ok || old.DeletionTimestamp == nil
}

// Admit gives the containers of a new pod the default requests and limits
// of the Container items, and says so in an annotation; and those of a
// pod being resized (the annotation is then dropped with the rest of its
// metadata, as kube drops it).
func (p *LimitRanger) Admit(ctx context.Context, a *admission.Attributes) error {
	pod, ok := a.Object.(*corev1.Pod)
	if !ok || !(a.Operation == admission.Create && a.Subresource == "" || resize(a)) {
		return nil
	}
	items, err := p.ranges(ctx, a.Namespace)
	if err != nil || len(items) == 0 {
		return err
	}
	var notes []string
	for _, it := range items {
		if it.Type != corev1.LimitTypeContainer {
			continue
		}
		for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range cs {
				notes = append(notes, defaults(&cs[i], it)...)
			}
		}
	}
	if len(notes) > 0 {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[annotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
	}
	return nil
}

// defaults sets what c does not state of it's defaults, in kube's words:
// "cpu, memory request for container c".
func defaults(c *corev1.Container, it corev1.LimitRangeItem) []string {
	var requests, limits []string
	if c.Resources.Requests == nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	if c.Resources.Limits == nil {
		c.Resources.Limits = corev1.ResourceList{}
	}
	for _, n := range sortedNames(it.DefaultRequest) {
		if _, ok := c.Resources.Requests[n]; ok {
			continue
		}
		// A stated limit is the request too, as kube defaults it.
		if l, ok := c.Resources.Limits[n]; ok {
			c.Resources.Requests[n] = l.DeepCopy()
			continue
		}
		c.Resources.Requests[n] = it.DefaultRequest[n].DeepCopy()
		requests = append(requests, string(n))
	}
	for _, n := range sortedNames(it.Default) {
		if _, ok := c.Resources.Limits[n]; !ok {
			c.Resources.Limits[n] = it.Default[n].DeepCopy()
			limits = append(limits, string(n))
		}
	}
	var out []string
	if len(requests) > 0 {
		out = append(out, strings.Join(requests, ", ")+" request for container "+c.Name)
	}
	if len(limits) > 0 {
		out = append(out, strings.Join(limits, ", ")+" limit for container "+c.Name)
	}
	return out
}

func sortedNames(l corev1.ResourceList) []corev1.ResourceName {
	var out []corev1.ResourceName
	for n := range l {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Validate refuses containers, pods and claims outside the namespace's
// limits, with kube's messages; pods when created or resized.
func (p *LimitRanger) Validate(ctx context.Context, a *admission.Attributes) error {
	if (a.Subresource != "" && !resize(a)) || (a.Operation != admission.Create && a.Operation != admission.Update) {
		return nil
	}
	var check func(it corev1.LimitRangeItem) []error
	switch o := a.Object.(type) {
	case *corev1.Pod:
		if a.Operation != admission.Create && !resize(a) {
			return nil
		}
		check = func(it corev1.LimitRangeItem) []error { return checkPod(o, it) }
	case *corev1.PersistentVolumeClaim:
		check = func(it corev1.LimitRangeItem) []error {
			if it.Type != corev1.LimitTypePersistentVolumeClaim {
				return nil
			}
			return bounds(it, "PersistentVolumeClaim", o.Spec.Resources.Requests, o.Spec.Resources.Limits)
		}
	default:
		return nil
	}
	items, err := p.ranges(ctx, a.Namespace)
	if err != nil || len(items) == 0 {
		return err
	}
	var errs []error
	for _, it := range items {
		errs = append(errs, check(it)...)
	}
	if len(errs) == 0 {
		return nil
	}
	return admission.Forbidden(a, utilerrors.NewAggregate(errs))
}

func checkPod(pod *corev1.Pod, it corev1.LimitRangeItem) []error {
	switch it.Type {
	case corev1.LimitTypeContainer:
		var errs []error
		for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for _, c := range cs {
				errs = append(errs, bounds(it, "Container", c.Resources.Requests, c.Resources.Limits)...)
			}
		}
		return errs
	case corev1.LimitTypePod:
		requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
		for _, c := range pod.Spec.Containers {
			sum(requests, c.Resources.Requests)
			sum(limits, c.Resources.Limits)
		}
		for _, c := range pod.Spec.InitContainers {
			atLeast(requests, c.Resources.Requests)
			atLeast(limits, c.Resources.Limits)
		}
		return bounds(it, "Pod", requests, limits)
	}
	return nil
}

func sum(into, l corev1.ResourceList) {
	for n, q := range l {
		s := into[n].DeepCopy()
		s.Add(q)
		into[n] = s
	}
}

func atLeast(into, l corev1.ResourceList) {
	for n, q := range l {
		if cur, ok := into[n]; !ok || q.Cmp(cur) > 0 {
			into[n] = q.DeepCopy()
		}
	}
}

// bounds checks requests and limits against an item's min, max and
// maxLimitRequestRatio, in kube-apiserver's words. A claim's maximum
// bounds its request (it has no limit).
func bounds(it corev1.LimitRangeItem, kind string, requests, limits corev1.ResourceList) []error {
	var errs []error
	for _, n := range sortedNames(it.Min) {
		min := it.Min[n]
		req, hasReq := requests[n]
		lim, hasLim := limits[n]
		switch {
		case !hasReq:
			errs = append(errs, fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", n, kind, min.String()))
		case req.Cmp(min) < 0:
			errs = append(errs, fmt.Errorf("minimum %s usage per %s is %s, but request is %s", n, kind, min.String(), req.String()))
		case hasLim && lim.Cmp(min) < 0:
			errs = append(errs, fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", n, kind, min.String(), lim.String()))
		}
	}
	for _, n := range sortedNames(it.Max) {
		max := it.Max[n]
		req, hasReq := requests[n]
		lim, hasLim := limits[n]
		if kind == "PersistentVolumeClaim" {
			switch {
			case !hasReq:
				errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s.  No request is specified", n, kind, max.String()))
			case req.Cmp(max) > 0:
				errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s, but request is %s", n, kind, max.String(), req.String()))
			}
			continue
		}
		switch {
		case !hasLim:
			errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", n, kind, max.String()))
		case lim.Cmp(max) > 0:
			errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", n, kind, max.String(), lim.String()))
		case hasReq && req.Cmp(max) > 0:
			errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s, but request is %s", n, kind, max.String(), req.String()))
		}
	}
	for _, n := range sortedNames(it.MaxLimitRequestRatio) {
		ratio := it.MaxLimitRequestRatio[n]
		req, hasReq := requests[n]
		lim, hasLim := limits[n]
		switch {
		case !hasReq || req.IsZero():
			errs = append(errs, fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", n, kind, ratio.String()))
		case !hasLim || lim.IsZero():
			errs = append(errs, fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", n, kind, ratio.String()))
		default:
			got := float64(lim.MilliValue()) / float64(req.MilliValue())
			if got > float64(ratio.MilliValue())/1000 {
				errs = append(errs, fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", n, kind, ratio.String(), got))
			}
		}
	}
	return errs
}
