package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The workload: 12 clients creating, updating and deleting ConfigMaps of
// their own and 4 updating one register ConfigMap by compare-and-swap,
// spread over the replicas, every write recorded with its outcome.
const (
	objectClients   = 12
	registerClients = 4
)

// outcome of a write: acknowledged, refused (the server said it did not
// happen: a 4xx), failed (a 5xx that says it did not happen: etcd's space
// quota exhausted), or unknown (a timeout, a lost connection, another
// 5xx: it may have happened).
type outcome int

const (
	acked outcome = iota
	refused
	unknown
	failed
)

func classify(err error) outcome {
	var st apierrors.APIStatus
	switch {
	case err == nil:
		return acked
	case errors.As(err, &st) && st.Status().Code >= 400 && st.Status().Code < 500 && st.Status().Code != 408 && st.Status().Code != 429:
		return refused
	case errors.As(err, &st) && st.Status().Code == 500 && strings.Contains(st.Status().Message, "database space exceeded"):
		return failed
	}
	return unknown
}

// history is what the clients recorded.
type history struct {
	mu      sync.Mutex
	objects map[string][]objOp // each object's writes, in order (one client writes it)
	reg     []porcupine.Operation
	initial string // the register's value before the history
	start   time.Time
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

type opKind int

const (
	opCreate opKind = iota
	opUpdate
	opDelete
)

// objOp is one write of an object: a create or an update sets data v to
// value, a delete removes the object.
type objOp struct {
	kind    opKind
	value   string
	outcome outcome
	// A refusal that says what the object was: absent (404 NotFound of
	// an update or delete) or present (409 AlreadyExists of a create).
	notFound, exists bool
}

// objState is an object as the final list shows it: absent, or present
// with data v.
type objState struct {
	present bool
	value   string
}

// possible is the set of states an object may be in after ops, and the
// number of answers that contradict the answers before them (an update
// acknowledged though no earlier write can have left the object there, a
// 404 though it must exist). A write of unknown outcome may take effect at
// any time after it was made, later writes of its client included (kapi
// and etcd may still carry out what a client gave up on), or never. strict
// takes refusals at their word; not strict takes them as writes of unknown
// outcome, to tell a refused write that happened from a lost one.
func possible(ops []objOp, strict bool) (map[objState]bool, int) {
	// A state is the object with the writes of unknown outcome not yet
	// taken effect (a bit each).
	type state struct {
		obj     objState
		pending uint64
	}
	var unknowns []objOp
	apply := func(s objState, op objOp) (objState, bool) {
		switch {
		case op.kind == opCreate && !s.present, op.kind == opUpdate && s.present:
			return objState{present: true, value: op.value}, true
		case op.kind == opDelete && s.present:
			return objState{}, true
		}
		return s, false // etcd refuses it: AlreadyExists, NotFound
	}
	// settle adds the states where pending writes have taken effect.
	settle := func(states map[state]bool) {
		queue := make([]state, 0, len(states))
		for s := range states {
			queue = append(queue, s)
		}
		for len(queue) > 0 {
			s := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			for b := range unknowns {
				if s.pending&(1<<b) == 0 {
					continue
				}
				obj, _ := apply(s.obj, unknowns[b])
				n := state{obj, s.pending &^ (1 << b)}
				if !states[n] {
					states[n] = true
					queue = append(queue, n)
				}
			}
		}
	}
	states := map[state]bool{{}: true}
	contradictions := 0
	for _, op := range ops {
		settle(states)
		out := op.outcome
		if out == failed {
			out = refused // nothing changed, and nothing said about the object
		}
		if out == refused && !strict {
			out = unknown
		}
		if out == unknown && len(unknowns) == 64 {
			out = acked // too many to follow; not in these runs
		}
		next := map[state]bool{}
		switch out {
		case acked:
			for s := range states {
				if obj, ok := apply(s.obj, op); ok {
					next[state{obj, s.pending}] = true
				}
			}
		case unknown:
			for s := range states {
				next[state{s.obj, s.pending | 1<<len(unknowns)}] = true
			}
			unknowns = append(unknowns, op)
		case refused:
			for s := range states {
				if !op.notFound && !op.exists || s.obj.present == op.exists {
					next[s] = true
				}
			}
		}
		if len(next) == 0 {
			contradictions++
			for s := range states { // believe the answer
				if out == acked {
					s.obj = objState{present: op.kind != opDelete, value: op.value}
					if op.kind == opDelete {
						s.obj.value = ""
					}
				}
				next[s] = true
			}
		}
		states = next
	}
	settle(states)
	final := map[objState]bool{}
	for s := range states {
		final[s.obj] = true
	}
	return final, contradictions
}

// registerInput: a read, or a compare-and-swap from the value read to a
// new one (an update with the read's resourceVersion as precondition;
// every value is written once, so a value stands for its version).
type registerInput struct {
	cas          bool
	expect, next string
}

type registerOutput struct {
	value   string  // a read's
	outcome outcome // a cas's
}

// registerModel: a register of strings holding initial when the history
// begins; a cas of unknown outcome may or may not have happened.
func registerModel(initial string) porcupine.Model {
	return (&porcupine.NondeterministicModel{
		Init: func() []any { return []any{initial} },
		Step: func(state, input, output any) []any {
			s, in, out := state.(string), input.(registerInput), output.(registerOutput)
			if !in.cas {
				if out.value == s {
					return []any{s}
				}
				return nil
			}
			switch out.outcome {
			case acked:
				if s == in.expect {
					return []any{in.next}
				}
			case refused:
				if s != in.expect {
					return []any{s}
				}
			case failed:
				return []any{s}
			case unknown:
				if s == in.expect {
					return []any{in.next, s}
				}
				return []any{s}
			}
			return nil
		},
	}).ToModel()
}

// load runs the clients in namespace ns, spread over the replicas, until
// ctx ends.
func load(ctx context.Context, c *cluster, h *history, ns string) {
	var wg sync.WaitGroup
	for w := range objectClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			objectClient(ctx, c.clientFor(w%len(c.kapi)), h, ns, w)
		}()
	}
	for r := range registerClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := c.clientFor(r % len(c.kapi))
			for n := 0; ctx.Err() == nil; n++ {
				registerStep(cl, h, ns, objectClients+r, fmt.Sprintf("c%d-%d", r, n))
			}
		}()
	}
	wg.Wait()
}

