package audit

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/request"
)

// HeaderAuditID is the request and response header carrying the audit ID:
// a client may choose it, otherwise the server does, and the server always
// answers with it.
const HeaderAuditID = auditv1.HeaderAuditID

const (
	maxUserAgentLength      = 1024
	userAgentTruncateSuffix = "...TRUNCATED"
)

// Record is the audit event of one request in the making. The audit
// filter creates it after authentication; later filters add to it
// (SetImpersonatedUser, AddAnnotation); each stage sends a copy of it, as
// it then stands, to the sinks.
type Record struct {
	a   *Auditor
	cfg Config

	mu sync.Mutex
	ev auditv1.Event
}

// NewRecord starts the audit event of request r, which cfg (from
// Evaluate) audits at a level above None. The user and request info are
// read from r's context.
func (a *Auditor) NewRecord(r *http.Request, auditID string, received time.Time, cfg Config) *Record {
	ctx := r.Context()
	info := request.InfoFrom(ctx)
	if info == nil {
		info = request.Parse(r)
	}
	ev := auditv1.Event{
		TypeMeta:                 metav1.TypeMeta{Kind: "Event", APIVersion: auditv1.SchemeGroupVersion.String()},
		Level:                    cfg.Level,
		AuditID:                  types.UID(auditID),
		RequestURI:               r.URL.RequestURI(),
		Verb:                     info.Verb,
		UserAgent:                r.UserAgent(),
		RequestReceivedTimestamp: metav1.NewMicroTime(received),
	}
	if len(ev.UserAgent) > maxUserAgentLength {
		ev.UserAgent = ev.UserAgent[:maxUserAgentLength] + userAgentTruncateSuffix
	}
	for _, ip := range utilnet.SourceIPs(r) {
		ev.SourceIPs = append(ev.SourceIPs, ip.String())
	}
	if u := request.UserFrom(ctx); u != nil {
		ev.User = userInfo(u)
	}
	if info.IsResourceRequest {
		ev.ObjectRef = &auditv1.ObjectReference{
			Resource:    info.Resource,
			Subresource: info.Subresource,
			Namespace:   info.Namespace,
			Name:        info.Name,
			APIGroup:    info.APIGroup,
			APIVersion:  info.APIVersion,
		}
	}
	ev.Annotations = request.EarlyAnnotations(ctx)
	return &Record{a: a, cfg: cfg, ev: ev}
}

func userInfo(u *request.User) authnv1.UserInfo {
	ui := authnv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		ui.Extra = make(map[string]authnv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			ui.Extra[k] = v
		}
	}
	return ui
}

// Level is the level the request is audited at.
func (rec *Record) Level() auditv1.Level { return rec.cfg.Level }

// Stage sends the event, at stage s, to the sinks, unless the policy omits
// s; a sink in a blocking mode delivers it before Stage returns. It
// reports false when a blocking-strict sink could not deliver it.
func (rec *Record) Stage(s auditv1.Stage) bool {
	if rec.cfg.omits(s) {
		return true
	}
	rec.mu.Lock()
	rec.ev.Stage = s
	if s == auditv1.StageRequestReceived {
		rec.ev.StageTimestamp = rec.ev.RequestReceivedTimestamp
	} else {
		rec.ev.StageTimestamp = metav1.NewMicroTime(time.Now())
	}
	ev := rec.ev.DeepCopy()
	rec.mu.Unlock()
	return rec.a.process(ev)
}

// SetResponseCode records the status code of the response (the first one
// written).
func (rec *Record) SetResponseCode(code int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.ev.ResponseStatus == nil {
		rec.ev.ResponseStatus = &metav1.Status{}
	}
	rec.ev.ResponseStatus.Code = int32(code)
}

// HasResponseStatus reports whether a response status was recorded.
func (rec *Record) HasResponseStatus() bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.ev.ResponseStatus != nil
}

// SetResponseStatus replaces the recorded response status.
func (rec *Record) SetResponseStatus(st *metav1.Status) {
	rec.mu.Lock()
	rec.ev.ResponseStatus = st
	rec.mu.Unlock()
}

