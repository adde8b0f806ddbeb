package resource

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// want is one expected error: its type, path and a part of its detail
// (empty: any).
type want struct {
	typ    field.ErrorType
	path   string
	detail string
}

// check asserts that errs are exactly wants, in any order.
func check(t *testing.T, errs field.ErrorList, wants ...want) {
	t.Helper()
	used := make([]bool, len(errs))
	for _, w := range wants {
		found := false
		for i, e := range errs {
			if !used[i] && e.Type == w.typ && e.Field == w.path && strings.Contains(e.Detail, w.detail) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing %s %s %q", w.typ, w.path, w.detail)
		}
	}
	for i, e := range errs {
		if !used[i] {
			t.Errorf("unexpected error: %v", e)
		}
	}
}

func validClaim() *resourcev1.ResourceClaim {
	return &resourcev1.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "claim", Namespace: "default"},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{
			Requests: []resourcev1.DeviceRequest{
				{Name: "gpu", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com",
					Selectors:   []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: `device.driver == "gpu.example.com"`}}},
					Tolerations: []resourcev1.DeviceToleration{{Key: "example.com/taint", Operator: resourcev1.DeviceTolerationOpExists}}}},
				{Name: "nic", FirstAvailable: []resourcev1.DeviceSubRequest{
					{Name: "fast", DeviceClassName: "nic", AllocationMode: resourcev1.DeviceAllocationModeAll},
					{Name: "slow", DeviceClassName: "nic", Count: 2}}},
			},
			Constraints: []resourcev1.DeviceConstraint{{Requests: []string{"gpu", "nic/fast"}, MatchAttribute: ptr.To(resourcev1.FullyQualifiedName("example.com/numa"))}},
			Config: []resourcev1.DeviceClaimConfiguration{{Requests: []string{"gpu"}, DeviceConfiguration: resourcev1.DeviceConfiguration{
				Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: "gpu.example.com", Parameters: runtime.RawExtension{Raw: []byte(`{"a":1}`)}}}}},
		}},
	}
}

