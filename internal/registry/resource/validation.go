package resource

import (
	"context"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/operation"
	"k8s.io/apimachinery/pkg/api/validate"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The validation of resource.k8s.io/v1, as kube 1.37's: its handwritten
// pkg/apis/resource/validation (ValidateResourceClaim, ...Update,
// ...StatusUpdate, ValidateDeviceClass, ValidateResourceClaimTemplate,
// ValidateResourceSlice, ValidateDeviceTaintRule) together with the
// declarative rules generated from the +k8s: tags of k8s.io/api/resource/v1
// (pkg/apis/resource/v1/zz_generated.validations.go). Where the
// handwritten code marks a check as covered by declarative validation, kube
// answers with the declarative one; those are made here with the same
// k8s.io/apimachinery/pkg/api/validate functions the generated code calls,
// so that type, path and detail are kube's.
//
// The object metadata (name, labels, annotations, their update) is checked
// by the generic write path, not here.
//
// Left out: compiling CEL expressions (selectors and derived attributes
// are checked for being present, non-empty and within
// CELSelectorExpressionMaxLength, not compiled or costed); the
// DeviceClaimDerivedAttributeCELMaxCost budget; the declarative ratcheting
// of unchanged fields on update (kapi served these kinds without
// validation before, so an object it stored then may be refused an update
// that keeps an invalid value, where kube would let it pass); alpha
// features' node allocatable resources and counter compatibility groups.

var (
	bg       = context.Background()
	createOp = operation.Operation{Type: operation.Create}
	updateOp = operation.Operation{Type: operation.Update}
)

// The enumerations of the generated code.
var (
	allocationModes     = sets.New(resourcev1.DeviceAllocationModeAll, resourcev1.DeviceAllocationModeExactCount)
	configSources       = sets.New(resourcev1.AllocationConfigSourceClaim, resourcev1.AllocationConfigSourceClass)
	taintEffects        = sets.New(resourcev1.DeviceTaintEffectNoExecute, resourcev1.DeviceTaintEffectNoSchedule, resourcev1.DeviceTaintEffectNone)
	tolerationOperators = sets.New(resourcev1.DeviceTolerationOpEqual, resourcev1.DeviceTolerationOpExists)
	skipNodeOperations  = sets.New(resourcev1.SkipNodeOperationAll, resourcev1.SkipNodeOperationNodePrepareResources, resourcev1.SkipNodeOperationNodeUnprepareResources)
)

// capacityRequestPolicyDiscreteMaxOptions is kube's internal constant
// (k8s.io/api/resource/v1 has none).
const capacityRequestPolicyDiscreteMaxOptions = 10

// attributeAndCapacityMaxKeyLength is the longest domain/ID, for the
// truncation of map keys in paths.
const attributeAndCapacityMaxKeyLength = resourcev1.DeviceMaxDomainLength + 1 + resourcev1.DeviceMaxIDLength

// --- the kinds' hooks ---

// validateClaim is the ResourceClaim strategy's Validate and
// ValidateUpdate: on update the spec may not change, and nothing else of
// it is checked again.
func validateClaim(obj, old runtime.Object) field.ErrorList {
	c := obj.(*resourcev1.ResourceClaim)
	spec := field.NewPath("spec")
	if old != nil {
		o := old.(*resourcev1.ResourceClaim)
		if apiequality.Semantic.DeepEqual(c.Spec, o.Spec) {
			return nil
		}
		return validate.Immutable(bg, updateOp, spec, &c.Spec, &o.Spec)
	}
	return validateDeviceClaim(&c.Spec.Devices, spec.Child("devices"))
}

// validateClaimTemplate is ValidateResourceClaimTemplate, and on update
// ValidateResourceClaimTemplateUpdate too: the spec never changes.
func validateClaimTemplate(obj, old runtime.Object) field.ErrorList {
	t := obj.(*resourcev1.ResourceClaimTemplate)
	spec := field.NewPath("spec")
	errs := validateTemplateObjectMeta(&t.Spec.ObjectMeta, spec.Child("metadata"))
	errs = append(errs, validateDeviceClaim(&t.Spec.Spec.Devices, spec.Child("spec", "devices"))...)
	if old != nil {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(t.Spec, old.(*resourcev1.ResourceClaimTemplate).Spec, spec)...)
	}
	return errs
}

