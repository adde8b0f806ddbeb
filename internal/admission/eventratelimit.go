package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"
)

// EventRateLimit is kube's plugin of that name: creates and updates of
// core Events beyond a token bucket's rate are refused with a 429, per
// server, namespace, user or event source and object, each bucket of the
// last three kept in an LRU cache (an evicted bucket starts full again).
// Dry runs are not counted.
type EventRateLimit struct {
	enforcers []*eventLimit
}

type eventLimit struct {
	kind   string // Server, Namespace, User, SourceAndObject
	key    func(*Attributes) string
	single flowcontrol.RateLimiter // Server's
	newRL  func() flowcontrol.RateLimiter

	mu    sync.Mutex
	cache *lru.Cache
}

// NewEventRateLimit reads the plugin's Configuration
// (eventratelimit.admission.k8s.io/v1alpha1, as JSON) and checks it as
// kube's ValidateConfiguration does; at least one limit is needed.
func NewEventRateLimit(config []byte) (*EventRateLimit, error) {
	return newEventRateLimit(config, clock.RealClock{})
}

func newEventRateLimit(config []byte, clk flowcontrol.Clock) (*EventRateLimit, error) {
	var c struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Limits     []struct {
			Type      string `json:"type"`
			QPS       int32  `json:"qps"`
			Burst     int32  `json:"burst"`
			CacheSize int32  `json:"cacheSize"`
		} `json:"limits"`
	}
	if len(config) > 0 {
		if err := json.Unmarshal(config, &c); err != nil {
			return nil, err
		}
		if c.Kind != "Configuration" || c.APIVersion != "eventratelimit.admission.k8s.io/v1alpha1" {
			return nil, fmt.Errorf("no kind %q is registered for version %q", c.Kind, c.APIVersion)
		}
	}
	var errs field.ErrorList
	path := field.NewPath("limits")
	if len(c.Limits) == 0 {
		errs = append(errs, field.Invalid(path, c.Limits, "must not be empty"))
	}
	kinds := []string{"Namespace", "Server", "SourceAndObject", "User"}
	p := &EventRateLimit{}
	for i, l := range c.Limits {
		at := path.Index(i)
		if !slices.Contains(kinds, l.Type) {
			errs = append(errs, field.NotSupported(at.Child("type"), l.Type, kinds))
		}
		if l.Burst <= 0 {
			errs = append(errs, field.Invalid(at.Child("burst"), l.Burst, "must be positive"))
		}
		if l.QPS <= 0 {
			errs = append(errs, field.Invalid(at.Child("qps"), l.QPS, "must be positive"))
		}
		if l.Type != "Server" && l.CacheSize < 0 {
			errs = append(errs, field.Invalid(at.Child("cacheSize"), l.CacheSize, "must not be negative"))
		}
		if len(errs) > 0 {
			continue
		}
		qps, burst := float32(l.QPS), int(l.Burst)
		e := &eventLimit{kind: l.Type, newRL: func() flowcontrol.RateLimiter { return flowcontrol.NewTokenBucketRateLimiterWithClock(qps, burst, clk) }}
		size := int(l.CacheSize)
		if size == 0 {
			size = 4096 // kube's default
		}
		switch l.Type {
		case "Server":
			e.single = e.newRL()
		case "Namespace":
			e.key = func(a *Attributes) string { return a.Namespace }
		case "User":
			e.key = func(a *Attributes) string {
				if a.User == nil {
					return ""
				}
				return a.User.Name
			}
		case "SourceAndObject":
			e.key = func(a *Attributes) string {
				ev, ok := a.Object.(*corev1.Event)
				if !ok {
					return ""
				}
				o := ev.InvolvedObject
				return strings.Join([]string{ev.Source.Component, ev.Source.Host, o.Kind, o.Namespace, o.Name, string(o.UID), o.APIVersion}, "")
			}
		}
		if e.single == nil {
			e.cache = lru.New(size)
		}
		p.enforcers = append(p.enforcers, e)
	}
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return p, nil
}

// Validate takes a token of each limit's bucket.
func (p *EventRateLimit) Validate(_ context.Context, a *Attributes) error {
	if !is(a, "", "events") || a.Subresource != "" || a.DryRun || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	var refused []error
	for _, e := range p.enforcers {
		rl, key := e.single, ""
		if rl == nil {
			key = e.key(a)
			e.mu.Lock()
			if v, ok := e.cache.Get(key); ok {
				rl = v.(flowcontrol.RateLimiter)
			} else {
				rl = e.newRL()
				e.cache.Add(key, rl)
			}
			e.mu.Unlock()
		}
		if !rl.TryAccept() {
			refused = append(refused, fmt.Errorf("limit reached on type %v for key %v", e.kind, key))
		}
	}
	if agg := utilerrors.NewAggregate(refused); agg != nil {
		return apierrors.NewTooManyRequestsError(agg.Error())
	}
	return nil
}