// TestValidateClaim: a claim's spec on create, as kube's ValidateResourceClaim
// with its declarative rules, and the spec's immutability on update.
func TestValidateClaim(t *testing.T) {
	reqs := "spec.devices.requests"
	tests := []struct {
		name   string
		mutate func(c *resourcev1.ResourceClaim)
		wants  []want
	}{
		{"valid", func(*resourcev1.ResourceClaim) {}, nil},
		{"empty", func(c *resourcev1.ResourceClaim) { c.Spec = resourcev1.ResourceClaimSpec{} }, nil},
		{"bad request name", func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Requests[0].Name = "Bad_Name"
			c.Spec.Devices.Constraints, c.Spec.Devices.Config = nil, nil
		}, []want{{field.ErrorTypeInvalid, reqs + "[0].name", "a lowercase RFC 1123 label"}}},
		{"duplicate request", func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Requests[1] = *c.Spec.Devices.Requests[0].DeepCopy()
			c.Spec.Devices.Constraints = nil
		}, []want{{field.ErrorTypeDuplicate, reqs + "[1]", ""}}},
		{"neither exactly nor firstAvailable", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Requests[0].Exactly = nil },
			[]want{{field.ErrorTypeRequired, reqs + "[0]", "exactly one of `exactly` or `firstAvailable` is required"}}},
		{"both exactly and firstAvailable", func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Requests[0].FirstAvailable = c.Spec.Devices.Requests[1].FirstAvailable
		}, []want{{field.ErrorTypeInvalid, reqs + "[0]", "but multiple fields are set"}}},
		{"no device class", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Requests[0].Exactly.DeviceClassName = "" },
			[]want{{field.ErrorTypeRequired, reqs + "[0].exactly.deviceClassName", ""}}},
		{"bad device class", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Requests[0].Exactly.DeviceClassName = "Bad" },
			[]want{{field.ErrorTypeInvalid, reqs + "[0].exactly.deviceClassName", "RFC 1123 subdomain"}}},
		{"subrequest without class", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Requests[1].FirstAvailable[0].DeviceClassName = "" },
			[]want{{field.ErrorTypeRequired, reqs + "[1].firstAvailable[0].deviceClassName", ""}}},
		{"duplicate subrequest", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Requests[1].FirstAvailable[1].Name = "fast" },
			[]want{{field.ErrorTypeDuplicate, reqs + "[1].firstAvailable[1]", ""}}},
		{"too many subrequests", func(c *resourcev1.ResourceClaim) {
			r := &c.Spec.Devices.Requests[1]
			for len(r.FirstAvailable) <= resourcev1.FirstAvailableDeviceRequestMaxSize {
				r.FirstAvailable = append(r.FirstAvailable, r.FirstAvailable[0])
			}
		}, []want{{field.ErrorTypeTooMany, reqs + "[1].firstAvailable", "must have at most 8 items"}}},
		{"bad allocation mode", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Requests[0].Exactly.AllocationMode = "Some" },
			[]want{{field.ErrorTypeNotSupported, reqs + "[0].exactly.allocationMode", `supported values: "All", "ExactCount"`}}},
		{"count with All", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Requests[1].FirstAvailable[0].Count = 2 },
			[]want{{field.ErrorTypeInvalid, reqs + "[1].firstAvailable[0].count", "must not be specified when allocationMode is 'All'"}}},
		{"zero count", func(c *resourcev1.ResourceClaim) {
			e := c.Spec.Devices.Requests[0].Exactly
			e.AllocationMode, e.Count = resourcev1.DeviceAllocationModeExactCount, -1
		}, []want{{field.ErrorTypeInvalid, reqs + "[0].exactly.count", "must be greater than zero"}}},
		{"selector without cel", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Requests[0].Exactly.Selectors[0].CEL = nil },
			[]want{{field.ErrorTypeRequired, reqs + "[0].exactly.selectors[0].cel", ""}}},
		{"cel too long", func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Requests[0].Exactly.Selectors[0].CEL.Expression = strings.Repeat(" ", resourcev1.CELSelectorExpressionMaxLength+1)
		}, []want{{field.ErrorTypeTooLong, reqs + "[0].exactly.selectors[0].cel.expression", "may not be more than 10240 bytes"}}},
		{"empty cel", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Requests[0].Exactly.Selectors[0].CEL.Expression = "" },
			[]want{{field.ErrorTypeInvalid, reqs + "[0].exactly.selectors[0].cel.expression", "compilation failed"}}},
		{"too many selectors", func(c *resourcev1.ResourceClaim) {
			e := c.Spec.Devices.Requests[0].Exactly
			for len(e.Selectors) <= resourcev1.DeviceSelectorsMaxSize {
				e.Selectors = append(e.Selectors, e.Selectors[0])
			}
		}, []want{{field.ErrorTypeTooMany, reqs + "[0].exactly.selectors", "must have at most 32 items"}}},
		{"too many requests", func(c *resourcev1.ResourceClaim) {
			for len(c.Spec.Devices.Requests) <= resourcev1.DeviceRequestsMaxSize {
				c.Spec.Devices.Requests = append(c.Spec.Devices.Requests, c.Spec.Devices.Requests[0])
			}
		}, []want{{field.ErrorTypeTooMany, reqs, "must have at most 32 items"}}},
		{"bad tolerations", func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Requests[0].Exactly.Tolerations = []resourcev1.DeviceToleration{
				{Key: "a b", Operator: resourcev1.DeviceTolerationOpEqual, Value: "x y", Effect: "Sometimes"},
				{Operator: resourcev1.DeviceTolerationOpExists, Value: "v"},
				{Operator: "Maybe"},
				{},
			}
		}, []want{
			{field.ErrorTypeInvalid, reqs + "[0].exactly.tolerations[0].key", "name part must consist of"},
			{field.ErrorTypeInvalid, reqs + "[0].exactly.tolerations[0].value", "a valid label must be"},
			{field.ErrorTypeNotSupported, reqs + "[0].exactly.tolerations[0].effect", `supported values: "NoExecute", "NoSchedule", "None"`},
			{field.ErrorTypeInvalid, reqs + "[0].exactly.tolerations[1].value", "must be empty for operator `Exists`"},
			{field.ErrorTypeNotSupported, reqs + "[0].exactly.tolerations[2].operator", `supported values: "Equal", "Exists"`},
			{field.ErrorTypeRequired, reqs + "[0].exactly.tolerations[3].operator", ""},
		}},
		{"constraint naming unknown request", func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Constraints[0].Requests = []string{"gpu", "nic/medium", "other", "gpu"}
		}, []want{
			{field.ErrorTypeInvalid, "spec.devices.constraints[0].requests[1]", requestRefDetail},
			{field.ErrorTypeInvalid, "spec.devices.constraints[0].requests[2]", requestRefDetail},
			{field.ErrorTypeDuplicate, "spec.devices.constraints[0].requests[3]", ""},
		}},
		{"match attribute without domain", func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Constraints[0].MatchAttribute = ptr.To(resourcev1.FullyQualifiedName("numa"))
		}, []want{{field.ErrorTypeInvalid, "spec.devices.constraints[0].matchAttribute", "a fully qualified name must be a domain and a name separated by a slash"}}},
		{"constraint without attribute", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Constraints[0].MatchAttribute = nil },
			[]want{{field.ErrorTypeRequired, "spec.devices.constraints[0]", `exactly one of "matchAttribute" or "distinctAttribute" is required`}}},
		{"config without opaque", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Config[0].Opaque = nil },
			[]want{{field.ErrorTypeRequired, "spec.devices.config[0].opaque", ""}}},
		{"config driver and parameters", func(c *resourcev1.ResourceClaim) {
			c.Spec.Devices.Config = append(c.Spec.Devices.Config, *c.Spec.Devices.Config[0].DeepCopy(), *c.Spec.Devices.Config[0].DeepCopy(), *c.Spec.Devices.Config[0].DeepCopy())
			c.Spec.Devices.Config[0].Opaque.Driver = ""
			c.Spec.Devices.Config[1].Opaque.Parameters.Raw = []byte(`[1]`)
			c.Spec.Devices.Config[2].Opaque.Parameters.Raw = []byte(`{"a":` + strings.Repeat(" ", resourcev1.OpaqueParametersMaxLength) + `1}`)
			c.Spec.Devices.Config[3].Opaque.Parameters.Raw = []byte(`{`)
		}, []want{
			{field.ErrorTypeRequired, "spec.devices.config[0].opaque.driver", ""},
			{field.ErrorTypeInvalid, "spec.devices.config[1].opaque.parameters", "must be a valid JSON object"},
			{field.ErrorTypeTooLong, "spec.devices.config[2].opaque.parameters", "may not be more than 10240 bytes"},
			{field.ErrorTypeInvalid, "spec.devices.config[3].opaque.parameters", "error parsing data as JSON"},
		}},
		{"config driver too long", func(c *resourcev1.ResourceClaim) { c.Spec.Devices.Config[0].Opaque.Driver = strings.Repeat("a", 64) },
			[]want{{field.ErrorTypeTooLong, "spec.devices.config[0].opaque.driver", "may not be more than 63 characters"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validClaim()
			tt.mutate(c)
			check(t, claimHooks.Validate(c, nil), tt.wants...)
		})
	}

	old := validClaim()
	check(t, claimHooks.Validate(validClaim(), old))
	changed := validClaim()
	changed.Spec.Devices.Requests[0].Name = "other"
	check(t, claimHooks.Validate(changed, old), want{field.ErrorTypeInvalid, "spec", "field is immutable"})
}

