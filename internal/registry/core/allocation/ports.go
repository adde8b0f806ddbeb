package allocation

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

// The errors of a node port allocation, worded as kube-apiserver's.
var (
	ErrPortAllocated = errors.New("provided port is already allocated")
)

// ErrPortNotInRange is a requested port outside the range.
type ErrPortNotInRange struct{ Range string }

func (e *ErrPortNotInRange) Error() string {
	return "provided port is not in the valid range. The range of valid ports is " + e.Range
}

// NodePorts hands out the node ports of one range from a bitmap kept as
// kube-apiserver keeps it: a core/v1 RangeAllocation at
// /registry/ranges/servicenodeports whose data is the big-endian bytes of
// a big integer, bit i set when port base+i is taken. Every change is a
// compare-and-swap of that one key, so replicas on one etcd agree; within
// one process a mutex keeps the swaps from racing each other in vain.
type NodePorts struct {
	base, size int
	text       string // "30000-32767", the RangeAllocation's range
	store      storage.Interface
	key        string
	mu         sync.Mutex
}

// NewNodePorts returns the allocator of portRange ("30000-32767") over the
// key in store.
func NewNodePorts(portRange string, store storage.Interface, key string) (*NodePorts, error) {
	base, size, err := ParsePortRange(portRange)
	if err != nil {
		return nil, err
	}
	return &NodePorts{base: base, size: size, text: fmt.Sprintf("%d-%d", base, base+size-1), store: store, key: key}, nil
}

// ParsePortRange reads "30000-32767" (or a single port) as a base and a
// size.
func ParsePortRange(s string) (base, size int, err error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		hi = lo
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || a < 1 || b > 65535 || b < a {
		return 0, 0, fmt.Errorf("invalid port range %q", s)
	}
	return a, b - a + 1, nil
}

// Range is the range as text, "30000-32767".
func (p *NodePorts) Range() string { return p.text }

// Contains reports whether port is in the range.
func (p *NodePorts) Contains(port int) bool { return port >= p.base && port < p.base+p.size }

// Allocate reserves port (with dryRun only checks it is free).
func (p *NodePorts) Allocate(ctx context.Context, port int, dryRun bool) error {
	if !p.Contains(port) {
		return p.count(static, dryRun, &ErrPortNotInRange{Range: p.text})
	}
	return p.count(static, dryRun, p.update(ctx, dryRun, func(bits *big.Int) error {
		if bits.Bit(port-p.base) == 1 {
			return ErrPortAllocated
		}
		bits.SetBit(bits, port-p.base, 1)
		return nil
	}))
}

// count counts an allocation of scope, or its error, as kube's port
// allocator does; a dry run counts nothing.
func (p *NodePorts) count(scope string, dryRun bool, err error) error {
	switch {
	case dryRun:
	case err != nil:
		portAllocationErrors.WithLabelValues(scope).Inc()
	default:
		portAllocations.WithLabelValues(scope).Inc()
	}
	return err
}

// AllocateNext reserves a free port, starting the search at a random one.
func (p *NodePorts) AllocateNext(ctx context.Context, dryRun bool) (int, error) {
	var got int
	err := p.update(ctx, dryRun, func(bits *big.Int) error {
		start := rand.IntN(p.size)
		for i := 0; i < p.size; i++ {
			n := (start + i) % p.size
			if bits.Bit(n) == 0 {
				bits.SetBit(bits, n, 1)
				got = p.base + n
				return nil
			}
		}
		return ErrFull
	})
	return got, p.count(dynamic, dryRun, err)
}

// Release frees ports; ports outside the range are ignored.
func (p *NodePorts) Release(ctx context.Context, ports ...int) error {
	return p.update(ctx, false, func(bits *big.Int) error {
		for _, port := range ports {
			if p.Contains(port) {
				bits.SetBit(bits, port-p.base, 0)
			}
		}
		return nil
	})
}

// Allocated reports whether port is taken.
func (p *NodePorts) Allocated(ctx context.Context, port int) (bool, error) {
	obj, err := p.store.Get(ctx, p.key, storage.ReadOptions{})
	if storage.HasCode(err, storage.CodeNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	bits := new(big.Int).SetBytes(obj.(*corev1.RangeAllocation).Data)
	return p.Contains(port) && bits.Bit(port-p.base) == 1, nil
}

// update changes the bitmap with f in one compare-and-swap (retried by
// the store when another writer came first).
func (p *NodePorts) update(ctx context.Context, dryRun bool, f func(bits *big.Int) error) error {
	return p.updateRecording(ctx, dryRun, true, f)
}

// updateRecording is update, setting the gauges from the bitmap written
// when record (kube's repair loop has an allocator of its own, which
// sets none).
func (p *NodePorts) updateRecording(ctx context.Context, dryRun, record bool, f func(bits *big.Int) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var written *big.Int
	_, err := p.store.Update(ctx, p.key, true, func(current runtime.Object) (storage.Decision, error) {
		ra := &corev1.RangeAllocation{}
		if current != nil {
			ra = current.(*corev1.RangeAllocation).DeepCopy()
		}
		bits := new(big.Int).SetBytes(ra.Data)
		if err := f(bits); err != nil {
			return storage.Decision{}, err
		}
		if dryRun {
			return storage.Decision{Action: storage.NoWrite}, nil
		}
		ra.Range, ra.Data = p.text, bits.Bytes()
		written = bits
		return storage.WriteObject(ra), nil
	})
	if err == nil && written != nil && record {
		p.recordPorts(written)
	}
	return err
}

// Repair rewrites the bitmap in one compare-and-swap, as kube-apiserver's
// port repair loop does: keep gets the ports marked now and returns those
// to mark (ports outside the range are dropped). keep runs again when
// another writer came first, so it must only compute.
func (p *NodePorts) Repair(ctx context.Context, keep func(held []int) ([]int, error)) error {
	return p.updateRecording(ctx, false, false, func(bits *big.Int) error {
		var held []int
		for i := 0; i < p.size; i++ {
			if bits.Bit(i) == 1 {
				held = append(held, p.base+i)
			}
		}
		want, err := keep(held)
		if err != nil {
			return err
		}
		bits.SetInt64(0)
		for _, port := range want {
			if p.Contains(port) {
				bits.SetBit(bits, port-p.base, 1)
			}
		}
		return nil
	})
}
