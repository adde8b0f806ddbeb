package resource

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/operation"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
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

// --- claims ---

// requestNames maps each request of a claim to the names of its
// subrequests (nil for a request without).
type requestNames map[string]sets.Set[string]

func gatherRequestNames(c *resourcev1.DeviceClaim) requestNames {
	names := requestNames{}
	for _, r := range c.Requests {
		if len(r.FirstAvailable) == 0 {
			names[r.Name] = nil
			continue
		}
		subs := sets.New[string]()
		for _, s := range r.FirstAvailable {
			subs.Insert(s.Name)
		}
		names[r.Name] = subs
	}
	return names
}

// has: "request" or "request/subrequest".
func (r requestNames) has(s string) bool {
	segments := strings.Split(s, "/")
	if len(segments) > 2 {
		return false
	}
	subs, ok := r[segments[0]]
	if !ok {
		return false
	}
	return len(segments) == 1 || subs.Has(segments[1])
}

func validateDeviceClaim(c *resourcev1.DeviceClaim, path *field.Path) field.ErrorList {
	names := gatherRequestNames(c)
	var errs field.ErrorList
	reqs := path.Child("requests")
	if e := validate.MaxItems(bg, createOp, reqs, c.Requests, nil, resourcev1.DeviceRequestsMaxSize); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		for i, r := range c.Requests {
			errs = append(errs, validateDeviceRequest(r, reqs.Index(i))...)
		}
		errs = append(errs, validate.ValSliceUnique(bg, createOp, reqs, c.Requests, nil,
			func(a, b *resourcev1.DeviceRequest) bool { return a.Name == b.Name })...)
	}
	cons := path.Child("constraints")
	if e := validate.MaxItems(bg, createOp, cons, c.Constraints, nil, resourcev1.DeviceConstraintsMaxSize); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		for i, con := range c.Constraints {
			errs = append(errs, validateDeviceConstraint(con, cons.Index(i), names)...)
		}
	}
	cfg := path.Child("config")
	if e := validate.MaxItems(bg, createOp, cfg, c.Config, nil, resourcev1.DeviceConfigMaxSize); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		for i, con := range c.Config {
			p := cfg.Index(i)
			errs = append(errs, validateRequestRefs(con.Requests, p.Child("requests"), names)...)
			errs = append(errs, validateDeviceConfiguration(con.DeviceConfiguration, p, false)...)
		}
	}
	return errs
}

func validateDeviceRequest(r resourcev1.DeviceRequest, path *field.Path) field.ErrorList {
	errs := dnsLabel(r.Name, path.Child("name"))
	hasFirst, hasExactly := len(r.FirstAvailable) > 0, r.Exactly != nil
	switch {
	case !hasFirst && !hasExactly:
		errs = append(errs, field.Required(path, "exactly one of `exactly` or `firstAvailable` is required"))
	case hasFirst && hasExactly:
		errs = append(errs, field.Invalid(path, nil, "exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set"))
	case hasFirst:
		first := path.Child("firstAvailable")
		if e := validate.MaxItems(bg, createOp, first, r.FirstAvailable, nil, resourcev1.FirstAvailableDeviceRequestMaxSize); len(e) > 0 {
			return append(errs, e...)
		}
		for i, sub := range r.FirstAvailable {
			errs = append(errs, validateSubRequest(sub, first.Index(i))...)
		}
		errs = append(errs, validate.ValSliceUnique(bg, createOp, first, r.FirstAvailable, nil,
			func(a, b *resourcev1.DeviceSubRequest) bool { return a.Name == b.Name })...)
	default:
		e := r.Exactly
		p := path.Child("exactly")
		// Not covered declaratively for exactly: kube's own messages.
		if e.DeviceClassName == "" {
			errs = append(errs, field.Required(p.Child("deviceClassName"), ""))
		} else {
			errs = append(errs, dnsSubdomain(e.DeviceClassName, p.Child("deviceClassName"))...)
		}
		errs = append(errs, validateSelectors(e.Selectors, p.Child("selectors"))...)
		errs = append(errs, validateAllocationMode(e.AllocationMode, e.Count, p)...)
		errs = append(errs, validateTolerations(e.Tolerations, p.Child("tolerations"))...)
	}
	return errs
}

func validateSubRequest(s resourcev1.DeviceSubRequest, path *field.Path) field.ErrorList {
	errs := dnsLabel(s.Name, path.Child("name"))
	class := path.Child("deviceClassName")
	if e := validate.RequiredValue(bg, createOp, class, &s.DeviceClassName, nil); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		errs = append(errs, validate.LongName(bg, createOp, class, &s.DeviceClassName, nil)...)
	}
	errs = append(errs, validateSelectors(s.Selectors, path.Child("selectors"))...)
	errs = append(errs, validateAllocationMode(s.AllocationMode, s.Count, path)...)
	return append(errs, validateTolerations(s.Tolerations, path.Child("tolerations"))...)
}

// validateAllocationMode is validateDeviceAllocationMode: the mode is
// the declarative enum, the count kube's handwritten rule.
func validateAllocationMode(mode resourcev1.DeviceAllocationMode, count int64, path *field.Path) field.ErrorList {
	countPath := path.Child("count")
	switch mode {
	case resourcev1.DeviceAllocationModeAll:
		if count != 0 {
			return field.ErrorList{field.Invalid(countPath, count, fmt.Sprintf("must not be specified when allocationMode is '%s'", mode))}
		}
	case resourcev1.DeviceAllocationModeExactCount:
		if count <= 0 {
			return field.ErrorList{field.Invalid(countPath, count, "must be greater than zero")}
		}
	case "":
		// Defaulting sets it; declaratively it is optional.
	default:
		return validate.Enum(bg, createOp, path.Child("allocationMode"), &mode, nil, allocationModes, nil)
	}
	return nil
}