// TestValidateClaimTemplate: the template's metadata and claim spec, and
// its immutable spec.
func TestValidateClaimTemplate(t *testing.T) {
	tmpl := func() *resourcev1.ResourceClaimTemplate {
		return &resourcev1.ResourceClaimTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "default"},
			Spec: resourcev1.ResourceClaimTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}},
				Spec:       validClaim().Spec,
			},
		}
	}
	check(t, claimTemplateHooks.Validate(tmpl(), nil))
	check(t, claimTemplateHooks.Validate(tmpl(), tmpl()))

	bad := tmpl()
	bad.Spec.ObjectMeta.Name = "x"
	bad.Spec.ObjectMeta.Labels = map[string]string{"a": "b c"}
	bad.Spec.Spec.Devices.Requests[0].Exactly.DeviceClassName = ""
	check(t, claimTemplateHooks.Validate(bad, nil),
		want{field.ErrorTypeForbidden, "spec.metadata.name", "cannot be set"},
		want{field.ErrorTypeInvalid, "spec.metadata.labels", "a valid label must be"},
		want{field.ErrorTypeRequired, "spec.spec.devices.requests[0].exactly.deviceClassName", ""})

	changed := tmpl()
	changed.Spec.Spec.Devices.Config = nil
	check(t, claimTemplateHooks.Validate(changed, tmpl()), want{field.ErrorTypeInvalid, "spec", "field is immutable"})
}

