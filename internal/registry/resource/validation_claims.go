package resource

import (
	"encoding/json"
	"fmt"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The validation of ResourceClaims (their spec, as ResourceClaimTemplates'
// too, and their status), as kube 1.37's; see validation.go.

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