func validateSelectors(selectors []resourcev1.DeviceSelector, path *field.Path) field.ErrorList {
	if errs := validate.MaxItems(bg, createOp, path, selectors, nil, resourcev1.DeviceSelectorsMaxSize); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	for i, s := range selectors {
		errs = append(errs, validateSelector(s, path.Index(i))...)
	}
	return errs
}

func validateSelector(s resourcev1.DeviceSelector, path *field.Path) field.ErrorList {
	if s.CEL == nil {
		return field.ErrorList{field.Required(path.Child("cel"), "")}
	}
	return validateCELExpression(s.CEL.Expression, path.Child("cel", "expression"))
}

// validateCELExpression is the part of kube's validateCELExpression that
// needs no CEL compiler: the length limit. kapi does not compile the
// expression (nor cost it); an empty one, which kube's compiler refuses
// with a syntax error, is refused here with a detail of kapi's own.
func validateCELExpression(expr string, path *field.Path) field.ErrorList {
	if len(expr) > resourcev1.CELSelectorExpressionMaxLength {
		return field.ErrorList{field.TooLong(path, "" /*unused*/, resourcev1.CELSelectorExpressionMaxLength)}
	}
	if strings.TrimSpace(expr) == "" {
		return field.ErrorList{field.Invalid(path, expr, "compilation failed: ERROR: <input>: the expression is empty")}
	}
	return nil
}

func validateTolerations(ts []resourcev1.DeviceToleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range ts {
		errs = append(errs, validateToleration(t, path.Index(i))...)
	}
	return errs
}

// validateToleration is validateDeviceToleration with Validate_DeviceToleration.
func validateToleration(t resourcev1.DeviceToleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Key != "" {
		errs = append(errs, validate.LabelKey(bg, createOp, path.Child("key"), &t.Key, nil)...)
	}
	op := path.Child("operator")
	if e := validate.RequiredValue(bg, createOp, op, &t.Operator, nil); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		errs = append(errs, validate.Enum(bg, createOp, op, &t.Operator, nil, tolerationOperators, nil)...)
	}
	switch t.Operator {
	case resourcev1.DeviceTolerationOpExists:
		if t.Value != "" {
			errs = append(errs, field.Invalid(path.Child("value"), t.Value, "must be empty for operator `Exists`"))
		}
	case resourcev1.DeviceTolerationOpEqual:
		errs = append(errs, labelValue(t.Value, path.Child("value"))...)
	}
	if t.Effect != "" {
		errs = append(errs, validate.Enum(bg, createOp, path.Child("effect"), &t.Effect, nil, taintEffects, nil)...)
	}
	return errs
}

func validateDeviceConstraint(c resourcev1.DeviceConstraint, path *field.Path, names requestNames) field.ErrorList {
	errs := validateRequestRefs(c.Requests, path.Child("requests"), names)
	switch {
	case c.MatchAttribute != nil:
		errs = append(errs, validate.ResourceFullyQualifiedName(bg, createOp, path.Child("matchAttribute"), c.MatchAttribute, nil)...)
	case c.DistinctAttribute != nil:
		errs = append(errs, validate.ResourceFullyQualifiedName(bg, createOp, path.Child("distinctAttribute"), c.DistinctAttribute, nil)...)
	default:
		// DRAConsumableCapacity, beta and on in 1.37.
		errs = append(errs, field.Required(path, `exactly one of "matchAttribute" or "distinctAttribute" is required, but multiple fields are set`))
	}
	return errs
}

// validateRequestRefs checks a list naming requests of the claim: its
// size and uniqueness declaratively, each name as kube's
// validateRequestNameRef.
func validateRequestRefs(refs []string, path *field.Path, names requestNames) field.ErrorList {
	if errs := validate.MaxItems(bg, createOp, path, refs, nil, resourcev1.DeviceRequestsMaxSize); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	for i, name := range refs {
		errs = append(errs, validateRequestRef(name, path.Index(i), names)...)
	}
	return append(errs, validate.ValSliceUnique(bg, createOp, path, refs, nil, validate.DirectEqual[string])...)
}

const requestRefDetail = "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'"

func validateRequestRef(name string, path *field.Path, names requestNames) field.ErrorList {
	segments := strings.Split(name, "/")
	if len(segments) > 2 {
		return field.ErrorList{field.Invalid(path, name, requestRefDetail)}
	}
	var errs field.ErrorList
	for _, s := range segments {
		errs = append(errs, dnsLabel(s, path)...)
	}
	if !names.has(name) {
		errs = append(errs, field.Invalid(path, name, requestRefDetail))
	}
	return errs
}

func validateDeviceConfiguration(c resourcev1.DeviceConfiguration, path *field.Path, stored bool) field.ErrorList {
	if c.Opaque == nil {
		return field.ErrorList{field.Required(path.Child("opaque"), "")}
	}
	p := path.Child("opaque")
	errs := declaredDriverName(c.Opaque.Driver, p.Child("driver"))
	return append(errs, validateRawExtension(c.Opaque.Parameters, p.Child("parameters"), stored, resourcev1.OpaqueParametersMaxLength)...)
}