// validateClass is ValidateDeviceClass and ValidateDeviceClassUpdate.
func validateClass(obj, old runtime.Object) field.ErrorList {
	spec := &obj.(*resourcev1.DeviceClass).Spec
	path := field.NewPath("spec")
	var errs field.ErrorList
	if errs = validate.MaxItems(bg, createOp, path.Child("selectors"), spec.Selectors, nil, resourcev1.DeviceSelectorsMaxSize); len(errs) == 0 {
		for i, s := range spec.Selectors {
			errs = append(errs, validateSelector(s, path.Child("selectors").Index(i))...)
		}
	}
	cfg := path.Child("config")
	if e := validate.MaxItems(bg, createOp, cfg, spec.Config, nil, resourcev1.DeviceConfigMaxSize); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		// Parameters stored before are not held to today's size limit.
		var stored bool
		if old != nil {
			stored = apiequality.Semantic.DeepEqual(spec.Config, old.(*resourcev1.DeviceClass).Spec.Config)
		}
		for i, c := range spec.Config {
			errs = append(errs, validateDeviceConfiguration(c.DeviceConfiguration, cfg.Index(i), stored)...)
		}
	}
	if n := spec.ExtendedResourceName; n != nil {
		errs = append(errs, validate.ExtendedResourceName(bg, createOp, path.Child("extendedResourceName"), n, nil)...)
	}
	return errs
}

// --- names ---

// invalid is one Invalid error of v at path for each message of a check.
func invalid(path *field.Path, v string, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(path, v, msg))
	}
	return errs
}

func dnsLabel(v string, path *field.Path) field.ErrorList {
	return invalid(path, v, utilvalidation.IsDNS1123Label(v)).WithOrigin("format=k8s-short-name")
}

func dnsSubdomain(v string, path *field.Path) field.ErrorList {
	return invalid(path, v, utilvalidation.IsDNS1123Subdomain(v)).WithOrigin("format=k8s-long-name")
}

func labelValue(v string, path *field.Path) field.ErrorList {
	return invalid(path, v, utilvalidation.IsValidLabelValue(v))
}

// driverName is kube's validateDriverName (its CSI driver name check) where
// no declarative rule covers it.
func driverName(v string, path *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	if len(v) > resourcev1.DriverNameMaxLength {
		errs = append(errs, field.TooLong(path, "" /*unused*/, resourcev1.DriverNameMaxLength))
	}
	return append(errs, invalid(path, v, utilvalidation.IsDNS1123Subdomain(strings.ToLower(v)))...)
}

// declaredDriverName is the declarative driver name rule
// (+k8s:required, +k8s:format=k8s-long-name-caseless, +k8s:maxLength=63).
func declaredDriverName(v string, path *field.Path) field.ErrorList {
	if errs := validate.RequiredValue(bg, createOp, path, &v, nil); len(errs) > 0 {
		return errs
	}
	errs := validate.LongNameCaseless(bg, createOp, path, &v, nil)
	return append(errs, validate.MaxLength(bg, createOp, path, &v, nil, resourcev1.DriverNameMaxLength)...)
}

// poolName is kube's handwritten validatePoolName.
func poolName(v string, path *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	if len(v) > resourcev1.PoolNameMaxLength {
		errs = append(errs, field.TooLong(path, "" /*unused*/, resourcev1.PoolNameMaxLength))
	}
	for _, part := range strings.Split(v, "/") {
		errs = append(errs, dnsSubdomain(part, path)...)
	}
	return errs.WithOrigin("format=k8s-resource-pool-name")
}

// declaredPoolName is the declarative pool name rule (+k8s:required,
// +k8s:format=k8s-resource-pool-name).
func declaredPoolName(v string, path *field.Path) field.ErrorList {
	if errs := validate.RequiredValue(bg, createOp, path, &v, nil); len(errs) > 0 {
		return errs
	}
	return validate.ResourcePoolName(bg, createOp, path, &v, nil)
}

