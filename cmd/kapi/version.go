package main

import (
	"fmt"
	"strconv"
	"strings"

	utilversion "k8s.io/apimachinery/pkg/util/version"

	"kapi/internal/router"
)

// versionFlag is kube's --version (component-base's verflag): "true"
// prints "Kubernetes <gitVersion>" and quits, "raw" prints the whole
// version.Info and quits, and "vX.Y.Z..." (with kapi's own major, minor
// and patch) only changes the gitVersion that /version reports, as kube
// lets a build carry a suffix such as v1.37.2-vendor.1.
type versionFlag string

func (v *versionFlag) String() string { return string(*v) }
func (v *versionFlag) Type() string   { return "version" }

func (v *versionFlag) Set(s string) error {
	switch {
	case s == "raw":
	case strings.HasPrefix(s, "v"):
		if err := sameRelease(s, router.Version.GitVersion); err != nil {
			return err
		}
	default:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		s = strconv.FormatBool(b)
	}
	*v = versionFlag(s)
	return nil
}

// sameRelease refuses a reported version that is not kapi's release, as
// kube's version.ValidateDynamicVersion does.
func sameRelease(reported, own string) error {
	r, err := utilversion.ParseSemantic(reported)
	if err != nil {
		return err
	}
	o, err := utilversion.ParseSemantic(own)
	if err != nil {
		return err
	}
	if r.Major() != o.Major() || r.Minor() != o.Minor() || r.Patch() != o.Patch() {
		return fmt.Errorf("version %q must match major/minor/patch of default version %q", reported, own)
	}
	return nil
}

// apply prints the version and says to quit ("true", "raw"), or sets the
// reported gitVersion ("vX.Y.Z...") and says to go on.
func (v versionFlag) apply(print func(string)) (quit bool) {
	switch v {
	case "false":
		return false
	case "true":
		print("Kubernetes " + router.Version.GitVersion)
	case "raw":
		print(fmt.Sprintf("%#v", router.Version))
	default:
		router.Version.GitVersion = string(v)
		return false
	}
	return true
}