// validateRawExtension: present, within the size limit (unless stored
// before), a JSON object.
func validateRawExtension(raw runtime.RawExtension, path *field.Path, stored bool, maxLength int) field.ErrorList {
	var v any
	switch {
	case len(raw.Raw) == 0:
		return field.ErrorList{field.Required(path, "")}
	case !stored && len(raw.Raw) > maxLength:
		return field.ErrorList{field.TooLong(path, "" /*unused*/, maxLength)}
	}
	if err := json.Unmarshal(raw.Raw, &v); err != nil {
		return field.ErrorList{field.Invalid(path, "<value omitted>", fmt.Sprintf("error parsing data as JSON: %v", err.Error()))}
	}
	if v == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	if _, ok := v.(map[string]any); !ok {
		return field.ErrorList{field.Invalid(path, "<value omitted>", "must be a valid JSON object")}
	}
	return nil
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

// --- slices ---

// validateSlice is ValidateResourceSlice and ValidateResourceSliceUpdate.
func validateSlice(obj, old runtime.Object) field.ErrorList {
	spec := &obj.(*resourcev1.ResourceSlice).Spec
	var oldSpec *resourcev1.ResourceSliceSpec
	if old != nil {
		oldSpec = &old.(*resourcev1.ResourceSlice).Spec
	}
	path := field.NewPath("spec")
	errs := driverName(spec.Driver, path.Child("driver"))
	errs = append(errs, validatePool(spec.Pool, path.Child("pool"))...)
	if oldSpec != nil {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(spec.Pool.Name, oldSpec.Pool.Name, path.Child("pool", "name"))...)
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(spec.Driver, oldSpec.Driver, path.Child("driver"))...)
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(spec.NodeName, oldSpec.NodeName, path.Child("nodeName"))...)
	}
	errs = append(errs, validateSliceNodes(spec, path)...)
	if spec.SharedCounters != nil && spec.Devices != nil {
		errs = append(errs, field.Invalid(path, "", "only one of `sharedCounters` or `devices` is allowed"))
	}

	devices := path.Child("devices")
	maxDevices := resourcev1.ResourceSliceMaxDevices
	if advancedSlice(spec) {
		maxDevices = resourcev1.ResourceSliceMaxDevicesWithAdvancedFeatures
	}
	if len(spec.Devices) > maxDevices {
		errs = append(errs, field.TooMany(devices, len(spec.Devices), maxDevices).WithOrigin("maxItems"))
	} else {
		seen := sets.New[string]()
		for i, d := range spec.Devices {
			errs = append(errs, validateDevice(d, lookupDevice(oldSpec, d.Name), devices.Index(i), spec.PerDeviceNodeSelection)...)
			if seen.Has(d.Name) {
				errs = append(errs, field.Duplicate(devices.Index(i), d.Name))
			}
			seen.Insert(d.Name)
		}
	}

	counters := path.Child("sharedCounters")
	if e := validate.MaxItems(bg, createOp, counters, spec.SharedCounters, nil, resourcev1.ResourceSliceMaxCounterSets); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		for i, cs := range spec.SharedCounters {
			errs = append(errs, validateCounterSet(cs, counters.Index(i))...)
		}
		errs = append(errs, validate.ValSliceUnique(bg, createOp, counters, spec.SharedCounters, nil,
			func(a, b *resourcev1.CounterSet) bool { return a.Name == b.Name })...)
	}
	return append(errs, validateSkipNodeOperations(spec.SkipNodeOperations, path.Child("skipNodeOperations"))...)
}

func validatePool(p resourcev1.ResourcePool, path *field.Path) field.ErrorList {
	errs := poolName(p.Name, path.Child("name"))
	if p.ResourceSliceCount <= 0 {
		errs = append(errs, field.Invalid(path.Child("resourceSliceCount"), p.ResourceSliceCount, "must be greater than zero"))
	}
	if p.Generation < 0 {
		errs = append(errs, field.Invalid(path.Child("generation"), p.Generation, "must be greater than or equal to zero"))
	}
	return errs
}

// validateSliceNodes: exactly one of nodeName, nodeSelector, allNodes,
// perDeviceNodeSelection.
func validateSliceNodes(spec *resourcev1.ResourceSliceSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	var set []string
	if spec.NodeName != nil {
		if *spec.NodeName != "" {
			set = append(set, "`nodeName`")
			errs = append(errs, nodeName(*spec.NodeName, path.Child("nodeName"))...)
		} else {
			errs = append(errs, field.Invalid(path.Child("nodeName"), *spec.NodeName, "must be either unset or set to a non-empty string"))
		}
	}
	if spec.NodeSelector != nil {
		set = append(set, "`nodeSelector`")
		errs = append(errs, validateNodeSelector(spec.NodeSelector, path.Child("nodeSelector"))...)
		if len(spec.NodeSelector.NodeSelectorTerms) != 1 {
			errs = append(errs, field.Invalid(path.Child("nodeSelector", "nodeSelectorTerms"), spec.NodeSelector.NodeSelectorTerms, "must have exactly one node selector term"))
		}
	}
	for _, f := range []struct {
		name string
		v    *bool
	}{{"allNodes", spec.AllNodes}, {"perDeviceNodeSelection", spec.PerDeviceNodeSelection}} {
		if f.v == nil {
			continue
		}
		if *f.v {
			set = append(set, "`"+f.name+"`")
		} else {
			errs = append(errs, field.Invalid(path.Child(f.name), *f.v, "must be either unset or set to true"))
		}
	}
	switch len(set) {
	case 0:
		errs = append(errs, field.Required(path, "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required"))
	case 1:
	default:
		errs = append(errs, field.Invalid(path, fmt.Sprintf("{%s}", strings.Join(set, ", ")),
			"exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required, but multiple fields are set"))
	}
	return errs
}

// advancedSlice: devices with taints, counter consumption or list
// attributes, which lower the limit on devices.
func advancedSlice(spec *resourcev1.ResourceSliceSpec) bool {
	for _, d := range spec.Devices {
		if len(d.Taints) > 0 || len(d.ConsumesCounters) > 0 {
			return true
		}
		for _, a := range d.Attributes {
			if a.BoolValues != nil || a.IntValues != nil || a.StringValues != nil || a.VersionValues != nil {
				return true
			}
		}
	}
	return false
}