// objectClient writes objects of its own, one write at a time: creates
// (four in ten), updates (four in ten) and deletes of the objects it may
// have created.
func objectClient(ctx context.Context, cl kubernetes.Interface, h *history, ns string, w int) {
	cms := cl.CoreV1().ConfigMaps(ns)
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	var mine []string
	for n := 0; ctx.Err() == nil; n++ {
		value := strconv.Itoa(n)
		octx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var op objOp
		var name string
		var err error
		switch r := rng.IntN(10); {
		case len(mine) == 0 || r < 4:
			name = fmt.Sprintf("w%d-%d", w, n)
			mine = append(mine, name)
			op.kind = opCreate
			_, err = cms.Create(octx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": value}}, metav1.CreateOptions{})
		case r < 8:
			name = mine[rng.IntN(len(mine))]
			op.kind = opUpdate
			// An unconditional update (no resourceVersion), as ConfigMaps
			// allow.
			_, err = cms.Update(octx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": value}}, metav1.UpdateOptions{})
		default:
			i := rng.IntN(len(mine))
			name = mine[i]
			mine = append(mine[:i], mine[i+1:]...)
			op.kind = opDelete
			err = cms.Delete(octx, name, metav1.DeleteOptions{})
		}
		cancel()
		op.value, op.outcome = value, classify(err)
		op.notFound, op.exists = apierrors.IsNotFound(err), apierrors.IsAlreadyExists(err)
		h.mu.Lock()
		h.objects[name] = append(h.objects[name], op)
		h.mu.Unlock()
		if op.outcome == unknown || op.outcome == failed {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// registerStep is one read of the register, then a cas from what it read.
func registerStep(cl kubernetes.Interface, h *history, ns string, client int, next string) {
	cms := cl.CoreV1().ConfigMaps(ns)
	call := h.now()
	octx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	cur, err := cms.Get(octx, "register", metav1.GetOptions{})
	cancel()
	if err != nil {
		time.Sleep(50 * time.Millisecond)
		return // a failed read changes nothing: left out of the history
	}
	ret := h.now()
	value := cur.Data["v"]
	h.mu.Lock()
	h.reg = append(h.reg, porcupine.Operation{ClientId: client, Input: registerInput{}, Call: call, Output: registerOutput{value: value}, Return: ret})
	h.mu.Unlock()

	cur.Data["v"] = next
	call = h.now()
	octx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	_, err = cms.Update(octx, cur, metav1.UpdateOptions{})
	cancel()
	out := classify(err)
	ret = h.now()
	if out == unknown {
		ret = 1 << 62 // it may take effect at any time after its call
	}
	h.mu.Lock()
	h.reg = append(h.reg, porcupine.Operation{ClientId: client, Input: registerInput{cas: true, expect: value, next: next}, Call: call,
		Output: registerOutput{outcome: out}, Return: ret})
	h.mu.Unlock()
}
