package filters

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// The impersonation headers, as client-go sends them.
const (
	impersonateUserHeader  = "Impersonate-User"
	impersonateUIDHeader   = "Impersonate-Uid"
	impersonateGroupHeader = "Impersonate-Group"
	impersonateExtraPrefix = "Impersonate-Extra-"
)

// Impersonate lets a user act as another (Impersonate-User,
// Impersonate-Group, Impersonate-Uid, Impersonate-Extra-<key>), as
// kube-apiserver 1.37 does with ConstrainedImpersonation (KEP-5284, on by
// default): the requestor needs either the legacy "impersonate" verb on
// each identity, or a constrained mode's verbs, which also name what the
// impersonated request may do (see impersonationMode). For example, with
//
//	verbs [impersonate:user-info]          on users        in authentication.k8s.io
//	verbs [impersonate-on:user-info:list]  on pods         in ""
//
// bob may list pods as alice, and nothing else: a get is refused with
// `pods "p" is forbidden: User "bob" cannot impersonate-on:user-info:get
// resource "pods" in API group "" in the namespace "ns"`. When no mode
// allows, the refusal is the first mode's that applied (so a requestor
// without any right sees the constrained mode's, as in kube).
//
// The request goes on as the impersonated user, without the headers;
// onImpersonate (audit) sees it, with the constraint that allowed it.
// With the gate off, kube runs its filter of before the feature:
// LegacyImpersonate.
func Impersonate(az authz.Authorizer, onImpersonate func(r *http.Request, u *request.User, constraint string)) func(http.Handler) http.Handler {
	im := &impersonator{az: az, modes: impersonationModes(), last: newModeIndex()}
	return impersonationFrame(nil, func(ctx context.Context, wanted *request.User, a authz.Attributes) (*impersonated, *apierrors.StatusError) {
		start := time.Now()
		got, err := im.impersonate(ctx, wanted, a)
		if err != nil {
			recordImpersonation("", "denied", time.Since(start))
			return nil, err
		}
		recordImpersonation(modeOfConstraint(got.constraint), "allowed", time.Since(start))
		return got, nil
	}, onImpersonate)
}

// LegacyImpersonate is kube-apiserver's impersonation filter with its
// ConstrainedImpersonation gate off (WithImpersonation): the
// "impersonate" verb on each identity is the only right that allows, in
// the order kube asks (the user or service account, the groups, the
// extra, the uid); nothing is cached, nor counted in the impersonation
// metrics; a group, uid or extra without a user is the old filter's 400.
func LegacyImpersonate(az authz.Authorizer, onImpersonate func(r *http.Request, u *request.User, constraint string)) func(http.Handler) http.Handler {
	legacy := &impersonationMode{name: "legacy", verb: "impersonate", oldFilter: true}
	return impersonationFrame(legacyWithoutUser, func(ctx context.Context, wanted *request.User, a authz.Attributes) (*impersonated, *apierrors.StatusError) {
		return legacy.identity(ctx, az, wanted, a.User)
	}, onImpersonate)
}

