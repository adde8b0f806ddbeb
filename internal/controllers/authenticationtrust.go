package controllers

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
)

// AuthenticationConfigMap is the ConfigMap in kube-system from which an
// extension API server (k8s.io/apiserver's delegated authentication)
// learns whom to trust: the client CA, and the front proxy's CA, allowed
// names and headers.
const AuthenticationConfigMap = "extension-apiserver-authentication"

// The keys of AuthenticationConfigMap, as kube-apiserver writes them:
// CA bundles in PEM, lists as JSON arrays.
const (
	keyClientCA          = "client-ca-file"
	keyRequestHeaderCA   = "requestheader-client-ca-file"
	keyAllowedNames      = "requestheader-allowed-names"
	keyUsernameHeaders   = "requestheader-username-headers"
	keyUIDHeaders        = "requestheader-uid-headers"
	keyGroupHeaders      = "requestheader-group-headers"
	keyExtraHeaderPrefix = "requestheader-extra-headers-prefix"
)

// AuthenticationInfo is what one replica publishes.
type AuthenticationInfo struct {
	ClientCA        []byte // PEM bundle
	RequestHeaderCA []byte // PEM bundle; without it no requestheader-* key
	AllowedNames    []string
	UsernameHeaders []string
	UIDHeaders      []string
	GroupHeaders    []string
	ExtraPrefixes   []string
}

// authenticationResync is how often the files are read again, as kube's
// controller re-queues itself every minute.
const authenticationResync = time.Minute

// AuthenticationTrust keeps AuthenticationConfigMap, as kube-apiserver's
// cluster-authentication-trust-controller: it merges what this replica
// requires into what is there (CA bundles joined without duplicates or
// expired certificates, lists joined without duplicates), so that
// replicas with different front-proxy CAs all stay trusted, and puts it
// back when it is deleted or changed.
type AuthenticationTrust struct {
	client kubernetes.Interface
	inf    *Informer
	queue  workqueue.TypedRateLimitingInterface[string]
	// info is read at every sync: rotated CA files are published.
	info func() (AuthenticationInfo, error)
}

// NewAuthenticationTrust returns the loop; configMaps is an informer of
// ConfigMaps that the caller runs, client writes as kube-apiserver's
// loopback user.
func NewAuthenticationTrust(client kubernetes.Interface, configMaps *Informer, info func() (AuthenticationInfo, error)) *AuthenticationTrust {
	return &AuthenticationTrust{client: client, inf: configMaps, info: info,
		queue: NewQueue[string]("cluster_authentication_trust_controller")}
}

// Run works until ctx ends.
func (c *AuthenticationTrust) Run(ctx context.Context) {
	c.inf.Handle(ctx, func(ev Event) {
		if cm := ev.Object.(*corev1.ConfigMap); cm.Namespace == metav1.NamespaceSystem && cm.Name == AuthenticationConfigMap {
			c.queue.Add(AuthenticationConfigMap)
		}
	})
	c.queue.Add(AuthenticationConfigMap)
	go func() {
		t := time.NewTicker(authenticationResync)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.queue.Add(AuthenticationConfigMap)
			}
		}
	}()
	work(ctx, c.queue, "ConfigMap in "+metav1.NamespaceSystem, func(string) error { return c.sync(ctx) }, c.inf)
}

func (c *AuthenticationTrust) sync(ctx context.Context) error {
	required, err := c.info()
	if err != nil {
		return err
	}
	cms := c.client.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	obj, ok := c.inf.Get(metav1.NamespaceSystem, AuthenticationConfigMap)
	if !ok {
		data, err := AuthenticationData(AuthenticationInfo{}, required)
		if err != nil {
			return err
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: AuthenticationConfigMap}, Data: data}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil // another replica's: the informer brings it here
		}
		return err
	}
	cm := obj.(*corev1.ConfigMap)
	existing, err := ParseAuthenticationData(cm.Data)
	if err != nil {
		// Not kube's format: ours replaces it.
		existing = AuthenticationInfo{}
	}
	data, err := AuthenticationData(existing, required)
	if err != nil {
		return err
	}
	if maps.Equal(cm.Data, data) {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = data
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // the informer brings the change here
	}
	return err
}

// AuthenticationData is the ConfigMap's data for existing and required
// merged. As kube, the requestheader-* keys are there only with a
// request-header CA, and the client CA only when there is one.
func AuthenticationData(existing, required AuthenticationInfo) (map[string]string, error) {
	data := map[string]string{}
	clientCA, err := joinBundles(existing.ClientCA, required.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyClientCA, err)
	}
	if len(clientCA) > 0 {
		data[keyClientCA] = string(clientCA)
	}
	rhCA, err := joinBundles(existing.RequestHeaderCA, required.RequestHeaderCA)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyRequestHeaderCA, err)
	}
	if len(rhCA) == 0 {
		return data, nil
	}
	data[keyRequestHeaderCA] = string(rhCA)
	for key, lists := range map[string][2][]string{
		keyAllowedNames:      {existing.AllowedNames, required.AllowedNames},
		keyUsernameHeaders:   {existing.UsernameHeaders, required.UsernameHeaders},
		keyUIDHeaders:        {existing.UIDHeaders, required.UIDHeaders},
		keyGroupHeaders:      {existing.GroupHeaders, required.GroupHeaders},
		keyExtraHeaderPrefix: {existing.ExtraPrefixes, required.ExtraPrefixes},
	} {
		b, err := json.Marshal(joinUnique(lists[0], lists[1]))
		if err != nil {
			return nil, err
		}
		data[key] = string(b)
	}
	return data, nil
}

// ParseAuthenticationData reads the ConfigMap's data back.
func ParseAuthenticationData(data map[string]string) (AuthenticationInfo, error) {
	info := AuthenticationInfo{ClientCA: []byte(data[keyClientCA]), RequestHeaderCA: []byte(data[keyRequestHeaderCA])}
	for key, out := range map[string]*[]string{
		keyAllowedNames: &info.AllowedNames, keyUsernameHeaders: &info.UsernameHeaders, keyUIDHeaders: &info.UIDHeaders,
		keyGroupHeaders: &info.GroupHeaders, keyExtraHeaderPrefix: &info.ExtraPrefixes,
	} {
		if s := data[key]; s != "" {
			if err := json.Unmarshal([]byte(s), out); err != nil {
				return AuthenticationInfo{}, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return info, nil
}

// joinUnique is a then b, each string once; never nil, so that an empty
// list is written "[]" as kube writes it.
func joinUnique(a, b []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// joinBundles is the certificates of a then b, each once, without those
// expired more than five minutes ago (kube's slack), in PEM.
func joinBundles(a, b []byte) ([]byte, error) {
	var out bytes.Buffer
	var seen [][]byte
	limit := time.Now().Add(-5 * time.Minute)
	for _, bundle := range [][]byte{a, b} {
		rest := bundle
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, err
			}
			if !cert.NotAfter.After(limit) || containsBytes(seen, cert.Raw) {
				continue
			}
			seen = append(seen, cert.Raw)
			pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
		}
	}
	return out.Bytes(), nil
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}