func lookupDevice(spec *resourcev1.ResourceSliceSpec, name string) *resourcev1.Device {
	if spec == nil {
		return nil
	}
	for i := range spec.Devices {
		if spec.Devices[i].Name == name {
			return &spec.Devices[i]
		}
	}
	return nil
}

func validateDevice(d resourcev1.Device, old *resourcev1.Device, path *field.Path, perDevice *bool) field.ErrorList {
	errs := dnsLabel(d.Name, path.Child("name"))
	if n := len(d.Attributes) + len(d.Capacity); n > resourcev1.ResourceSliceMaxAttributesAndCapacitiesPerDevice {
		errs = append(errs, field.Invalid(path, n, fmt.Sprintf("the total number of attributes and capacities must not exceed %d", resourcev1.ResourceSliceMaxAttributesAndCapacitiesPerDevice)))
	}
	if n := attributeValueCount(d); n > resourcev1.ResourceSliceMaxAttributeValuesPerDevice {
		errs = append(errs, field.Invalid(path, n, fmt.Sprintf("the total number of attribute values must not exceed %d", resourcev1.ResourceSliceMaxAttributeValuesPerDevice)))
	}
	attrs := path.Child("attributes")
	for k, a := range d.Attributes {
		errs = append(errs, qualifiedName(k, attrs)...)
		errs = append(errs, validateAttribute(a, attrs.Key(truncateIfTooLong(string(k), attributeAndCapacityMaxKeyLength)))...)
	}
	if old == nil || !apiequality.Semantic.DeepEqual(old.Capacity, d.Capacity) {
		multi := d.AllowMultipleAllocations != nil && *d.AllowMultipleAllocations
		capPath := path.Child("capacity")
		for k, c := range d.Capacity {
			errs = append(errs, qualifiedName(k, capPath)...)
			p := capPath.Key(truncateIfTooLong(string(k), attributeAndCapacityMaxKeyLength)).Child("requestPolicy")
			switch {
			case c.RequestPolicy == nil:
			case !multi:
				errs = append(errs, field.Forbidden(p, "allowMultipleAllocations must be true"))
			default:
				errs = append(errs, validateRequestPolicy(c.Value, c.RequestPolicy, p)...)
			}
		}
	}
	if old == nil || !apiequality.Semantic.DeepEqual(old.Taints, d.Taints) {
		taints := path.Child("taints")
		if len(d.Taints) > resourcev1.DeviceTaintsMaxLength {
			errs = append(errs, field.TooMany(taints, len(d.Taints), resourcev1.DeviceTaintsMaxLength).WithOrigin("maxItems"))
		} else {
			for i, t := range d.Taints {
				errs = append(errs, validateTaint(t, nil, taints.Index(i))...)
			}
		}
	}
	consumes := path.Child("consumesCounters")
	if e := validate.MaxItems(bg, createOp, consumes, d.ConsumesCounters, nil, resourcev1.ResourceSliceMaxDeviceCounterConsumptionsPerDevice); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		for i, c := range d.ConsumesCounters {
			errs = append(errs, validateCounters(c.CounterSet, "counterSet", c.Counters, resourcev1.ResourceSliceMaxCountersPerDeviceCounterConsumption, consumes.Index(i))...)
		}
		errs = append(errs, validate.ValSliceUnique(bg, createOp, consumes, d.ConsumesCounters, nil,
			func(a, b *resourcev1.DeviceCounterConsumption) bool { return a.CounterSet == b.CounterSet })...)
	}
	errs = append(errs, validateDeviceNodes(d, path, perDevice)...)
	return append(errs, validateBindingConditions(d.BindingConditions, d.BindingFailureConditions, path)...)
}

func validateDeviceNodes(d resourcev1.Device, path *field.Path, perDevice *bool) field.ErrorList {
	const detail = "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required when `perDeviceNodeSelection` is set to true in the ResourceSlice spec"
	if perDevice == nil || !*perDevice {
		if d.NodeName != nil || d.NodeSelector != nil || d.AllNodes != nil {
			return field.ErrorList{field.Invalid(path, nil, "`nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true in the ResourceSlice spec")}
		}
		return nil
	}
	var errs field.ErrorList
	var set []string
	if d.NodeName != nil {
		if *d.NodeName != "" {
			set = append(set, "`nodeName`")
			errs = append(errs, nodeName(*d.NodeName, path.Child("nodeName"))...)
		} else {
			errs = append(errs, field.Invalid(path.Child("nodeName"), *d.NodeName, "must not be empty"))
		}
	}
	if d.NodeSelector != nil {
		set = append(set, "`nodeSelector`")
		errs = append(errs, validateNodeSelector(d.NodeSelector, path.Child("nodeSelector"))...)
	}
	if d.AllNodes != nil {
		if *d.AllNodes {
			set = append(set, "`allNodes`")
		} else {
			errs = append(errs, field.Invalid(path.Child("allNodes"), *d.AllNodes, "must be either unset or set to true"))
		}
	}
	switch len(set) {
	case 0:
		errs = append(errs, field.Required(path, detail))
	case 1:
	default:
		errs = append(errs, field.Invalid(path, fmt.Sprintf("{%s}", strings.Join(set, ", ")), detail))
	}
	return errs
}

// attributeValueCount counts a device's attribute values, each item of a
// list apart.
func attributeValueCount(d resourcev1.Device) int {
	n := 0
	for _, a := range d.Attributes {
		l := len(a.BoolValues) + len(a.IntValues) + len(a.StringValues) + len(a.VersionValues)
		if l == 0 {
			l = 1
		}
		n += l
	}
	return n
}

