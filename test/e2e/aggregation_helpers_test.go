package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	genericrequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/rest"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

// aggSeen is what an extension server saw of one request, once
// k8s.io/apiserver authenticated and authorized it: the common name of
// the client certificate (kapi's front proxy) and the user.
type aggSeen struct {
	Path, ProxyCN, User string
	Groups              []string
	Extra               map[string][]string
}

// aggExtension is an extension API server of the tests, standard as
// sample-apiserver or metrics-server: delegatedAuth (k8s.io/apiserver's
// delegated authentication from kapi's extension-apiserver-authentication
// ConfigMap, SubjectAccessReviews to kapi) in front of the handler,
// served by serveExtension with a certificate for
// <service>.<namespace>.svc, the name kapi's aggregator verifies.
type aggExtension struct {
	Port int32
	CA   []byte // the APIService's caBundle

	mu   sync.Mutex
	seen []aggSeen
}

func (e *aggExtension) requests() []aggSeen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]aggSeen(nil), e.seen...)
}

// startAggExtension serves h for the service ns/svc until the test ends;
// h sees only the requests k8s.io/apiserver let through.
func startAggExtension(t *testing.T, k *kapi, ns, svc string, h http.Handler) *aggExtension {
	t.Helper()
	e := &aggExtension{}
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := aggSeen{Path: r.URL.Path}
		if u, ok := genericrequest.UserFrom(r.Context()); ok {
			s.User, s.Groups, s.Extra = u.GetName(), u.GetGroups(), u.GetExtra()
		}
		if len(r.TLS.PeerCertificates) > 0 {
			s.ProxyCN = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		e.mu.Lock()
		e.seen = append(e.seen, s)
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	})
	addr, caBundle := serveExtension(t, delegatedAuth(t, k)(record), svc+"."+ns+".svc")
	u, err := url.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	e.Port, e.CA = int32(port), caBundle
	return e
}

// aggService makes the Service ns/name (port 443, named https) and, when
// port is not 0, an EndpointSlice with one endpoint 127.0.0.1:port,
// ready as told.
func aggService(t *testing.T, k *kapi, ns, name string, port int32, ready bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := k.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := k.client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(port)}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if port == 0 {
		return
	}
	pn := "https"
	_, err = k.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &pn, Port: &port}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// aggAPIService registers group/version as served by the service ns/svc.
func aggAPIService(t *testing.T, k *kapi, group, version, ns, svc string, caBundle []byte, groupPriority, versionPriority int32) {
	t.Helper()
	port := int32(443)
	_, err := aggregator.NewForConfigOrDie(k.rest).ApiregistrationV1().APIServices().Create(context.Background(), &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: version + "." + group},
		Spec: apiregistrationv1.APIServiceSpec{Group: group, Version: version, CABundle: caBundle,
			Service:              &apiregistrationv1.ServiceReference{Namespace: ns, Name: svc, Port: &port},
			GroupPriorityMinimum: groupPriority, VersionPriority: versionPriority},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// aggWaitCondition waits until the APIService's Available condition has
// reason (and a message containing message), and returns it.
func aggWaitCondition(t *testing.T, k *kapi, name, reason, message string) apiregistrationv1.APIServiceCondition {
	t.Helper()
	api := aggregator.NewForConfigOrDie(k.rest).ApiregistrationV1().APIServices()
	var last apiregistrationv1.APIServiceCondition
	err := waitUntil(60*time.Second, func() bool {
		s, err := api.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range s.Status.Conditions {
			if c.Type == apiregistrationv1.Available {
				last = c
				return c.Reason == reason && strings.Contains(c.Message, message)
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("APIService %s: want reason %s (%q), have %+v", name, reason, message, last)
	}
	return last
}

// aggregatorRaw GETs path through kapi with rc's credentials; a non-2xx
// answer is an error holding its status and body.
func aggregatorRaw(t *testing.T, rc *rest.Config, path string) ([]byte, error) {
	t.Helper()
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Get(strings.TrimSuffix(rc.Host, "/") + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode/100 != 2 {
		err = fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b, err
}
