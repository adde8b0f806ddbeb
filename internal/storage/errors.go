package storage

import (
	"errors"
	"fmt"
)

// Code classifies a storage error; the registry turns it into a Status.
type Code int

const (
	CodeNotFound Code = iota + 1
	CodeAlreadyExists
	CodeConflict
	// CodeGone: the revision asked for has been compacted away.
	CodeGone
	// CodeTooLarge: etcd would refuse the object.
	CodeTooLarge
	// CodeTooLargeResourceVersion: the revision asked for is in the future.
	CodeTooLargeResourceVersion
	// CodeInvalidContinue: the continue token cannot be used.
	CodeInvalidContinue
	// CodeStaleCharge: another object a write charges changed since it
	// was read; the write can be tried again.
	CodeStaleCharge
	// CodeTimeout: etcd did not answer in time (it may still apply a
	// write); CodeUnavailable: etcd has no leader or cannot be reached.
	// Both are worth trying again shortly.
	CodeTimeout
	CodeUnavailable
	// CodeWriteUnknown: etcd could not say whether a write was applied.
	CodeWriteUnknown
	// CodeCorrupt: the stored value does not decrypt or decode
	// (CorruptError).
	CodeCorrupt
	// CodeNotCorrupt: DeleteCorrupt found an object that reads.
	CodeNotCorrupt
)

// Error is an error with a Code and the key it is about.
type Error struct {
	Code Code
	Key  string
	Msg  string
	// Continue is, for a CodeGone of a paged list, the token that goes on
	// from the same key at the latest revision (kube's "inconsistent
	// continue"), given to the client in the Status's metadata.
	Continue string
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("storage error %d on %q", e.Code, e.Key)
}

// HasCode reports whether err is a storage Error with code c.
func HasCode(err error, c Code) bool {
	var se *Error
	return errors.As(err, &se) && se.Code == c
}

// CodeOf returns err's code, or 0.
func CodeOf(err error) Code {
	var se *Error
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}