var semverRe = func() *regexp.Regexp {
	num := `(0|[1-9]\d*)`
	pre := `(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)`
	build := `[0-9a-zA-Z-]+`
	return regexp.MustCompile(`^` + num + `\.` + num + `\.` + num +
		`(-` + pre + `(\.` + pre + `)*)?` + `(\+` + build + `(\.` + build + `)*)?$`)
}()

var attributeUnion = validate.NewUnionMembership(validate.NewUnionMember("int"), validate.NewUnionMember("bool"),
	validate.NewUnionMember("string"), validate.NewUnionMember("version"), validate.NewUnionMember("ints"),
	validate.NewUnionMember("bools"), validate.NewUnionMember("strings"), validate.NewUnionMember("versions"))

// validateAttribute is validateDeviceAttribute, its "exactly one value"
// the declarative union's.
func validateAttribute(a resourcev1.DeviceAttribute, path *field.Path) field.ErrorList {
	errs := validate.Union(bg, createOp, path, &a, nil, attributeUnion,
		func(a *resourcev1.DeviceAttribute) bool { return a.IntValue != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.BoolValue != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.StringValue != nil },
		func(a *resourcev1.DeviceAttribute) bool { return a.VersionValue != nil },
		func(a *resourcev1.DeviceAttribute) bool { return len(a.IntValues) != 0 },
		func(a *resourcev1.DeviceAttribute) bool { return len(a.BoolValues) != 0 },
		func(a *resourcev1.DeviceAttribute) bool { return len(a.StringValues) != 0 },
		func(a *resourcev1.DeviceAttribute) bool { return len(a.VersionValues) != 0 })
	if a.StringValue != nil && len(*a.StringValue) > resourcev1.DeviceAttributeMaxValueLength {
		errs = append(errs, field.TooLong(path.Child("string"), "" /*unused*/, resourcev1.DeviceAttributeMaxValueLength))
	}
	if a.VersionValue != nil {
		errs = append(errs, versionValue(*a.VersionValue, path.Child("version"))...)
	}
	empty := func(name string, isSet bool, n int, v any) {
		if isSet && n == 0 {
			errs = append(errs, field.Invalid(path.Child(name), v, "must not be empty if specified"))
		}
	}
	empty("bools", a.BoolValues != nil, len(a.BoolValues), a.BoolValues)
	empty("ints", a.IntValues != nil, len(a.IntValues), a.IntValues)
	empty("strings", a.StringValues != nil, len(a.StringValues), a.StringValues)
	empty("versions", a.VersionValues != nil, len(a.VersionValues), a.VersionValues)
	for i, s := range a.StringValues {
		if len(s) > resourcev1.DeviceAttributeMaxValueLength {
			errs = append(errs, field.TooLong(path.Child("strings").Index(i), "" /*unused*/, resourcev1.DeviceAttributeMaxValueLength).WithOrigin("maxBytes"))
		}
	}
	for i, v := range a.VersionValues {
		errs = append(errs, versionValue(v, path.Child("versions").Index(i))...)
	}
	return errs
}

func versionValue(v string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !semverRe.MatchString(v) {
		errs = append(errs, field.Invalid(path, v, "must be a string compatible with semver.org spec 2.0.0"))
	}
	if len(v) > resourcev1.DeviceAttributeMaxValueLength {
		errs = append(errs, field.TooLong(path, "" /*unused*/, resourcev1.DeviceAttributeMaxValueLength))
	}
	return errs
}

// validateRequestPolicy is kube's for a multi-allocatable device's
// consumable capacity, without the DRAFractionalCapacityRange (alpha)
// milli-value arithmetic.
func validateRequestPolicy(capacity apiresource.Quantity, p *resourcev1.CapacityRequestPolicy, path *field.Path) field.ErrorList {
	if len(p.ValidValues) > 0 && p.ValidRange != nil {
		return field.ErrorList{field.Forbidden(path, `exactly one policy can be specified, cannot specify "validValues" and "validRange" at the same time`)}
	}
	switch {
	case len(p.ValidValues) > 0:
		if p.Default == nil {
			return field.ErrorList{field.Required(path.Child("default"), "required when validValues is defined")}
		}
		return validateValidValues(*p.Default, capacity, p.ValidValues, path.Child("validValues"))
	case p.ValidRange != nil:
		if p.Default == nil {
			return field.ErrorList{field.Required(path.Child("default"), "required when validRange is defined")}
		}
		return validateValidRange(*p.Default, capacity, *p.ValidRange, path.Child("validRange"))
	}
	return nil
}

func validateValidValues(def, capacity apiresource.Quantity, values []apiresource.Quantity, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range len(values) - 1 {
		if values[i].Cmp(values[i+1]) > 0 {
			errs = append(errs, field.Invalid(path.Index(i+1), values[i+1].String(), "values must be sorted in ascending order"))
		}
	}
	if len(values) > capacityRequestPolicyDiscreteMaxOptions {
		return append(errs, field.TooMany(path, len(values), capacityRequestPolicyDiscreteMaxOptions).WithOrigin("maxItems"))
	}
	found := false
	seen := sets.New[int64]()
	for i, v := range values {
		if v.Cmp(capacity) > 0 {
			errs = append(errs, field.Invalid(path.Index(i), v.String(), fmt.Sprintf("option is larger than capacity value: %s", capacity.String())))
		}
		if v.Cmp(def) == 0 {
			found = true
		}
	}
	for i, v := range values {
		if seen.Has(v.Value()) {
			errs = append(errs, field.Duplicate(path.Index(i), fmt.Sprint(v.Value())))
		}
		seen.Insert(v.Value())
	}
	if !found {
		errs = append(errs, field.Invalid(path, def.String(), "default value is not valid according to the requestPolicy"))
	}
	return errs
}

