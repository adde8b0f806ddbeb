package server

import (
	"context"
	"fmt"
	"slices"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/authn"
	"kapi/internal/registry"
	"kapi/internal/request"
)

const (
	// warnOnlyTokenSeconds is the lifetime kubelets ask for a projected
	// token (an hour and 7 seconds): with --service-account-extend-token-expiration,
	// such a pod-bound token is valid for a year, and warns after the
	// hour (kube's WarnOnlyBoundTokenExpirationSeconds).
	warnOnlyTokenSeconds = 60*60 + 7
	// extendedTokenSeconds is that year (kube's ExpirationExtensionSeconds).
	extendedTokenSeconds = 24 * 365 * 60 * 60
	// minTokenSeconds is the shortest token a TokenRequest may ask for
	// (kube's MinTokenAgeSec).
	minTokenSeconds = 600
)

// tokenRequest serves serviceaccounts/<name>/token (TokenRequest, as
// `kubectl create token` and kubelets use it), as kube-apiserver 1.37's
// TokenREST, in its order: the body's name, namespace and uid must be the
// service account's; the request is validated, then admitted (validating
// admission: the mutating phase ran before); a bound object must be a
// Pod (running as this service account; its node named in the token), a
// Secret or a Node of the uid given; a lifetime over
// --service-account-max-token-expiration is shortened with a warning; a
// kubelet's pod-bound token of an hour and 7 seconds is extended to a year
// when extend is set.
func (p *authnParts) tokenRequest(sas *registry.Store, stores []*registry.Store, extend bool) func(ctx context.Context, ns, name string, obj runtime.Object, _ *metav1.CreateOptions, validate registry.ValidateFunc) (runtime.Object, error) {
	pods, secrets, nodes := findStore(stores, "", "v1", "pods"), findStore(stores, "", "v1", "secrets"), findStore(stores, "", "v1", "nodes")
	gk := authenticationv1.SchemeGroupVersion.WithKind("TokenRequest").GroupKind()
	return func(ctx context.Context, ns, name string, obj runtime.Object, _ *metav1.CreateOptions, validate registry.ValidateFunc) (runtime.Object, error) {
		req := obj.(*authenticationv1.TokenRequest).DeepCopy()
		if req.Name != "" && req.Name != name {
			return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified")})
		}
		if req.Namespace != "" && req.Namespace != ns {
			return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified")})
		}
		saObj, err := sas.Get(ctx, ns, name, nil)
		if err != nil {
			return nil, err
		}
		sa := saObj.(*corev1.ServiceAccount)
		if req.UID != "" && req.UID != sa.UID {
			return nil, apierrors.NewConflict(schema.GroupResource{Group: gk.Group, Resource: gk.Kind}, name,
				fmt.Errorf("the UID in the token request (%s) does not match the UID of the service account (%s)", req.UID, sa.UID))
		}
		if len(req.Spec.Audiences) == 0 {
			req.Spec.Audiences = p.sa.Audiences
		}
		req.Name, req.Namespace, req.UID = sa.Name, sa.Namespace, sa.UID
		now := time.Now()
		req.CreationTimestamp = metav1.NewTime(now)
		req.Status = authenticationv1.TokenRequestStatus{}
		if req.Spec.ExpirationSeconds == nil {
			req.Spec.ExpirationSeconds = ptrTo(int64(3600))
		}
		if errs := validateTokenRequest(req); len(errs) > 0 {
			return nil, apierrors.NewInvalid(gk, "", errs)
		}
		if err := validate.Check(ctx, req.DeepCopy()); err != nil {
			return nil, err
		}
		t := authn.Token{Namespace: ns, ServiceAccount: name, ServiceAccountUID: string(sa.UID), Audiences: req.Spec.Audiences}
		var pod *corev1.Pod
		if ref := req.Spec.BoundObjectRef; ref != nil {
			gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
			var uid types.UID
			switch {
			case gvk.Group == "" && gvk.Kind == "Pod":
				o, err := pods.Get(ctx, ns, ref.Name, nil)
				if err != nil {
					return nil, err
				}
				pod = o.(*corev1.Pod)
				if name != pod.Spec.ServiceAccountName {
					return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", name))
				}
				uid = pod.UID
				if t.Node, err = podNode(ctx, nodes, pod); err != nil {
					return nil, err
				}
			case gvk.Group == "" && gvk.Kind == "Node":
				o, err := nodes.Get(ctx, "", ref.Name, nil)
				if err != nil {
					return nil, err
				}
				uid = o.(*corev1.Node).UID
			case gvk.Group == "" && gvk.Kind == "Secret":
				o, err := secrets.Get(ctx, ns, ref.Name, nil)
				if err != nil {
					return nil, err
				}
				uid = o.(*corev1.Secret).UID
			case gvk.GroupVersion().String() == "admissionregistration.k8s.io/v1" && (gvk.Kind == "ValidatingWebhookConfiguration" || gvk.Kind == "MutatingWebhookConfiguration"):
				return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s (feature gate %s is disabled)", gvk.String(), "APIServerWebhookAuthenticationToken"))
			default:
				return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvk.String()))
			}
			if ref.UID != "" && uid != ref.UID {
				return nil, apierrors.NewConflict(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, ref.Name,
					fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
			}
			t.BoundKind, t.Bound = gvk.Kind, authn.Ref{Name: ref.Name, UID: string(uid)}
		}
		if max := int64(p.sa.MaxExpiration / time.Second); max > 0 && *req.Spec.ExpirationSeconds > max {
			request.AddWarning(ctx, fmt.Sprintf("requested expiration of %d seconds shortened to %d seconds", *req.Spec.ExpirationSeconds, max))
			req.Spec.ExpirationSeconds = &max
		}
		exp := *req.Spec.ExpirationSeconds
		if extend && pod != nil && exp == warnOnlyTokenSeconds && apiAudiences(req.Spec.Audiences, p.sa.Audiences) {
			t.WarnAfter = now.Add(time.Duration(exp) * time.Second)
			exp = p.extendedSeconds
		}
		t.Expiration = time.Duration(exp) * time.Second
		token, _, err := p.sa.IssueAt(ctx, t, now)
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("failed to generate token: %v", err))
		}
		req.Status = authenticationv1.TokenRequestStatus{Token: token,
			ExpirationTimestamp: metav1.NewTime(now.Add(time.Duration(*req.Spec.ExpirationSeconds) * time.Second))}
		return req, nil
	}
}