// TestValidateClass: a device class's selectors, configuration and
// extended resource name.
func TestValidateClass(t *testing.T) {
	class := func() *resourcev1.DeviceClass {
		return &resourcev1.DeviceClass{
			ObjectMeta: metav1.ObjectMeta{Name: "gpu.example.com"},
			Spec: resourcev1.DeviceClassSpec{
				Selectors: []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: "true"}}},
				Config: []resourcev1.DeviceClassConfiguration{{DeviceConfiguration: resourcev1.DeviceConfiguration{
					Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: "gpu.example.com", Parameters: runtime.RawExtension{Raw: []byte(`{}`)}}}}},
				ExtendedResourceName: ptr.To("example.com/gpu"),
			},
		}
	}
	check(t, classHooks.Validate(class(), nil))
	check(t, classHooks.Validate(&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, nil))
	check(t, classHooks.Validate(class(), class()))

	bad := class()
	bad.Spec.Selectors = append(bad.Spec.Selectors, resourcev1.DeviceSelector{})
	bad.Spec.Config[0].Opaque.Driver = "-bad-"
	bad.Spec.Config[0].Opaque.Parameters.Raw = nil
	bad.Spec.ExtendedResourceName = ptr.To("gpu")
	check(t, classHooks.Validate(bad, nil),
		want{field.ErrorTypeRequired, "spec.selectors[1].cel", ""},
		want{field.ErrorTypeInvalid, "spec.config[0].opaque.driver", "RFC 1123 subdomain"},
		want{field.ErrorTypeRequired, "spec.config[0].opaque.parameters", ""},
		want{field.ErrorTypeInvalid, "spec.extendedResourceName", "a name must be a domain-prefixed path"})

	many := class()
	for len(many.Spec.Config) <= resourcev1.DeviceConfigMaxSize {
		many.Spec.Config = append(many.Spec.Config, many.Spec.Config[0])
	}
	check(t, classHooks.Validate(many, nil), want{field.ErrorTypeTooMany, "spec.config", "must have at most 32 items"})
}

func validSlice() *resourcev1.ResourceSlice {
	return &resourcev1.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "slice"},
		Spec: resourcev1.ResourceSliceSpec{
			Driver:   "gpu.example.com",
			Pool:     resourcev1.ResourcePool{Name: "node-1/pool", Generation: 1, ResourceSliceCount: 1},
			NodeName: ptr.To("node-1"),
			Devices: []resourcev1.Device{{
				Name: "gpu-0",
				Attributes: map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
					"model":                {StringValue: ptr.To("a100")},
					"example.com/version":  {VersionValue: ptr.To("1.2.3-rc.1+build")},
					"example.com/numaNode": {IntValue: ptr.To[int64](0)},
				},
				Capacity: map[resourcev1.QualifiedName]resourcev1.DeviceCapacity{"memory": {Value: apiresource.MustParse("40Gi")}},
				Taints:   []resourcev1.DeviceTaint{{Key: "example.com/broken", Value: "yes", Effect: resourcev1.DeviceTaintEffectNoSchedule}},
			}},
		},
	}
}