func validateValidRange(def, capacity apiresource.Quantity, r resourcev1.CapacityRequestPolicyRange, path *field.Path) field.ErrorList {
	if r.Min == nil {
		return field.ErrorList{field.Required(path.Child("min"), "required when validRange is defined")}
	}
	var errs field.ErrorList
	if r.Min.Cmp(capacity) > 0 {
		errs = append(errs, field.Invalid(path.Child("min"), r.Min.String(), fmt.Sprintf("min is larger than capacity value: %s", capacity.String())))
	}
	if def.Cmp(*r.Min) < 0 {
		errs = append(errs, field.Invalid(path.Child("default"), def.String(), fmt.Sprintf("default is less than min: %s", r.Min.String())))
	}
	if r.Max != nil {
		if r.Min.Cmp(*r.Max) > 0 {
			errs = append(errs, field.Invalid(path.Child("max"), r.Min.String(), fmt.Sprintf("min is larger than max: %s", r.Max.String())))
		}
		if r.Max.Cmp(capacity) > 0 {
			errs = append(errs, field.Invalid(path.Child("max"), r.Max.String(), fmt.Sprintf("max is larger than capacity value: %s", capacity.String())))
		}
		if def.Cmp(*r.Max) > 0 {
			errs = append(errs, field.Invalid(path.Child("default"), def.String(), fmt.Sprintf("default is more than max: %s", r.Max.String())))
		}
	}
	if r.Step == nil {
		return errs
	}
	if r.Step.Sign() <= 0 {
		return append(errs, field.Invalid(path.Child("step"), r.Step.String(), "must be greater than zero"))
	}
	added := r.Min.DeepCopy()
	added.Add(*r.Step)
	if added.Cmp(capacity) > 0 {
		errs = append(errs, field.Invalid(path.Child("step"), r.Step.String(), fmt.Sprintf("one step %s is larger than capacity value: %s", added.String(), capacity.String())))
	}
	unsafe := false
	for _, q := range []struct {
		q    *apiresource.Quantity
		name string
	}{{&def, "default"}, {r.Min, "min"}, {r.Max, "max"}, {r.Step, "step"}} {
		switch {
		case q.q == nil:
		case q.q.Sign() < 0:
			errs, unsafe = append(errs, field.Invalid(path.Child(q.name), q.q.String(), apimachineryvalidation.IsNegativeErrorMsg)), true
		case q.q.CmpInt64(1<<63-1) > 0:
			errs, unsafe = append(errs, field.Invalid(path.Child(q.name), q.q.String(), "must not be larger than 9223372036854775807")), true
		}
	}
	if unsafe {
		return errs
	}
	step := func(v apiresource.Quantity) {
		if (v.Value()-r.Min.Value())%r.Step.Value() != 0 {
			errs = append(errs, field.Invalid(path.Child("step"), v.String(), fmt.Sprintf("value is not a multiple of a given step (%s) from (%s)", r.Step.String(), r.Min.String())))
		}
	}
	step(def)
	if r.Max != nil {
		step(*r.Max)
	}
	return errs
}

func validateCounterSet(cs resourcev1.CounterSet, path *field.Path) field.ErrorList {
	return validateCounters(cs.Name, "name", cs.Counters, resourcev1.ResourceSliceMaxCountersPerCounterSet, path)
}

// validateCounters is a counter set's or a consumption's name (the
// declarative required short name) and counters (required, their names
// short names, at most max of them).
func validateCounters(name, nameField string, counters map[string]resourcev1.Counter, max int, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	np := path.Child(nameField)
	if e := validate.RequiredValue(bg, createOp, np, &name, nil); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		errs = append(errs, validate.ShortName(bg, createOp, np, &name, nil)...)
	}
	cp := path.Child("counters")
	if e := validate.RequiredMap(bg, createOp, cp, counters, nil); len(e) > 0 {
		return append(errs, e...)
	}
	if len(counters) > max {
		return append(errs, field.TooMany(cp, len(counters), max))
	}
	return append(errs, validate.EachMapKey(bg, createOp, cp, counters, nil, validate.ShortName[string])...)
}

func validateSkipNodeOperations(ops []resourcev1.SkipNodeOperation, path *field.Path) field.ErrorList {
	errs := validate.ValSliceUnique(bg, createOp, path, ops, nil, validate.DirectEqual[resourcev1.SkipNodeOperation])
	for i := range ops {
		errs = append(errs, validate.Enum(bg, createOp, path.Index(i), &ops[i], nil, skipNodeOperations, nil)...)
	}
	set := sets.New(ops...)
	if set.Has(resourcev1.SkipNodeOperationNodePrepareResources) && !set.Has(resourcev1.SkipNodeOperationNodeUnprepareResources) && !set.Has(resourcev1.SkipNodeOperationAll) {
		errs = append(errs, field.Invalid(path, ops, "NodePrepareResources cannot be skipped unless NodeUnprepareResources is also skipped"))
	}
	return errs
}

func validateBindingConditions(conds, failures []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	list := func(name string, l []string, max int) {
		p := path.Child(name)
		if e := validate.MaxItems(bg, createOp, p, l, nil, max); len(e) > 0 {
			errs = append(errs, e...)
			return
		}
		seen := sets.New[string]()
		for i, c := range l {
			errs = append(errs, metav1validation.ValidateLabelName(c, p.Index(i))...)
			if seen.Has(c) {
				errs = append(errs, field.Duplicate(p.Index(i), c))
			}
			seen.Insert(c)
		}
	}
	list("bindingConditions", conds, resourcev1.BindingConditionsMaxSize)
	list("bindingFailureConditions", failures, resourcev1.BindingFailureConditionsMaxSize)
	condSet := sets.New(conds...)
	for i, c := range failures {
		if condSet.Has(c) {
			errs = append(errs, field.Invalid(path.Child("bindingFailureConditions").Index(i), c, "bindingFailureConditions must not overlap with bindingConditions"))
		}
	}
	if len(conds) == 0 && len(failures) > 0 {
		errs = append(errs, field.Invalid(path.Child("bindingConditions"), conds, "bindingConditions are required to use bindingFailureConditions"))
	}
	if len(failures) == 0 && len(conds) > 0 {
		errs = append(errs, field.Invalid(path.Child("bindingFailureConditions"), failures, "bindingFailureConditions are required to use bindingConditions"))
	}
	return errs
}

