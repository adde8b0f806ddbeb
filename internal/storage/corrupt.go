package storage

import (
	"errors"
	"fmt"
	"strings"
)

// Objects that cannot be read back (a value that does not decrypt with
// any configured key, or does not decode) are "corrupt", as
// kube-apiserver calls them (AllowUnsafeMalformedObjectDeletion, on by
// default in kube 1.37): a read of one is a CodeCorrupt error naming
// its key, a list that meets some is a CorruptList naming each (so that
// an administrator can find them), and DeleteCorrupt removes one without
// reading it.

// CorruptError is the storage error of one corrupt object, with
// kube-apiserver's StorageError text:
//
//	StorageError: corrupt object, Code: 7, Key: /registry/configmaps/default/x, ResourceVersion: 0, AdditionalErrorMsg: object not decodable revision=12: ...
//
// undecrypted says the value did not decrypt (kube's "not
// transformable", whose revision it does not know); rev is the revision
// of a value that did not decode.
func CorruptError(key string, undecrypted bool, rev int64, err error) *Error {
	what := fmt.Sprintf("object not decodable revision=%d", rev)
	if undecrypted {
		what = "data from the storage is not transformable revision=0"
	}
	return &Error{Code: CodeCorrupt, Key: key,
		Msg: fmt.Sprintf("StorageError: corrupt object, Code: 7, Key: %s, ResourceVersion: 0, AdditionalErrorMsg: %s: %v", key, what, err)}
}

// MaxCorruptInList is how many corrupt objects a list names before it
// stops reading, as kube-apiserver.
const MaxCorruptInList = 100

// CorruptList is a list that met corrupt objects: each one's error, in
// key order, and whether it stopped reading at MaxCorruptInList.
type CorruptList struct {
	Objects   []*Error
	Truncated bool
}

func (c *CorruptList) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unable to transform or decode %d objects: {\n", len(c.Objects))
	for _, e := range c.Objects {
		fmt.Fprintf(&b, "\t%s\n", e.Msg)
	}
	b.WriteString("}")
	if c.Truncated {
		b.WriteString(", aborted: too many errors, the list is truncated")
	}
	return b.String()
}

// Add records a corrupt object's error; it reports whether the list
// must stop reading.
func (c *CorruptList) Add(err *Error) (stop bool) {
	c.Objects = append(c.Objects, err)
	c.Truncated = len(c.Objects) >= MaxCorruptInList
	return c.Truncated
}

// AsCorruptList returns err's CorruptList, or nil.
func AsCorruptList(err error) *CorruptList {
	var c *CorruptList
	if errors.As(err, &c) {
		return c
	}
	return nil
}