// TestValidateSlice: a resource slice's driver, pool, node and devices,
// and what may not change.
func TestValidateSlice(t *testing.T) {
	dev := "spec.devices[0]"
	tests := []struct {
		name   string
		mutate func(s *resourcev1.ResourceSlice)
		wants  []want
	}{
		{"valid", func(*resourcev1.ResourceSlice) {}, nil},
		{"all nodes, no devices", func(s *resourcev1.ResourceSlice) {
			s.Spec.NodeName, s.Spec.AllNodes, s.Spec.Devices = nil, ptr.To(true), nil
		}, nil},
		{"node selector", func(s *resourcev1.ResourceSlice) {
			s.Spec.NodeName = nil
			s.Spec.NodeSelector = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: "k", Operator: corev1.NodeSelectorOpIn, Values: []string{"v"}}}}}}
		}, nil},
		{"bad driver and pool", func(s *resourcev1.ResourceSlice) {
			s.Spec.Driver = ""
			s.Spec.Pool = resourcev1.ResourcePool{Name: "", Generation: -1}
		}, []want{
			{field.ErrorTypeRequired, "spec.driver", ""},
			{field.ErrorTypeRequired, "spec.pool.name", ""},
			{field.ErrorTypeInvalid, "spec.pool.resourceSliceCount", "must be greater than zero"},
			{field.ErrorTypeInvalid, "spec.pool.generation", "must be greater than or equal to zero"},
		}},
		{"bad pool name", func(s *resourcev1.ResourceSlice) { s.Spec.Pool.Name = "a//b" },
			[]want{{field.ErrorTypeInvalid, "spec.pool.name", "RFC 1123 subdomain"}}},
		{"no node", func(s *resourcev1.ResourceSlice) { s.Spec.NodeName = nil },
			[]want{{field.ErrorTypeRequired, "spec", "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required"}}},
		{"two nodes", func(s *resourcev1.ResourceSlice) { s.Spec.AllNodes = ptr.To(true) },
			[]want{{field.ErrorTypeInvalid, "spec", "but multiple fields are set"}}},
		{"false all nodes", func(s *resourcev1.ResourceSlice) { s.Spec.AllNodes = ptr.To(false) },
			[]want{{field.ErrorTypeInvalid, "spec.allNodes", "must be either unset or set to true"}}},
		{"empty node name", func(s *resourcev1.ResourceSlice) { s.Spec.NodeName = ptr.To(""); s.Spec.AllNodes = ptr.To(true) },
			[]want{{field.ErrorTypeInvalid, "spec.nodeName", "must be either unset or set to a non-empty string"}}},
		{"two node selector terms", func(s *resourcev1.ResourceSlice) {
			s.Spec.NodeName = nil
			s.Spec.NodeSelector = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{}, {}}}
		}, []want{{field.ErrorTypeInvalid, "spec.nodeSelector.nodeSelectorTerms", "must have exactly one node selector term"}}},
		{"duplicate and bad device names", func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices = append(s.Spec.Devices, s.Spec.Devices[0], resourcev1.Device{Name: "Bad"})
		}, []want{
			{field.ErrorTypeDuplicate, "spec.devices[1]", ""},
			{field.ErrorTypeInvalid, "spec.devices[2].name", "a lowercase RFC 1123 label"},
		}},
		{"too many devices", func(s *resourcev1.ResourceSlice) {
			d := s.Spec.Devices[0]
			s.Spec.Devices = nil
			for i := range resourcev1.ResourceSliceMaxDevicesWithAdvancedFeatures + 1 {
				d.Name = "d" + strings.Repeat("x", i)
				s.Spec.Devices = append(s.Spec.Devices, d)
			}
		}, []want{{field.ErrorTypeTooMany, "spec.devices", "must have at most 64 items"}}},
		{"bad attributes", func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].Attributes = map[resourcev1.QualifiedName]resourcev1.DeviceAttribute{
				"a":             {},
				"b":             {IntValue: ptr.To[int64](1), BoolValue: ptr.To(true)},
				"c":             {VersionValue: ptr.To("1.0")},
				"d":             {StringValue: ptr.To(strings.Repeat("x", 65))},
				"/e":            {BoolValue: ptr.To(true)},
				"f-g":           {BoolValue: ptr.To(true)},
				"example.com/h": {StringValues: []string{}},
			}
		}, []want{
			{field.ErrorTypeInvalid, dev + ".attributes[a]", "must specify one of: `int`, `bool`"},
			{field.ErrorTypeInvalid, dev + ".attributes[b]", "must specify exactly one of: `int`, `bool`"},
			{field.ErrorTypeInvalid, dev + ".attributes[c].version", "must be a string compatible with semver.org spec 2.0.0"},
			{field.ErrorTypeTooLong, dev + ".attributes[d].string", "may not be more than 64 bytes"},
			{field.ErrorTypeInvalid, dev + ".attributes", "the domain must not be empty"},
			{field.ErrorTypeInvalid, dev + ".attributes", "a valid C identifier must start with alphabetic character"},
			{field.ErrorTypeInvalid, dev + ".attributes[example.com/h].strings", "must not be empty if specified"},
			{field.ErrorTypeInvalid, dev + ".attributes[example.com/h]", "must specify one of"},
		}},
		{"request policy without multiple allocations", func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].Capacity["memory"] = resourcev1.DeviceCapacity{Value: apiresource.MustParse("1"),
				RequestPolicy: &resourcev1.CapacityRequestPolicy{Default: ptr.To(apiresource.MustParse("1"))}}
		}, []want{{field.ErrorTypeForbidden, dev + ".capacity[memory].requestPolicy", "allowMultipleAllocations must be true"}}},
		{"bad request policy range", func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].AllowMultipleAllocations = ptr.To(true)
			s.Spec.Devices[0].Capacity["memory"] = resourcev1.DeviceCapacity{Value: apiresource.MustParse("10"),
				RequestPolicy: &resourcev1.CapacityRequestPolicy{Default: ptr.To(apiresource.MustParse("3")),
					ValidRange: &resourcev1.CapacityRequestPolicyRange{Min: ptr.To(apiresource.MustParse("2")), Step: ptr.To(apiresource.MustParse("2"))}}}
		}, []want{{field.ErrorTypeInvalid, dev + ".capacity[memory].requestPolicy.validRange.step", "value is not a multiple of a given step (2) from (2)"}}},
		{"bad taints", func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].Taints = []resourcev1.DeviceTaint{{Key: "", Value: "a b"}, {Key: "k", Effect: "Sometimes"}}
		}, []want{
			{field.ErrorTypeInvalid, dev + ".taints[0].key", "name part must be non-empty"},
			{field.ErrorTypeInvalid, dev + ".taints[0].key", "name part must consist of"},
			{field.ErrorTypeInvalid, dev + ".taints[0].value", "a valid label must be"},
			{field.ErrorTypeRequired, dev + ".taints[0].effect", ""},
			{field.ErrorTypeNotSupported, dev + ".taints[1].effect", `supported values: "NoExecute", "NoSchedule", "None"`},
		}},
		{"counters", func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices = nil
			s.Spec.SharedCounters = []resourcev1.CounterSet{
				{Name: "set", Counters: map[string]resourcev1.Counter{"mem": {Value: apiresource.MustParse("1")}}},
				{Name: "set", Counters: map[string]resourcev1.Counter{"Bad": {Value: apiresource.MustParse("1")}}},
				{},
			}
		}, []want{
			{field.ErrorTypeDuplicate, "spec.sharedCounters[1]", ""},
			{field.ErrorTypeInvalid, "spec.sharedCounters[1].counters", "a lowercase RFC 1123 label"},
			{field.ErrorTypeRequired, "spec.sharedCounters[2].name", ""},
			{field.ErrorTypeRequired, "spec.sharedCounters[2].counters", ""},
		}},
		{"counters and devices", func(s *resourcev1.ResourceSlice) {
			s.Spec.SharedCounters = []resourcev1.CounterSet{{Name: "set", Counters: map[string]resourcev1.Counter{"mem": {}}}}
		}, []want{{field.ErrorTypeInvalid, "spec", "only one of `sharedCounters` or `devices` is allowed"}}},
		{"consumes counters", func(s *resourcev1.ResourceSlice) {
			s.Spec.Devices[0].ConsumesCounters = []resourcev1.DeviceCounterConsumption{{CounterSet: "set"}, {CounterSet: "set", Counters: map[string]resourcev1.Counter{"mem": {}}}}
		}, []want{
			{field.ErrorTypeRequired, dev + ".consumesCounters[0].counters", ""},
			{field.ErrorTypeDuplicate, dev + ".consumesCounters[1]", ""},
		}},
		{"device node without per-device selection", func(s *resourcev1.ResourceSlice) { s.Spec.Devices[0].AllNodes = ptr.To(true) },
			[]want{{field.ErrorTypeInvalid, dev, "can only be set if `perDeviceNodeSelection` is set to true"}}},
		{"per-device selection without a device node", func(s *resourcev1.ResourceSlice) {
			s.Spec.NodeName, s.Spec.PerDeviceNodeSelection = nil, ptr.To(true)
		}, []want{{field.ErrorTypeRequired, dev, "exactly one of `nodeName`, `nodeSelector`, or `allNodes` is required"}}},
		{"binding conditions", func(s *resourcev1.ResourceSlice) { s.Spec.Devices[0].BindingConditions = []string{"ready"} },
			[]want{{field.ErrorTypeInvalid, dev + ".bindingFailureConditions", "bindingFailureConditions are required to use bindingConditions"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSlice()
			tt.mutate(s)
			check(t, sliceHooks.Validate(s, nil), tt.wants...)
		})
	}

	check(t, sliceHooks.Validate(validSlice(), validSlice()))
	moved := validSlice()
	moved.Spec.Driver, moved.Spec.Pool.Name, moved.Spec.NodeName = "other.example.com", "other", ptr.To("node-2")
	check(t, sliceHooks.Validate(moved, validSlice()),
		want{field.ErrorTypeInvalid, "spec.driver", "field is immutable"},
		want{field.ErrorTypeInvalid, "spec.pool.name", "field is immutable"},
		want{field.ErrorTypeInvalid, "spec.nodeName", "field is immutable"})
}

