package controllers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"reflect"
	"testing"
	"time"
)

func caPEM(t *testing.T, cn string, notAfter time.Time) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestAuthenticationData: kube's keys and encodings; what another replica
// wrote is kept, once, and expired CAs are dropped.
func TestAuthenticationData(t *testing.T) {
	soon := time.Now().Add(time.Hour)
	client, front, other := caPEM(t, "client", soon), caPEM(t, "front", soon), caPEM(t, "other-front", soon)
	expired := caPEM(t, "expired", time.Now().Add(-time.Hour))
	mine := AuthenticationInfo{ClientCA: client, RequestHeaderCA: front, AllowedNames: []string{"front-proxy-client"},
		UsernameHeaders: []string{"X-Remote-User"}, GroupHeaders: []string{"X-Remote-Group"}, ExtraPrefixes: []string{"X-Remote-Extra-"}}
	data, err := AuthenticationData(AuthenticationInfo{}, mine)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"client-ca-file":                     string(client),
		"requestheader-client-ca-file":       string(front),
		"requestheader-allowed-names":        `["front-proxy-client"]`,
		"requestheader-username-headers":     `["X-Remote-User"]`,
		"requestheader-uid-headers":          `[]`,
		"requestheader-group-headers":        `["X-Remote-Group"]`,
		"requestheader-extra-headers-prefix": `["X-Remote-Extra-"]`,
	}
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("got %v\nwant %v", data, want)
	}

	theirs := AuthenticationInfo{ClientCA: append(append([]byte{}, client...), expired...), RequestHeaderCA: other,
		AllowedNames: []string{"aggregator", "front-proxy-client"}, UsernameHeaders: []string{"X-Remote-User"}}
	merged, err := AuthenticationData(theirs, mine)
	if err != nil {
		t.Fatal(err)
	}
	if merged["client-ca-file"] != string(client) {
		t.Errorf("client CA: %s", merged["client-ca-file"])
	}
	if merged["requestheader-client-ca-file"] != string(other)+string(front) {
		t.Errorf("request-header CA: %s", merged["requestheader-client-ca-file"])
	}
	if merged["requestheader-allowed-names"] != `["aggregator","front-proxy-client"]` {
		t.Errorf("allowed names: %s", merged["requestheader-allowed-names"])
	}
	back, err := ParseAuthenticationData(merged)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := AuthenticationData(back, mine); !reflect.DeepEqual(again, merged) {
		t.Errorf("a second merge changed the data: %v", again)
	}

	// Without a request-header CA, only the client CA.
	if data, _ := AuthenticationData(AuthenticationInfo{}, AuthenticationInfo{ClientCA: client, AllowedNames: []string{"x"}}); !reflect.DeepEqual(data, map[string]string{"client-ca-file": string(client)}) {
		t.Errorf("without a request-header CA: %v", data)
	}
}