// qualifiedName is kube's validateQualifiedName: a C identifier, or a
// driver name's domain and one, separated by a slash.
func qualifiedName(name resourcev1.QualifiedName, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	parts := strings.Split(string(name), "/")
	switch len(parts) {
	case 1:
		errs = append(errs, cIdentifier(parts[0], path)...)
	case 2:
		if parts[0] == "" {
			errs = append(errs, field.Invalid(path, "", "the domain must not be empty"))
		} else {
			errs = append(errs, driverName(parts[0], path)...)
		}
		if parts[1] == "" {
			errs = append(errs, field.Invalid(path, "", "the name must not be empty"))
		} else {
			errs = append(errs, cIdentifier(parts[1], path)...)
		}
	}
	return errs
}

func cIdentifier(id string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(id) > resourcev1.DeviceMaxIDLength {
		errs = append(errs, field.TooLong(path, "" /*unused*/, resourcev1.DeviceMaxIDLength))
	}
	return append(errs, invalid(path, id, content.IsCIdentifier(id))...)
}

// truncateIfTooLong shortens a map key in a path, as kube's.
func truncateIfTooLong(s string, maxLen int) string {
	if maxLen < 16 {
		maxLen = 16
	}
	if len(s) <= maxLen {
		return s
	}
	remaining := maxLen - len("...")
	return s[0:(remaining+1)/2] + "..." + s[len(s)-remaining/2:]
}

// validateTemplateObjectMeta is kube's ValidateTemplateObjectMeta: a
// template's metadata has labels and annotations, nothing else.
func validateTemplateObjectMeta(m *metav1.ObjectMeta, path *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateAnnotations(m.Annotations, path.Child("annotations"))
	errs = append(errs, metav1validation.ValidateLabels(m.Labels, path.Child("labels"))...)
	v := reflect.ValueOf(*m)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Name == "Labels" || f.Name == "Annotations" || v.Field(i).IsZero() {
			continue
		}
		r, n := utf8.DecodeRuneInString(f.Name)
		errs = append(errs, field.Forbidden(path.Child(string(unicode.ToLower(r))+f.Name[n:]), "cannot be set"))
	}
	return errs
}

// --- node selectors (kube's core ValidateNodeSelector, no invalid label
// values allowed) ---

func validateNodeSelector(s *corev1.NodeSelector, path *field.Path) field.ErrorList {
	terms := path.Child("nodeSelectorTerms")
	if len(s.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(terms, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, t := range s.NodeSelectorTerms {
		p := terms.Index(i)
		for j, r := range t.MatchExpressions {
			errs = append(errs, validateNodeSelectorRequirement(r, p.Child("matchExpressions").Index(j))...)
		}
		for j, r := range t.MatchFields {
			errs = append(errs, validateNodeFieldSelectorRequirement(r, p.Child("matchFields").Index(j))...)
		}
	}
	return errs
}

func validateNodeSelectorRequirement(r corev1.NodeSelectorRequirement, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			errs = append(errs, field.Required(path.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			errs = append(errs, field.Forbidden(path.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(r.Values) != 1 {
			errs = append(errs, field.Required(path.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.Invalid(path.Child("operator"), r.Operator, "not a valid selector operator"))
	}
	errs = append(errs, metav1validation.ValidateLabelName(r.Key, path.Child("key"))...)
	for i, v := range r.Values {
		errs = append(errs, labelValue(v, path.Child("values").Index(i)).WithOrigin("format=k8s-label-value")...)
	}
	return errs
}

func validateNodeFieldSelectorRequirement(r corev1.NodeSelectorRequirement, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) != 1 {
			errs = append(errs, field.Required(path.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	default:
		errs = append(errs, field.Invalid(path.Child("operator"), r.Operator, "not a valid selector operator"))
	}
	if r.Key != "metadata.name" {
		return append(errs, field.Invalid(path.Child("key"), r.Key, "not a valid field selector key"))
	}
	for i, v := range r.Values {
		errs = append(errs, nodeName(v, path.Child("values").Index(i))...)
	}
	return errs
}

func nodeName(v string, path *field.Path) field.ErrorList {
	return invalid(path, v, apimachineryvalidation.NameIsDNSSubdomain(v, false))
}