// --- taints ---

// validateTaint is validateDeviceTaint, its effect the declarative
// required enum, checked only when new or changed.
func validateTaint(t resourcev1.DeviceTaint, old *resourcev1.DeviceTaint, path *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelName(t.Key, path.Child("key"))
	if t.Value != "" {
		errs = append(errs, labelValue(t.Value, path.Child("value"))...)
	}
	if old == nil || old.Effect != t.Effect {
		p := path.Child("effect")
		if e := validate.RequiredValue(bg, createOp, p, &t.Effect, nil); len(e) > 0 {
			errs = append(errs, e...)
		} else {
			errs = append(errs, validate.Enum(bg, createOp, p, &t.Effect, nil, taintEffects, nil)...)
		}
	}
	return errs
}

// validateTaintRule is ValidateDeviceTaintRule and ...Update.
func validateTaintRule(obj, old runtime.Object) field.ErrorList {
	spec := &obj.(*resourcev1.DeviceTaintRule).Spec
	path := field.NewPath("spec")
	var errs field.ErrorList
	if s := spec.DeviceSelector; s != nil {
		p := path.Child("deviceSelector")
		if s.Driver != nil {
			errs = append(errs, driverName(*s.Driver, p.Child("driver"))...)
		}
		if s.Pool != nil {
			errs = append(errs, poolName(*s.Pool, p.Child("pool"))...)
		}
		if s.Device != nil {
			errs = append(errs, dnsLabel(*s.Device, p.Child("device"))...)
		}
	}
	var oldTaint *resourcev1.DeviceTaint
	if old != nil {
		oldTaint = &old.(*resourcev1.DeviceTaintRule).Spec.Taint
	}
	return append(errs, validateTaint(spec.Taint, oldTaint, path.Child("taint"))...)
}

// validateTaintRuleStatus is ValidateDeviceTaintRuleStatusUpdate.
func validateTaintRuleStatus(obj, _ runtime.Object) field.ErrorList {
	conds := obj.(*resourcev1.DeviceTaintRule).Status.Conditions
	path := field.NewPath("status", "conditions")
	errs := metav1validation.ValidateConditions(conds, path)
	if len(conds) > resourcev1.DeviceTaintRuleStatusMaxConditions {
		errs = append(errs, field.TooMany(path, len(conds), resourcev1.DeviceTaintRuleStatusMaxConditions))
	}
	return errs
}

// --- claim status ---

// validateClaimStatus is ValidateResourceClaimStatusUpdate with the
// declarative rules of the status: the consumers a claim is reserved for,
// its allocation (set once, never changed) and the drivers' device status.
func validateClaimStatus(obj, old runtime.Object) field.ErrorList {
	c, o := obj.(*resourcev1.ResourceClaim), old.(*resourcev1.ResourceClaim)
	st, oldSt := &c.Status, &o.Status
	path := field.NewPath("status")
	names := gatherRequestNames(&c.Spec.Devices)
	var errs field.ErrorList

	reserved := path.Child("reservedFor")
	if e := validate.MaxItems(bg, updateOp, reserved, st.ReservedFor, nil, resourcev1.ResourceClaimReservedForMaxSize); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		for i, r := range st.ReservedFor {
			p := reserved.Index(i)
			if r.Resource == "" {
				errs = append(errs, field.Required(p.Child("resource"), ""))
			}
			if r.Name == "" {
				errs = append(errs, field.Required(p.Child("name"), ""))
			}
			if r.UID == "" {
				errs = append(errs, field.Required(p.Child("uid"), ""))
			}
		}
		errs = append(errs, validate.ValSliceUnique(bg, updateOp, reserved, st.ReservedFor, nil,
			func(a, b *resourcev1.ResourceClaimConsumerReference) bool { return a.UID == b.UID })...)
	}

	allocated := sets.New[string]()
	if st.Allocation != nil {
		for _, r := range st.Allocation.Devices.Results {
			allocated.Insert(sharedDeviceID(r.Driver, r.Pool, r.Device, (*string)(r.ShareID)))
		}
	}
	devices := path.Child("devices")
	for i, d := range st.Devices {
		errs = append(errs, validateDeviceStatus(d, devices.Index(i), allocated)...)
	}
	errs = append(errs, validate.ValSliceUnique(bg, updateOp, devices, st.Devices, nil,
		func(a, b *resourcev1.AllocatedDeviceStatus) bool {
			return sharedDeviceID(a.Driver, a.Pool, a.Device, a.ShareID) == sharedDeviceID(b.Driver, b.Pool, b.Device, b.ShareID)
		})...)

	if len(st.ReservedFor) > 0 {
		switch {
		case st.Allocation == nil:
			errs = append(errs, field.Forbidden(reserved, "may not be specified when `allocated` is not set"))
		case c.DeletionTimestamp != nil:
			// Consumers may go while the claim is deleted, not come.
			before := sets.New(oldSt.ReservedFor...)
			for _, r := range st.ReservedFor {
				if !before.Has(r) {
					errs = append(errs, field.Forbidden(reserved, "new entries may not be added while `deallocationRequested` or `deletionTimestamp` are set"))
					break
				}
			}
		}
	}

	alloc := path.Child("allocation")
	switch {
	case oldSt.Allocation != nil && st.Allocation != nil:
		// Declaratively ratcheted: only a change is refused.
		if apiequality.Semantic.DeepEqual(st.Allocation, oldSt.Allocation) {
			break
		}
		errs = append(errs, validate.UpdatePointer(bg, updateOp, alloc, st.Allocation, oldSt.Allocation, validate.NoModify)...)
	case st.Allocation != nil:
		errs = append(errs, validateAllocationResult(st.Allocation, alloc, names)...)
	}
	return errs
}

