// Package authn finds out who sends a request: client certificates,
// static tokens, service-account tokens, anonymous; a union of them.
package authn

import (
	"net/http"

	"kapi/internal/request"
)

// Authenticator reads one kind of credential. ok is false when the
// request carries none of its kind; err is a credential of its kind that
// is bad (the request is then refused with 401, never treated as
// anonymous).
type Authenticator interface {
	AuthenticateRequest(r *http.Request) (u *request.User, ok bool, err error)
}

// Union asks each authenticator in order; the first that recognises a
// credential decides.
type Union []Authenticator

// AuthenticateRequest implements Authenticator.
func (un Union) AuthenticateRequest(r *http.Request) (*request.User, bool, error) {
	for _, a := range un {
		u, ok, err := a.AuthenticateRequest(r)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return u, true, nil
		}
	}
	return nil, false, nil
}