// Panicked records that a later handler panicked with v (a 500) and sends
// the Panic stage.
func (rec *Record) Panicked(v any) {
	rec.SetResponseStatus(&metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusInternalServerError,
		Reason:  metav1.StatusReasonInternalError,
		Message: fmt.Sprintf("APIServer panic'd: %v", v),
	})
	rec.Stage(auditv1.StagePanic)
}

// SetRequestBody records the request body: from Metadata on, the name,
// namespace, uid and resourceVersion it names fill the gaps of objectRef
// (a create names its object only in the body); from Request on, the body
// itself, as JSON, is the event's requestObject.
func (rec *Record) SetRequestBody(contentType string, body []byte) {
	js := toJSON(contentType, body)
	if js == nil {
		return
	}
	var obj *runtime.Unknown
	if atLeast(rec.cfg.Level, auditv1.LevelRequest) {
		obj = rec.object(js)
	}
	m := objectMetaOf(js)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if ref := rec.ev.ObjectRef; ref != nil && (rec.ev.Verb == "create" || rec.ev.Verb == "update") {
		fill(&ref.Name, m.Name)
		fill(&ref.Namespace, m.Namespace)
		fill((*string)(&ref.UID), string(m.UID))
		fill(&ref.ResourceVersion, m.ResourceVersion)
	}
	if obj != nil {
		rec.ev.RequestObject = obj
	}
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// SetResponseBody records the response body: when it is a Status, its
// fields make the event's responseStatus (from Metadata on; the code stays
// the one written); at
// RequestResponse, the body itself, as JSON, is the responseObject.
func (rec *Record) SetResponseBody(contentType string, body []byte) {
	js := toJSON(contentType, body)
	if js == nil {
		return
	}
	st := statusOf(js)
	var obj *runtime.Unknown
	if atLeast(rec.cfg.Level, auditv1.LevelRequestResponse) {
		obj = rec.object(js)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if st != nil {
		// The code is the one of the response, as kube-apiserver records it.
		code := st.Code
		if rec.ev.ResponseStatus != nil && rec.ev.ResponseStatus.Code != 0 {
			code = rec.ev.ResponseStatus.Code
		}
		rec.ev.ResponseStatus = &metav1.Status{Status: st.Status, Message: st.Message, Reason: st.Reason, Details: st.Details, Code: code}
	}
	if obj != nil {
		rec.ev.ResponseObject = obj
	}
}

// object is the JSON js as an event's request or response object, with
// managedFields left out if the policy says so.
func (rec *Record) object(js []byte) *runtime.Unknown {
	if rec.cfg.OmitManagedFields {
		js = withoutManagedFields(js)
	}
	return &runtime.Unknown{Raw: js, ContentType: runtime.ContentTypeJSON}
}

type recordKey struct{}

// WithRecord returns a context that carries rec.
func WithRecord(ctx context.Context, rec *Record) context.Context {
	return context.WithValue(ctx, recordKey{}, rec)
}

func recordFrom(ctx context.Context) *Record {
	rec, _ := ctx.Value(recordKey{}).(*Record)
	return rec
}

// SetImpersonatedUser records, on the request's audit event, the user the
// request impersonates, and the constrained impersonation mode that
// allowed it ("impersonate:user-info", ...; "" for the legacy verb) as
// kube's authenticationMetadata.impersonationConstraint. It does nothing
// when the request is not audited.
func SetImpersonatedUser(ctx context.Context, u *request.User, constraint string) {
	rec := recordFrom(ctx)
	if rec == nil || u == nil {
		return
	}
	ui := userInfo(u)
	rec.mu.Lock()
	rec.ev.ImpersonatedUser = &ui
	if constraint != "" {
		rec.ev.AuthenticationMetadata = &auditv1.AuthenticationMetadata{ImpersonationConstraint: constraint}
	}
	rec.mu.Unlock()
}

// AddAnnotation records key=value in the annotations of the request's
// audit event (for example "authorization.k8s.io/decision": "allow"). As
// kube-apiserver, a key keeps its first value. Before the audit filter
// has made the request's event (during authentication), the annotation
// waits for it (pending.go). It does nothing when the request is not
// audited.
func AddAnnotation(ctx context.Context, key, value string) {
	rec := recordFrom(ctx)
	if rec == nil {
		addPending(ctx, key, value)
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.ev.Annotations = setAnnotation(rec.ev.Annotations, string(rec.ev.AuditID), key, value)
}
