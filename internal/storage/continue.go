package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// ContinueToken is kube-apiserver's continue format: base64 of
// {"v":"meta.k8s.io/v1","rv":<revision>,"start":"<next key>"}. An rv of
// -1 goes on at the latest revision: the token kube gives with the 410
// of a token whose revision was compacted.
type ContinueToken struct {
	APIVersion string `json:"v"`
	RV         int64  `json:"rv"`
	Start      string `json:"start"`
}

// EncodeContinue is the token of a page that ends before start (the key,
// below the resource root, the next page begins at), read at rev.
func EncodeContinue(rev int64, start string) string {
	b, _ := json.Marshal(ContinueToken{APIVersion: "meta.k8s.io/v1", RV: rev, Start: start})
	return base64.RawURLEncoding.EncodeToString(b)
}

// LatestRevision is the rv of a continue token that lists on at the
// latest revision.
const LatestRevision = -1

// DecodeContinue reads a token; a malformed one is CodeInvalidContinue.
func DecodeContinue(s string) (ContinueToken, error) {
	var t ContinueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, invalidContinue(err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, invalidContinue(err)
	}
	if t.APIVersion != "meta.k8s.io/v1" || (t.RV <= 0 && t.RV != LatestRevision) || t.Start == "" || strings.Contains(t.Start, "..") {
		return t, invalidContinue(fmt.Errorf("malformed token"))
	}
	return t, nil
}

func invalidContinue(err error) error {
	return &Error{Code: CodeInvalidContinue, Msg: "continue key is not valid: " + err.Error()}
}
