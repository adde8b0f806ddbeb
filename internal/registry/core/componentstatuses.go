package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// A Component is one part of the control plane that componentstatuses
// reports on (the scheduler, the controller manager, each etcd server),
// with its check: kube's Server.DoServerCheck, whose result is the
// Healthy condition's status, message and error.
type Component struct {
	Name  string
	Check func(ctx context.Context) (status corev1.ConditionStatus, message, errText string)
}

// ComponentStatuses is the deprecated v1 resource componentstatuses
// (kubectl get cs), as kube-apiserver serves it: nothing is stored; each
// read checks the components, a list all of them at once.
func ComponentStatuses(components []Component) (*registry.Resource, storage.Interface) {
	r := &registry.Resource{Version: "v1", Name: "componentstatuses", Kind: "ComponentStatus", ShortNames: []string{"cs"},
		Verbs: []string{"get", "list"}, Deprecation: "v1 ComponentStatus is deprecated in v1.19+", Table: componentStatusTable}
	return r, &componentChecks{components: components}
}

// componentCheckTimeout is how long a check may take (kube's
// probeTimeOut).
const componentCheckTimeout = 20 * time.Second

// componentChecks is the storage of componentstatuses: reads check,
// writes are refused (the row serves none).
type componentChecks struct {
	components []Component
}

func (c *componentChecks) status(ctx context.Context, comp Component) *corev1.ComponentStatus {
	ctx, cancel := context.WithTimeout(ctx, componentCheckTimeout)
	defer cancel()
	status, msg, errText := comp.Check(ctx)
	return &corev1.ComponentStatus{ObjectMeta: metav1.ObjectMeta{Name: comp.Name},
		Conditions: []corev1.ComponentCondition{{Type: corev1.ComponentHealthy, Status: status, Message: msg, Error: errText}}}
}

// Get checks the component the key names. An unknown one is kube's
// plain error: a 500 of no reason.
func (c *componentChecks) Get(ctx context.Context, key string, _ storage.ReadOptions) (runtime.Object, error) {
	name := path.Base(key)
	for _, comp := range c.components {
		if comp.Name == name {
			return c.status(ctx, comp), nil
		}
	}
	return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
		Reason: metav1.StatusReasonUnknown, Message: fmt.Sprintf("Component not found: %s", name)}}
}

// List checks every component at once, in their order, and keeps those
// the selectors match.
func (c *componentChecks) List(ctx context.Context, _ string, opts storage.ListOptions) (*storage.ListResult, error) {
	statuses := make([]*corev1.ComponentStatus, len(c.components))
	var wg sync.WaitGroup
	for i, comp := range c.components {
		wg.Go(func() { statuses[i] = c.status(ctx, comp) })
	}
	wg.Wait()
	res := &storage.ListResult{}
	for _, s := range statuses {
		if ok, err := opts.Predicate.Matches(s); err != nil {
			return nil, err
		} else if ok {
			res.Items = append(res.Items, s)
		}
	}
	return res, nil
}

var errNotStored = errors.New("componentstatuses are not stored")

func (*componentChecks) Create(context.Context, string, runtime.Object, ...storage.Charge) (runtime.Object, error) {
	return nil, errNotStored
}
func (*componentChecks) Charge(string, runtime.Object) (storage.Charge, error) {
	return storage.Charge{}, errNotStored
}
func (*componentChecks) Update(context.Context, string, bool, storage.UpdateFunc) (runtime.Object, error) {
	return nil, errNotStored
}
func (*componentChecks) Delete(context.Context, string, func(runtime.Object) error) (runtime.Object, error) {
	return nil, errNotStored
}
func (*componentChecks) DeleteCorrupt(context.Context, string, bool) error { return errNotStored }
func (*componentChecks) Watch(context.Context, string, storage.WatchOptions) (watch.Interface, error) {
	return nil, errNotStored
}
func (*componentChecks) Revision(context.Context) (int64, error) { return 0, nil }

// componentStatusTable: NAME STATUS MESSAGE ERROR, as kube prints them.
var componentStatusTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Status", Type: "string", Description: "Status of the component conditions"},
		{Name: "Message", Type: "string", Description: "Message of the component conditions"},
		{Name: "Error", Type: "string", Description: "Error of the component conditions"},
	},
	Row: func(obj runtime.Object, _ time.Time) []interface{} {
		status, msg, errText := "Unknown", "", ""
		for _, c := range obj.(*corev1.ComponentStatus).Conditions {
			if c.Type == corev1.ComponentHealthy {
				status = "Unhealthy"
				if c.Status == corev1.ConditionTrue {
					status = "Healthy"
				}
				msg, errText = c.Message, c.Error
				break
			}
		}
		return []interface{}{status, msg, errText}
	},
}
