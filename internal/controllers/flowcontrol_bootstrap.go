package controllers

import (
	"context"
	"fmt"
	"strconv"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	flowcontrolinformers "k8s.io/client-go/informers/flowcontrol/v1"
	flowcontrolclient "k8s.io/client-go/kubernetes/typed/flowcontrol/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"kapi/internal/registry/flowcontrol"
)

// FlowControlBootstrap keeps kube's bootstrap configuration of API
// Priority and Fairness (k8s.io/apiserver's mandatory and suggested
// FlowSchemas and PriorityLevelConfigurations), as kube-apiserver's
// post-start hook priority-and-fairness-config-producer does on every
// replica, once a minute:
//   - a missing object is created;
//   - a mandatory object's spec is put back (but for the exempt level's
//     shares and lendable percent, which are the admin's);
//   - a suggested object's spec is put back only while
//     apf.kubernetes.io/autoupdate-spec says true, or, without the
//     annotation, while nobody changed it (generation 1);
//   - the annotation records which of the two holds;
//   - an object that is no longer a bootstrap one is deleted if its
//     annotation says true.
type FlowControlBootstrap struct {
	fs, pl configOps
	synced []cache.InformerSynced
}

// fieldManager is kube's manager of the bootstrap objects.
const fieldManager = "api-priority-and-fairness-config-producer-v1"

// NewFlowControlBootstrap keeps the bootstrap objects through client,
// reading them from inf's informers (registered now, so that the factory
// starts them).
func NewFlowControlBootstrap(client flowcontrolclient.FlowcontrolV1Interface, inf flowcontrolinformers.Interface) *FlowControlBootstrap {
	fsi, pli := inf.FlowSchemas(), inf.PriorityLevelConfigurations()
	return &FlowControlBootstrap{
		fs:     flowSchemaOps(client.FlowSchemas(), fsi),
		pl:     priorityLevelOps(client.PriorityLevelConfigurations(), pli),
		synced: []cache.InformerSynced{fsi.Informer().HasSynced, pli.Informer().HasSynced},
	}
}

// Run ensures the configuration every second until it first succeeds,
// then every minute, until ctx ends.
func (b *FlowControlBootstrap) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), b.synced...) {
		return
	}
	_ = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		if err := b.ensure(ctx); err != nil {
			klog.ErrorS(err, "APF bootstrap ensurer ran into error, will retry later")
			return false, nil
		}
		return true, nil
	})
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := b.ensure(ctx); err != nil {
			klog.ErrorS(err, "APF bootstrap ensurer ran into error, will retry later")
		}
	}, time.Minute)
}

// ensure is one pass, in kube's order: suggested, mandatory, unwanted.
func (b *FlowControlBootstrap) ensure(ctx context.Context) error {
	steps := []struct {
		ops       configOps
		objs      []configObject
		mandatory bool
	}{
		{b.pl, objects(bootstrap.SuggestedPriorityLevelConfigurations), false},
		{b.fs, objects(bootstrap.SuggestedFlowSchemas), false},
		{b.pl, objects(bootstrap.MandatoryPriorityLevelConfigurations), true},
		{b.fs, objects(bootstrap.MandatoryFlowSchemas), true},
	}
	for _, s := range steps {
		for _, o := range s.objs {
			if err := ensureObject(ctx, s.ops, o, s.mandatory); err != nil {
				return err
			}
		}
	}
	if err := removeUnwanted(ctx, b.fs, objects(append(bootstrap.MandatoryFlowSchemas, bootstrap.SuggestedFlowSchemas...))); err != nil {
		return err
	}
	return removeUnwanted(ctx, b.pl, objects(append(bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations...)))
}

// configObject is a FlowSchema or a PriorityLevelConfiguration.
type configObject = metav1.Object

func objects[T configObject](in []T) []configObject {
	out := make([]configObject, len(in))
	for i, o := range in {
		out[i] = o
	}
	return out
}

// configOps are the operations on one of the two kinds.
type configOps struct {
	get    func(name string) (configObject, error)
	list   func() ([]configObject, error)
	create func(ctx context.Context, o configObject) error
	update func(ctx context.Context, o configObject) error
	delete func(ctx context.Context, name string) error
	// withSpec is a copy of into with from's spec; specEqual says whether
	// the bootstrap spec, defaulted, is the current one.
	withSpec  func(into, from configObject) configObject
	copy      func(configObject) configObject
	specEqual func(boot, current configObject) bool
}

func ensureObject(ctx context.Context, ops configOps, boot configObject, mandatory bool) error {
	name := boot.GetName()
	current, err := ops.get(name)
	if apierrors.IsNotFound(err) {
		err = ops.create(ctx, ops.copy(boot))
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil // a concurrent creator's object is looked at next time
		}
		return fmt.Errorf("cannot create %s: %w", name, err)
	}
	if err != nil {
		return err
	}
	autoUpdate := mandatory || shouldUpdateSpec(current)
	annotationStale := true
	if v, ok := current.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey]; ok {
		if b, err := strconv.ParseBool(v); err == nil && b == autoUpdate {
			annotationStale = false
		}
	}
	specChanged := autoUpdate && !ops.specEqual(boot, current)
	if !annotationStale && !specChanged {
		return nil
	}
	revised := ops.copy(current)
	if specChanged {
		revised = ops.withSpec(current, boot)
	}
	if annotationStale {
		ann := revised.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[flowcontrolv1.AutoUpdateAnnotationKey] = strconv.FormatBool(autoUpdate)
		revised.SetAnnotations(ann)
	}
	if err := ops.update(ctx, revised); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("failed to update %s, will retry later: %w", name, err)
	}
	return nil
}

