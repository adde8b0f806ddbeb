package etcd

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kapi/internal/storage"
)

// List reads the objects below prefix at one revision. A page ends after
// opts.Limit matching objects; its continue token pins the revision of the
// first page, so that every page of a list is read at the same revision.
func (s *Store) List(ctx context.Context, prefix string, opts storage.ListOptions) (*storage.ListResult, error) {
	ctx, span := s.startSpan(ctx, "List(recursive=true) etcd3", prefix)
	defer span.End()
	start := time.Now()
	out, st, err := s.list(ctx, prefix, opts)
	s.observeList(start, st)
	return out, err
}

// listStats are what a list read: the values fetched from etcd, how many
// of them decoded (and were tested against the predicate) and were
// returned (so far, when it failed), and the values' size as etcd holds
// them.
type listStats struct {
	fetched, evaluated, returned int
	bytes                        int64
}

// list is List without its list metrics: a watch's initial events are
// not a list (kube counts the lists of GetList only).
func (s *Store) list(ctx context.Context, prefix string, opts storage.ListOptions) (*storage.ListResult, listStats, error) {
	var st listStats
	full := s.root + prefix
	rangeEnd := clientv3.GetPrefixRangeEnd(full)
	start := full
	var rev int64
	var continueKey string // the token's start, below the root
	if opts.Continue != "" {
		token, err := storage.DecodeContinue(opts.Continue)
		if err != nil {
			return nil, st, err
		}
		rev, start, continueKey = token.RV, s.root+token.Start, token.Start
		if rev == storage.LatestRevision {
			rev = 0 // the rest, as it is now
		}
		if !strings.HasPrefix(start, full) {
			return nil, st, &storage.Error{Code: storage.CodeInvalidContinue, Msg: "continue key is not within the listed prefix"}
		}
	} else if opts.Exact && opts.ResourceVersion > 0 {
		rev = opts.ResourceVersion
	}

	batch := s.pagingBatch
	if opts.Limit > 0 && opts.Predicate.Empty() {
		batch = opts.Limit
	} else if opts.Limit == 0 {
		// A whole list (a watch cache filling).
		batch = s.fullBatch
	}
	get := func(ctx context.Context, start string, rev int64) (*clientv3.GetResponse, error) {
		ops := []clientv3.OpOption{clientv3.WithRange(rangeEnd), clientv3.WithLimit(batch)}
		if rev > 0 {
			ops = append(ops, clientv3.WithRev(rev))
		}
		began := time.Now()
		resp, err := s.client.Get(ctx, start, ops...)
		err = s.observe(opList, began, err)
		if err != nil {
			if err == rpctypes.ErrCompacted && opts.Continue != "" {
				// As kube: 410, with a token that goes on from the same
				// key at the latest revision.
				return nil, &storage.Error{Code: storage.CodeGone, Msg: ContinueTooOld,
					Continue: storage.EncodeContinue(storage.LatestRevision, continueKey)}
			}
			return nil, readError(err, rev)
		}
		return resp, nil
	}
	type page struct {
		resp *clientv3.GetResponse
		err  error
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next chan page // the page being read ahead
	out := &storage.ListResult{}
	var corrupt storage.CorruptList
	for {
		var resp *clientv3.GetResponse
		var err error
		if next != nil {
			p := <-next
			resp, err, next = p.resp, p.err, nil
		} else {
			resp, err = get(ctx, start, rev)
		}
		if err != nil {
			return nil, st, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
			if opts.ResourceVersion > rev {
				return nil, st, tooNew(opts.ResourceVersion)
			}
		}
		st.fetched += len(resp.Kvs)
		for _, kv := range resp.Kvs {
			st.bytes += int64(len(kv.Value))
		}
		more := resp.More && len(resp.Kvs) > 0
		if more {
			start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
			if opts.Limit == 0 {
				next = make(chan page, 1)
				go func(start string, rev int64) {
					resp, err := get(pctx, start, rev)
					next <- page{resp, err}
				}(start, rev)
			}
		}
		for i, kv := range resp.Kvs {
			obj, err := s.decodeKV(ctx, kv)
			if err != nil {
				// Corrupt objects are gathered, to be named together.
				var se *storage.Error
				if !errors.As(err, &se) || se.Code != storage.CodeCorrupt {
					return nil, st, err
				}
				if corrupt.Add(se) {
					return nil, st, &corrupt
				}
				continue
			}
			st.evaluated++
			ok, err := opts.Predicate.Matches(obj)
			if err != nil {
				return nil, st, err
			}
			if ok {
				out.Items = append(out.Items, obj)
				st.returned++
			}
			if opts.Limit > 0 && int64(len(out.Items)) == opts.Limit {
				more := i < len(resp.Kvs)-1 || resp.More
				if more {
					next := string(kv.Key) + "\x00"
					out.Continue = storage.EncodeContinue(rev, strings.TrimPrefix(next, s.root))
					if opts.Predicate.Empty() {
						n := resp.Count - int64(i) - 1
						out.RemainingItemCount = &n
					}
				}
				if len(corrupt.Objects) > 0 {
					return nil, st, &corrupt
				}
				out.ResourceVersion = rev
				return out, st, nil
			}
		}
		if !more {
			break
		}
	}
	if len(corrupt.Objects) > 0 {
		return nil, st, &corrupt
	}
	out.ResourceVersion = rev
	return out, st, nil
}

// ContinueTooOld is kube's message for a continue token whose revision
// etcd has compacted.
const ContinueTooOld = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."