// sharedDeviceID is how kube names an allocated device (its
// structured.SharedDeviceID): driver/pool/device, and /shareID when shared.
func sharedDeviceID(driver, pool, device string, shareID *string) string {
	id := driver + "/" + pool + "/" + device
	if shareID != nil && *shareID != "" {
		id += "/" + *shareID
	}
	return id
}

func validateAllocationResult(a *resourcev1.AllocationResult, path *field.Path, names requestNames) field.ErrorList {
	var errs field.ErrorList
	devices := path.Child("devices")
	results := devices.Child("results")
	if e := validate.MaxItems(bg, createOp, results, a.Devices.Results, nil, resourcev1.AllocationResultsMaxSize); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		for i, r := range a.Devices.Results {
			errs = append(errs, validateRequestAllocationResult(r, results.Index(i), names)...)
		}
	}
	config := devices.Child("config")
	if e := validate.MaxItems(bg, createOp, config, a.Devices.Config, nil, 2*resourcev1.DeviceConfigMaxSize); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		for i, c := range a.Devices.Config {
			p := config.Index(i)
			src := p.Child("source")
			if e := validate.RequiredValue(bg, createOp, src, &c.Source, nil); len(e) > 0 {
				errs = append(errs, e...)
			} else {
				errs = append(errs, validate.Enum(bg, createOp, src, &c.Source, nil, configSources, nil)...)
			}
			errs = append(errs, validateRequestRefs(c.Requests, p.Child("requests"), names)...)
			errs = append(errs, validateDeviceConfiguration(c.DeviceConfiguration, p, false)...)
		}
	}
	if a.NodeSelector != nil {
		errs = append(errs, validateNodeSelector(a.NodeSelector, path.Child("nodeSelector"))...)
	}
	return errs
}

func validateRequestAllocationResult(r resourcev1.DeviceRequestAllocationResult, path *field.Path, names requestNames) field.ErrorList {
	errs := validateRequestRef(r.Request, path.Child("request"), names)
	errs = append(errs, declaredDriverName(r.Driver, path.Child("driver"))...)
	errs = append(errs, declaredPoolName(r.Pool, path.Child("pool"))...)
	errs = append(errs, dnsLabel(r.Device, path.Child("device"))...)
	errs = append(errs, validateBindingConditions(r.BindingConditions, r.BindingFailureConditions, path)...)
	errs = append(errs, validateTolerations(r.Tolerations, path.Child("tolerations"))...)
	if r.ShareID != nil {
		errs = append(errs, validate.UUID(bg, createOp, path.Child("shareID"), r.ShareID, nil)...)
	}
	return append(errs, validateSkipNodeOperations(r.SkipNodeOperations, path.Child("skipNodeOperations"))...)
}

func validateDeviceStatus(d resourcev1.AllocatedDeviceStatus, path *field.Path, allocated sets.Set[string]) field.ErrorList {
	errs := driverName(d.Driver, path.Child("driver"))
	errs = append(errs, poolName(d.Pool, path.Child("pool"))...)
	errs = append(errs, dnsLabel(d.Device, path.Child("device"))...)
	if d.ShareID != nil {
		errs = append(errs, validate.UUID(bg, createOp, path.Child("shareID"), d.ShareID, nil)...)
	}
	if id := sharedDeviceID(d.Driver, d.Pool, d.Device, d.ShareID); !allocated.Has(id) {
		errs = append(errs, field.Invalid(path, id, "must be an allocated device in the claim"))
	}
	conds := path.Child("conditions")
	if len(d.Conditions) > resourcev1.AllocatedDeviceStatusMaxConditions {
		errs = append(errs, field.TooMany(conds, len(d.Conditions), resourcev1.AllocatedDeviceStatusMaxConditions))
	}
	errs = append(errs, metav1validation.ValidateConditions(d.Conditions, conds)...)
	if d.Data != nil && len(d.Data.Raw) > 0 {
		errs = append(errs, validateRawExtension(*d.Data, path.Child("data"), false, resourcev1.AllocatedDeviceStatusDataMaxLength)...)
	}
	if n := d.NetworkData; n != nil {
		p := path.Child("networkData")
		errs = append(errs, validate.MaxBytes(bg, createOp, p.Child("interfaceName"), &n.InterfaceName, nil, resourcev1.NetworkDeviceDataInterfaceNameMaxLength)...)
		errs = append(errs, validate.MaxBytes(bg, createOp, p.Child("hardwareAddress"), &n.HardwareAddress, nil, resourcev1.NetworkDeviceDataHardwareAddressMaxLength)...)
		ips := p.Child("ips")
		if e := validate.MaxItems(bg, createOp, ips, n.IPs, nil, resourcev1.NetworkDeviceDataMaxIPs); len(e) > 0 {
			errs = append(errs, e...)
		} else {
			for i, ip := range n.IPs {
				errs = append(errs, utilvalidation.IsValidInterfaceAddress(ips.Index(i), ip)...)
			}
			errs = append(errs, validate.ValSliceUnique(bg, createOp, ips, n.IPs, nil, validate.DirectEqual[string])...)
		}
	}
	return errs
}