// TestValidateTaintRule: a taint rule's selector and taint, and its status.
func TestValidateTaintRule(t *testing.T) {
	rule := func() *resourcev1.DeviceTaintRule {
		return &resourcev1.DeviceTaintRule{
			ObjectMeta: metav1.ObjectMeta{Name: "rule"},
			Spec: resourcev1.DeviceTaintRuleSpec{
				DeviceSelector: &resourcev1.DeviceTaintSelector{Driver: ptr.To("gpu.example.com"), Pool: ptr.To("pool"), Device: ptr.To("gpu-0")},
				Taint:          resourcev1.DeviceTaint{Key: "example.com/broken", Effect: resourcev1.DeviceTaintEffectNoExecute},
			},
		}
	}
	check(t, taintRuleHooks.Validate(rule(), nil))
	check(t, taintRuleHooks.Validate(rule(), rule()))
	bad := rule()
	bad.Spec.DeviceSelector = &resourcev1.DeviceTaintSelector{Driver: ptr.To(""), Pool: ptr.To("Pool"), Device: ptr.To("a.b")}
	bad.Spec.Taint.Effect = "Evict"
	check(t, taintRuleHooks.Validate(bad, nil),
		want{field.ErrorTypeRequired, "spec.deviceSelector.driver", ""},
		want{field.ErrorTypeInvalid, "spec.deviceSelector.pool", "RFC 1123 subdomain"},
		want{field.ErrorTypeInvalid, "spec.deviceSelector.device", "must not contain dots"},
		want{field.ErrorTypeNotSupported, "spec.taint.effect", ""})

	withStatus := rule()
	for i := range resourcev1.DeviceTaintRuleStatusMaxConditions + 1 {
		withStatus.Status.Conditions = append(withStatus.Status.Conditions, metav1.Condition{
			Type: "T" + strings.Repeat("x", i), Status: metav1.ConditionTrue, Reason: "R", LastTransitionTime: metav1.Now()})
	}
	check(t, taintRuleStatus.Validate(withStatus, rule()), want{field.ErrorTypeTooMany, "status.conditions", "must have at most 8 items"})
	withStatus.Status.Conditions = withStatus.Status.Conditions[:1]
	check(t, taintRuleStatus.Validate(withStatus, rule()))
}

