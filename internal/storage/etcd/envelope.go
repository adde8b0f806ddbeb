package etcd

import (
	"bytes"

	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// protobufMagic starts kube's protobuf envelope: then a runtime.Unknown
// whose raw field is the object's message.
var protobufMagic = []byte("k8s\x00")

// protoUnmarshaler is what generated kube types implement.
type protoUnmarshaler interface {
	Unmarshal([]byte) error
}

// decodeEnvelope decodes a value stored in kube's protobuf envelope as the
// protobuf serializer does when the envelope names the kind gvk (whose
// apiVersion is given as the envelope writes it), without
// copying the object's message out of data first (the serializer decodes
// the whole runtime.Unknown, a copy of the message included, then the
// message): the generated Unmarshal copies whatever it keeps. It reports
// false, having decoded nothing, for any other value: the serializer
// decodes those.
func decodeEnvelope(data []byte, apiVersion string, gvk schema.GroupVersionKind, into runtime.Object) bool {
	u, ok := into.(protoUnmarshaler)
	if !ok || !bytes.HasPrefix(data, protobufMagic) {
		return false
	}
	av, kind, raw, ok := parseUnknown(data[len(protobufMagic):])
	if !ok || string(kind) != gvk.Kind || string(av) != apiVersion {
		return false
	}
	if err := u.Unmarshal(raw); err != nil {
		return false // the serializer gives the error
	}
	into.GetObjectKind().SetGroupVersionKind(gvk)
	return true
}

// parseUnknown reads a runtime.Unknown message: its TypeMeta (field 1:
// apiVersion 1, kind 2) and raw (field 2); the content encoding and type
// (fields 3 and 4) are skipped, as the serializer ignores them.
func parseUnknown(b []byte) (apiVersion, kind, raw []byte, ok bool) {
	var typeMeta []byte
	if !bytesFields(b, func(num protowire.Number, v []byte) {
		switch num {
		case 1:
			typeMeta = v
		case 2:
			raw = v
		}
	}) {
		return nil, nil, nil, false
	}
	ok = bytesFields(typeMeta, func(num protowire.Number, v []byte) {
		switch num {
		case 1:
			apiVersion = v
		case 2:
			kind = v
		}
	})
	return apiVersion, kind, raw, ok
}

// bytesFields calls f with each length-delimited field of the message b
// (the fields of other wire types are skipped); false when b is not a
// well-formed message.
func bytesFields(b []byte, f func(num protowire.Number, v []byte)) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return false
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		f(num, v)
	}
	return true
}