// validateTokenRequest is kube's ValidateTokenRequest, for the bound
// objects kapi serves (a webhook configuration is refused later, as by
// kube with APIServerWebhookAuthenticationToken off).
func validateTokenRequest(tr *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if exp := *tr.Spec.ExpirationSeconds; exp < minTokenSeconds {
		errs = append(errs, field.Invalid(p.Child("expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
	} else if exp > 1<<32 {
		errs = append(errs, field.Invalid(p.Child("expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
	}
	if ref := tr.Spec.BoundObjectRef; ref != nil && ref.APIVersion == "admissionregistration.k8s.io/v1" &&
		(ref.Kind == "ValidatingWebhookConfiguration" || ref.Kind == "MutatingWebhookConfiguration") {
		return errs
	}
	if len(tr.Spec.Attestations) != 0 {
		return field.ErrorList{field.Invalid(p.Child("attestations"), tr.Spec.Attestations, "attestations may only be specified with a webhook bound object reference")}
	}
	return errs
}

// podNode is the node a pod runs on, named in its tokens (kube's
// ServiceAccountTokenPodNodeInfo): read from the cache, else from etcd;
// its name alone when the node is not there.
func podNode(ctx context.Context, nodes *registry.Store, pod *corev1.Pod) (*authn.Ref, error) {
	if pod.Spec.NodeName == "" {
		return nil, nil
	}
	o, err := nodes.Get(ctx, "", pod.Spec.NodeName, &metav1.GetOptions{ResourceVersion: "0"})
	if err != nil {
		o, err = nodes.Get(ctx, "", pod.Spec.NodeName, nil)
	}
	switch {
	case apierrors.IsNotFound(err):
		return &authn.Ref{Name: pod.Spec.NodeName}, nil
	case err != nil:
		return nil, apierrors.NewInternalError(err)
	}
	return &authn.Ref{Name: pod.Spec.NodeName, UID: string(o.(*corev1.Node).UID)}, nil
}

// apiAudiences: every audience of a token is one of the API's (kube's
// isKubeAudiences).
func apiAudiences(token, api []string) bool {
	for _, a := range token {
		if !slices.Contains(api, a) {
			return false
		}
	}
	return true
}

func ptrTo[T any](v T) *T { return &v }
