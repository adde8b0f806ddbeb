package resource

import (
	"fmt"
	"regexp"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The validation of ResourceSlices (their pools, nodes and devices) and of
// device taints, DeviceTaintRules' among them, as kube 1.37's; see
// validation.go.

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