// TestValidateClaimStatus: ValidateResourceClaimStatusUpdate.
func TestValidateClaimStatus(t *testing.T) {
	allocated := func() *resourcev1.ResourceClaim {
		c := validClaim()
		c.Status.Allocation = &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{
			Results: []resourcev1.DeviceRequestAllocationResult{{Request: "gpu", Driver: "gpu.example.com", Pool: "pool", Device: "gpu-0"}},
			Config: []resourcev1.DeviceAllocationConfiguration{{Source: resourcev1.AllocationConfigSourceClaim, Requests: []string{"gpu"},
				DeviceConfiguration: resourcev1.DeviceConfiguration{Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: "gpu.example.com", Parameters: runtime.RawExtension{Raw: []byte(`{}`)}}}}},
		}}
		c.Status.ReservedFor = []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "p", UID: "1"}}
		c.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: "gpu.example.com", Pool: "pool", Device: "gpu-0",
			NetworkData: &resourcev1.NetworkDeviceData{IPs: []string{"10.0.0.1/24"}}}}
		return c
	}
	check(t, claimStatus.Validate(allocated(), validClaim()))
	check(t, claimStatus.Validate(allocated(), allocated()))

	bad := allocated()
	r := &bad.Status.Allocation.Devices.Results[0]
	r.Request, r.Driver, r.Pool, r.ShareID = "none", "", "a//b", ptr.To(types.UID("not-a-uid"))
	bad.Status.Allocation.Devices.Config[0].Source = "Elsewhere"
	bad.Status.ReservedFor = append(bad.Status.ReservedFor, resourcev1.ResourceClaimConsumerReference{UID: "1"})
	bad.Status.Devices[0].NetworkData.IPs = []string{"10.0.0.1"}
	check(t, claimStatus.Validate(bad, validClaim()),
		want{field.ErrorTypeInvalid, "status.allocation.devices.results[0].request", requestRefDetail},
		want{field.ErrorTypeRequired, "status.allocation.devices.results[0].driver", ""},
		want{field.ErrorTypeInvalid, "status.allocation.devices.results[0].pool", "segment 1: must not be empty"},
		want{field.ErrorTypeInvalid, "status.allocation.devices.results[0].shareID", ""},
		want{field.ErrorTypeNotSupported, "status.allocation.devices.config[0].source", `supported values: "FromClaim", "FromClass"`},
		want{field.ErrorTypeRequired, "status.reservedFor[1].resource", ""},
		want{field.ErrorTypeRequired, "status.reservedFor[1].name", ""},
		want{field.ErrorTypeDuplicate, "status.reservedFor[1]", ""},
		want{field.ErrorTypeInvalid, "status.devices[0]", "must be an allocated device in the claim"},
		want{field.ErrorTypeInvalid, "status.devices[0].networkData.ips[0]", "must be a valid address in CIDR form"})

	unallocated := validClaim()
	unallocated.Status.ReservedFor = allocated().Status.ReservedFor
	check(t, claimStatus.Validate(unallocated, validClaim()), want{field.ErrorTypeForbidden, "status.reservedFor", "may not be specified when `allocated` is not set"})

	changed := allocated()
	changed.Status.Allocation.Devices.Results[0].Device = "gpu-1"
	changed.Status.Devices = nil
	check(t, claimStatus.Validate(changed, allocated()), want{field.ErrorTypeInvalid, "status.allocation", "field cannot be modified once set"})

	deleted, before := allocated(), allocated()
	deleted.DeletionTimestamp = ptr.To(metav1.Now())
	deleted.Status.ReservedFor = append(deleted.Status.ReservedFor, resourcev1.ResourceClaimConsumerReference{Resource: "pods", Name: "q", UID: "2"})
	check(t, claimStatus.Validate(deleted, before), want{field.ErrorTypeForbidden, "status.reservedFor", "new entries may not be added"})
}
