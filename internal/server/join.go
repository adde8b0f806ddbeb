package server

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"
)

// A replica joins a cluster of kapi replicas on one etcd with nothing but
// the etcd address and the cluster's join token (--token, as k3s's): the
// cluster's secrets, which every replica must share (the CA that signs
// serving and client certificates, the service-account signing key, the
// front-proxy CA), are kept in etcd, encrypted with a key derived from
// the token. The first replica to start publishes its own; every other
// takes them, and makes its serving, admin and front-proxy client
// certificates from them. Someone who can read etcd but has no token
// learns nothing of them; a replica started with another token is
// refused at start.

// clusterSecretFiles are the files of <data-dir>/pki the replicas share.
var clusterSecretFiles = []string{"ca.crt", "ca.key", "sa.key", frontProxyCAName + ".crt", frontProxyCAName + ".key"}

// derivedFiles are made from the shared secrets on each replica: made
// again when the secrets are replaced.
var derivedFiles = []string{"apiserver.crt", "apiserver.key", "admin.crt", "admin.key",
	frontProxyClientName + ".crt", frontProxyClientName + ".key"}

// sealedSecrets is what etcd holds: the files, sealed with AES-256-GCM
// under a key derived from the token with PBKDF2-SHA256 and the salt.
type sealedSecrets struct {
	Version    int    `json:"version"`
	Iterations int    `json:"iterations"`
	Salt       []byte `json:"salt"`
	Nonce      []byte `json:"nonce"`
	Sealed     []byte `json:"sealed"`
}

const joinKDFIterations = 100_000

// errWrongToken is a join token that does not open the cluster's secrets.
var errWrongToken = errors.New("--token does not match the token of the cluster whose secrets are in etcd")

func clusterSecretsKey(prefix string) string { return prefix + "/kapi/cluster-secrets" }

// joinCluster makes pkiDir hold the cluster's secrets: the ones in etcd,
// or, when there are none yet, the local ones (made by ensure first),
// which it then publishes. It is safe for replicas starting at once: one
// publication wins, the others take it.
func joinCluster(ctx context.Context, c *clientv3.Client, prefix, token, pkiDir string, ensure func() error) error {
	if token == "" {
		return nil
	}
	key := clusterSecretsKey(prefix)
	for range 2 {
		resp, err := c.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("reading the cluster's secrets from etcd: %w", err)
		}
		if len(resp.Kvs) == 1 {
			files, err := openSecrets(resp.Kvs[0].Value, token)
			if err != nil {
				return err
			}
			return installSecrets(pkiDir, files)
		}
		if err := ensure(); err != nil {
			return err
		}
		files := map[string][]byte{}
		for _, name := range clusterSecretFiles {
			b, err := os.ReadFile(filepath.Join(pkiDir, name))
			if err != nil {
				return err
			}
			files[name] = b
		}
		sealed, err := sealSecrets(files, token)
		if err != nil {
			return err
		}
		txn, err := c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, string(sealed))).Commit()
		if err != nil {
			return fmt.Errorf("publishing the cluster's secrets in etcd: %w", err)
		}
		if txn.Succeeded {
			klog.InfoS("published this replica's CA and keys as the cluster's, sealed with the join token", "key", key)
			return nil
		}
		// Another replica published first: take its secrets.
	}
	return errors.New("the cluster's secrets in etcd changed while joining; start again")
}

func joinKey(token string, salt []byte, iterations int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, token, salt, iterations, 32)
}

func sealSecrets(files map[string][]byte, token string) ([]byte, error) {
	plain, err := json.Marshal(files)
	if err != nil {
		return nil, err
	}
	s := sealedSecrets{Version: 1, Iterations: joinKDFIterations, Salt: make([]byte, 16)}
	if _, err := rand.Read(s.Salt); err != nil {
		return nil, err
	}
	gcm, err := joinCipher(token, s.Salt, s.Iterations)
	if err != nil {
		return nil, err
	}
	s.Nonce = make([]byte, gcm.NonceSize())
	if _, err := rand.Read(s.Nonce); err != nil {
		return nil, err
	}
	s.Sealed = gcm.Seal(nil, s.Nonce, plain, []byte("kapi cluster secrets v1"))
	return json.Marshal(s)
}

func openSecrets(b []byte, token string) (map[string][]byte, error) {
	var s sealedSecrets
	if err := json.Unmarshal(b, &s); err != nil || s.Version != 1 {
		return nil, fmt.Errorf("the cluster's secrets in etcd are not in a form this kapi reads (version %d): %v", s.Version, err)
	}
	gcm, err := joinCipher(token, s.Salt, s.Iterations)
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != gcm.NonceSize() {
		return nil, errors.New("the cluster's secrets in etcd are damaged")
	}
	plain, err := gcm.Open(nil, s.Nonce, s.Sealed, []byte("kapi cluster secrets v1"))
	if err != nil {
		return nil, errWrongToken
	}
	var files map[string][]byte
	if err := json.Unmarshal(plain, &files); err != nil {
		return nil, err
	}
	for _, name := range clusterSecretFiles {
		if len(files[name]) == 0 {
			return nil, fmt.Errorf("the cluster's secrets in etcd lack %s", name)
		}
	}
	return files, nil
}

func joinCipher(token string, salt []byte, iterations int) (cipher.AEAD, error) {
	if iterations < 1 {
		return nil, errors.New("the cluster's secrets in etcd are damaged")
	}
	k, err := joinKey(token, salt, iterations)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// installSecrets writes the cluster's files into pkiDir. When they differ
// from what is there (a replica that made its own before joining), the
// certificates made from the old ones go, to be made again.
func installSecrets(pkiDir string, files map[string][]byte) error {
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return err
	}
	changed := false
	for _, name := range clusterSecretFiles {
		path := filepath.Join(pkiDir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		changed = true
		if err := os.WriteFile(path, files[name], 0o600); err != nil {
			return err
		}
	}
	if !changed {
		return nil
	}
	klog.InfoS("took the cluster's CA and keys from etcd", "dir", pkiDir)
	for _, name := range derivedFiles {
		if err := os.Remove(filepath.Join(pkiDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
