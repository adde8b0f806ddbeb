package authn

import (
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// CAFile is a PEM bundle file that is read again when it changes, as
// kube's dynamic CA file content: --requestheader-client-ca-file can be
// rotated (a new front-proxy CA appended, the old one removed later)
// without a restart. The file is looked at (size and modification time)
// at most once per CheckEvery; a file that turns bad keeps the last good
// pool, as kube keeps serving with the last good content.
type CAFile struct {
	Name       string
	CheckEvery time.Duration

	mu      sync.Mutex
	pool    *x509.CertPool
	size    int64
	mod     time.Time
	checked time.Time
}

// NewCAFile reads name, which must hold at least one certificate.
func NewCAFile(name string) (*CAFile, error) {
	c := &CAFile{Name: name, CheckEvery: 10 * time.Second}
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if c.pool, err = readPool(name); err != nil {
		return nil, err
	}
	c.size, c.mod, c.checked = fi.Size(), fi.ModTime(), time.Now()
	return c, nil
}

// Pool is the current pool; a new pointer after each change.
func (c *CAFile) Pool() *x509.CertPool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.checked) < c.CheckEvery {
		return c.pool
	}
	c.checked = now
	fi, err := os.Stat(c.Name)
	if err != nil || (fi.Size() == c.size && fi.ModTime().Equal(c.mod)) {
		return c.pool
	}
	if pool, err := readPool(c.Name); err == nil {
		c.pool, c.size, c.mod = pool, fi.Size(), fi.ModTime()
	}
	return c.pool
}

func readPool(name string) (*x509.CertPool, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no certificate", name)
	}
	return pool, nil
}