// impersonationFrame is the frame of both filters: a request with bad
// impersonation headers (badHeaders, when given, then wantedUser's
// checks) is a 400, one without goes on as it came, and one with is
// refused or goes on as the user decide gives it.
func impersonationFrame(badHeaders func(http.Header) *apierrors.StatusError,
	decide func(ctx context.Context, wanted *request.User, a authz.Attributes) (*impersonated, *apierrors.StatusError),
	onImpersonate func(r *http.Request, u *request.User, constraint string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if badHeaders != nil {
				if bad := badHeaders(r.Header); bad != nil {
					writeError(w, r, bad)
					return
				}
			}
			wanted, bad := wantedUser(r.Header)
			if bad != nil {
				writeError(w, r, bad)
				return
			}
			if wanted == nil {
				next.ServeHTTP(w, r)
				return
			}
			a := Attributes(r)
			got, err := decide(r.Context(), wanted, a)
			if err != nil {
				request.LogFrom(r.Context()).Add("impersonate", "denied")
				filterOutcomes.WithLabelValues("impersonate", "denied").Inc()
				writeError(w, r, err)
				return
			}
			// On as got's user; audit (onImpersonate) sees it, with
			// the constraint that allowed it.
			request.LogFrom(r.Context()).Add("impersonate", fmt.Sprintf("%s as %s", a.User.Name, got.user.Name))
			filterOutcomes.WithLabelValues("impersonate", "allowed").Inc()
			r = r.WithContext(request.WithUser(r.Context(), got.user))
			if onImpersonate != nil {
				onImpersonate(r, got.user, got.constraint)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// legacyWithoutUser is the old filter's 400 for impersonation headers that
// name groups, extra or a uid but no user: its message prints the
// requests it built from them (buildImpersonationRequests), extra keys
// in their headers' order here (a map's, random, in kube).
func legacyWithoutUser(h http.Header) *apierrors.StatusError {
	if h.Get(impersonateUserHeader) != "" {
		return nil
	}
	var reqs []corev1.ObjectReference
	for _, g := range h[impersonateGroupHeader] {
		reqs = append(reqs, corev1.ObjectReference{Kind: "Group", Name: g})
	}
	extra := false
	for _, name := range slices.Sorted(maps.Keys(h)) {
		key, ok := strings.CutPrefix(name, impersonateExtraPrefix)
		if !ok {
			continue
		}
		extra = true
		key = strings.ToLower(key)
		if unescaped, err := url.PathUnescape(key); err == nil {
			key = unescaped
		}
		for _, v := range h[name] {
			reqs = append(reqs, corev1.ObjectReference{Kind: "UserExtra", APIVersion: "authentication.k8s.io/v1", Name: v, FieldPath: key})
		}
	}
	uid := h.Get(impersonateUIDHeader)
	if uid != "" {
		reqs = append(reqs, corev1.ObjectReference{Kind: "UID", Name: uid, APIVersion: "authentication.k8s.io/v1"})
	}
	if len(h[impersonateGroupHeader]) == 0 && !extra && uid == "" {
		return nil
	}
	return apierrors.NewBadRequest(fmt.Sprintf("requested %v without impersonating a user", reqs))
}

// wantedUser is the user the impersonation headers ask for, as sent
// (nothing defaulted), or nil when they ask for none; the headers are
// removed, so that nothing after knows impersonation was used. Groups,
// uid or extra without a user name are a 400.
func wantedUser(h http.Header) (*request.User, *apierrors.StatusError) {
	u := &request.User{Name: h.Get(impersonateUserHeader), UID: h.Get(impersonateUIDHeader)}
	u.Groups = append(u.Groups, h[impersonateGroupHeader]...)
	hasExtra := false
	for name, values := range h {
		key, ok := strings.CutPrefix(name, impersonateExtraPrefix)
		if !ok {
			continue
		}
		hasExtra = true
		if len(values) == 0 {
			continue
		}
		key = strings.ToLower(key)
		if unescaped, err := url.PathUnescape(key); err == nil { // a malformed key is kept as sent
			key = unescaped
		}
		if u.Extra == nil {
			u.Extra = map[string][]string{}
		}
		u.Extra[key] = append(u.Extra[key], values...)
	}
	if u.Name == "" {
		if u.UID != "" || len(u.Groups) > 0 || hasExtra {
			// kube words it with the Go syntax of its user.DefaultInfo.
			return nil, apierrors.NewBadRequest(fmt.Sprintf("requested %#v without impersonating a user name", (*user.DefaultInfo)(u)))
		}
		return nil, nil
	}
	for name := range h {
		if name == impersonateUserHeader || name == impersonateUIDHeader || name == impersonateGroupHeader || strings.HasPrefix(name, impersonateExtraPrefix) {
			h.Del(name)
		}
	}
	return u, nil
}

// impersonator tries the modes for each attempt.
type impersonator struct {
	az    authz.Authorizer
	modes []*impersonationMode
	// last is the mode that last allowed each requestor, tried first.
	last *modeIndex
}

// impersonate finds the first mode that allows the requestor (a.User) to
// make the request a as wanted, starting with the mode that last allowed
// it; when none does, the refusal is the first one met.
func (im *impersonator) impersonate(ctx context.Context, wanted *request.User, a authz.Attributes) (*impersonated, *apierrors.StatusError) {
	key := &impersonationKey{wanted: wanted, attrs: a}
	var refused *apierrors.StatusError
	try := func(i int) *impersonated {
		got, err := im.modes[i].impersonate(ctx, im.az, wanted, a, key)
		if err != nil && refused == nil {
			refused = err
		}
		return got
	}
	last, known := im.last.get(a.User.Name)
	if known {
		if got := try(last); got != nil {
			return got, nil
		}
	}
	for i := range im.modes {
		if known && i == last {
			continue
		}
		if got := try(i); got != nil {
			im.last.set(a.User.Name, i)
			return got, nil
		}
	}
	if refused == nil { // legacy always decides: cannot happen
		refused = &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
			Reason: metav1.StatusReasonUnknown, Message: "all impersonation modes failed"}}
	}
	return nil, refused
}