// shouldUpdateSpec: the annotation decides; without a readable one, an
// object nobody has changed (generation 1) is kept up to date.
func shouldUpdateSpec(o metav1.Object) bool {
	if b, err := strconv.ParseBool(o.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey]); err == nil {
		return b
	}
	return o.GetGeneration() == 1
}

func removeUnwanted(ctx context.Context, ops configOps, wanted []configObject) error {
	names := map[string]bool{}
	for _, o := range wanted {
		names[o.GetName()] = true
	}
	current, err := ops.list()
	if err != nil {
		return err
	}
	for _, o := range current {
		if names[o.GetName()] {
			continue
		}
		if auto, err := strconv.ParseBool(o.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey]); err != nil || !auto {
			continue // a user's object
		}
		if err := ops.delete(ctx, o.GetName()); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete unwanted APF object %q: %w", o.GetName(), err)
		}
	}
	return nil
}

func flowSchemaOps(c flowcontrolclient.FlowSchemaInterface, inf flowcontrolinformers.FlowSchemaInformer) configOps {
	lister := inf.Lister()
	return configOps{
		get: func(name string) (configObject, error) { return lister.Get(name) },
		list: func() ([]configObject, error) {
			l, err := lister.List(labels.Everything())
			return objects(l), err
		},
		create: func(ctx context.Context, o configObject) error {
			_, err := c.Create(ctx, o.(*flowcontrolv1.FlowSchema), metav1.CreateOptions{FieldManager: fieldManager})
			return err
		},
		update: func(ctx context.Context, o configObject) error {
			_, err := c.Update(ctx, o.(*flowcontrolv1.FlowSchema), metav1.UpdateOptions{FieldManager: fieldManager})
			return err
		},
		delete: func(ctx context.Context, name string) error { return c.Delete(ctx, name, metav1.DeleteOptions{}) },
		withSpec: func(into, from configObject) configObject {
			out := into.(*flowcontrolv1.FlowSchema).DeepCopy()
			out.Spec = *from.(*flowcontrolv1.FlowSchema).Spec.DeepCopy()
			return out
		},
		copy: func(o configObject) configObject { return o.(*flowcontrolv1.FlowSchema).DeepCopy() },
		specEqual: func(boot, current configObject) bool {
			spec := boot.(*flowcontrolv1.FlowSchema).Spec.DeepCopy()
			flowcontrol.DefaultFlowSchemaSpec(spec)
			return equality.Semantic.DeepEqual(spec, &current.(*flowcontrolv1.FlowSchema).Spec)
		},
	}
}

func priorityLevelOps(c flowcontrolclient.PriorityLevelConfigurationInterface, inf flowcontrolinformers.PriorityLevelConfigurationInformer) configOps {
	lister := inf.Lister()
	return configOps{
		get: func(name string) (configObject, error) { return lister.Get(name) },
		list: func() ([]configObject, error) {
			l, err := lister.List(labels.Everything())
			return objects(l), err
		},
		create: func(ctx context.Context, o configObject) error {
			_, err := c.Create(ctx, o.(*flowcontrolv1.PriorityLevelConfiguration), metav1.CreateOptions{FieldManager: fieldManager})
			return err
		},
		update: func(ctx context.Context, o configObject) error {
			_, err := c.Update(ctx, o.(*flowcontrolv1.PriorityLevelConfiguration), metav1.UpdateOptions{FieldManager: fieldManager})
			return err
		},
		delete: func(ctx context.Context, name string) error { return c.Delete(ctx, name, metav1.DeleteOptions{}) },
		withSpec: func(into, from configObject) configObject {
			out := into.(*flowcontrolv1.PriorityLevelConfiguration).DeepCopy()
			out.Spec = *from.(*flowcontrolv1.PriorityLevelConfiguration).Spec.DeepCopy()
			return out
		},
		copy: func(o configObject) configObject { return o.(*flowcontrolv1.PriorityLevelConfiguration).DeepCopy() },
		specEqual: func(boot, current configObject) bool {
			want := boot.(*flowcontrolv1.PriorityLevelConfiguration).Spec.DeepCopy()
			have := current.(*flowcontrolv1.PriorityLevelConfiguration).Spec
			flowcontrol.DefaultPriorityLevelSpec(want)
			// The exempt level's shares and lending are the admin's to set.
			if want.Exempt != nil {
				if have.Exempt == nil {
					return false
				}
				want.Exempt.NominalConcurrencyShares = have.Exempt.NominalConcurrencyShares
				want.Exempt.LendablePercent = have.Exempt.LendablePercent
			}
			return equality.Semantic.DeepEqual(want, &have)
		},
	}
}
