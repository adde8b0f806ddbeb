package server

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// DefaultAPIServerID is kube-apiserver's identity for this host:
// "apiserver-" and the base32 (lower case, unpadded) of the first 16
// bytes of the SHA-256 of the host's name and "kube-apiserver", each
// prefixed by its two-byte length (k8s.io/apiserver's NewConfig). kapi
// takes kube-apiserver's component name, as its identity Lease's label
// does, so that tools that find API servers by either see one.
func DefaultAPIServerID() (string, error) {
	hostname, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("error getting hostname for apiserver identity: %w", err)
	}
	var b cryptobyte.Builder
	for _, part := range []string{hostname, identityComponent} {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(part)) })
	}
	hash := sha256.Sum256(b.BytesOrPanic())
	return "apiserver-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(hash[:16])), nil
}

// identityComponent is the component an API server's identity names.
const identityComponent = "kube-apiserver"
