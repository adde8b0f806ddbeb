package authorization

import (
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// selectorStrings are a review's field and label selectors as a request
// would send them, for the authorizers (kube's ResourceAttributesFrom):
// the raw selector when it parses, else the requirements (a field
// requirement In or NotIn one value; label requirements as a
// LabelSelector's matchExpressions); "" for none or what does not parse.
func selectorStrings(ra *authorizationv1.ResourceAttributes) (field, label string) {
	if fs := ra.FieldSelector; fs != nil {
		if fs.RawSelector != "" {
			if sel, err := fields.ParseSelector(fs.RawSelector); err == nil {
				field = sel.String()
			}
		} else if sel, ok := fieldRequirements(fs.Requirements); ok {
			field = sel.String()
		}
	}
	if ls := ra.LabelSelector; ls != nil {
		if ls.RawSelector != "" {
			if sel, err := labels.Parse(ls.RawSelector); err == nil {
				label = sel.String()
			}
		} else if len(ls.Requirements) > 0 {
			if sel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchExpressions: ls.Requirements}); err == nil {
				label = sel.String()
			}
		}
	}
	return field, label
}

func fieldRequirements(reqs []metav1.FieldSelectorRequirement) (fields.Selector, bool) {
	if len(reqs) == 0 {
		return nil, false
	}
	var sels []fields.Selector
	for _, r := range reqs {
		if len(r.Values) != 1 {
			return nil, false
		}
		switch r.Operator {
		case metav1.FieldSelectorOpIn:
			sels = append(sels, fields.OneTermEqualSelector(r.Key, r.Values[0]))
		case metav1.FieldSelectorOpNotIn:
			sels = append(sels, fields.OneTermNotEqualSelector(r.Key, r.Values[0]))
		default:
			return nil, false
		}
	}
	return fields.AndSelectors(sels...), true
}
