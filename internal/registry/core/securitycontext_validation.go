package core

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/component-helpers/node/util/sysctl"
)

// The security contexts of pods and containers, validated as kube 1.37's
// validatePodSpecSecurityContext and ValidateSecurityContext
// (pkg/apis/core/validation): user and group IDs, sysctls, policies,
// seccomp and AppArmor profiles, Windows options. kube's "disallowed by
// cluster policy" of privileged containers (--allow-privileged) is
// ForbidPrivileged's, which the server adds per server.

// sysctlName is kube's SysctlContainSlashFmt.
var sysctlName = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

const sysctlMaxLength = 253

// validatePodSecurityContext is kube's validatePodSpecSecurityContext.
func validatePodSecurityContext(s *corev1.PodSpec, path *field.Path, opts podValidationOptions) field.ErrorList {
	sc := s.SecurityContext
	if sc == nil {
		return nil
	}
	errs := validID(path.Child("fsGroup"), sc.FSGroup, validation.IsValidGroupID)
	errs = append(errs, validID(path.Child("runAsUser"), sc.RunAsUser, validation.IsValidUserID)...)
	errs = append(errs, validID(path.Child("runAsGroup"), sc.RunAsGroup, validation.IsValidGroupID)...)
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, validID(path.Child("supplementalGroups").Index(i), &g, validation.IsValidGroupID)...)
	}
	seen := map[string]bool{}
	for i, c := range sc.Sysctls {
		p := path.Child("sysctls").Index(i).Child("name")
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p, ""))
		case len(c.Name) > sysctlMaxLength || !sysctlName.MatchString(c.Name):
			errs = append(errs, field.Invalid(p, c.Name, fmt.Sprintf("must have at most %d characters and match regex %s", sysctlMaxLength, sysctlName)))
		case seen[c.Name]:
			errs = append(errs, field.Duplicate(p, c.Name))
		}
		if !opts.allowHostSysctls {
			if err := hostSysctl(c.Name, s, p); err != nil {
				errs = append(errs, err)
			}
		}
		seen[c.Name] = true
	}
	if p := sc.FSGroupChangePolicy; p != nil {
		errs = append(errs, oneOf(string(*p), []string{string(corev1.FSGroupChangeAlways), string(corev1.FSGroupChangeOnRootMismatch)}, path.Child("fsGroupChangePolicy"))...)
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, path.Child("seccompProfile"))...)
	errs = append(errs, validateWindowsOptions(sc.WindowsOptions, path.Child("windowsOptions"))...)
	errs = append(errs, validateAppArmorProfile(sc.AppArmorProfile, path.Child("appArmorProfile"))...)
	if p := sc.SupplementalGroupsPolicy; p != nil {
		errs = append(errs, oneOf(string(*p), []string{string(corev1.SupplementalGroupsPolicyMerge), string(corev1.SupplementalGroupsPolicyStrict)}, path.Child("supplementalGroupsPolicy"))...)
	}
	// (kube 1.37's SELinuxMount is GA: every policy is allowed.)
	if p := sc.SELinuxChangePolicy; p != nil {
		errs = append(errs, oneOf(string(*p), []string{string(corev1.SELinuxChangePolicyMountOption), string(corev1.SELinuxChangePolicyRecursive)}, path.Child("seLinuxChangePolicy"))...)
	}
	return errs
}

// validID checks a user or group ID, when it is set, with check
// (apimachinery's IsValidUserID or IsValidGroupID).
func validID(p *field.Path, v *int64, check func(int64) []string) field.ErrorList {
	if v == nil {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range check(*v) {
		errs = append(errs, field.Invalid(p, *v, msg))
	}
	return errs
}

// hostSysctl is kube's ValidateHostSysctl: a pod sharing the host's
// network or IPC namespace may not set that namespace's sysctls.
func hostSysctl(name string, s *corev1.PodSpec, p *field.Path) *field.Error {
	ns, _, _ := sysctl.GetNamespace(name)
	switch {
	case s.HostNetwork && ns == sysctl.NetNamespace:
		return field.Invalid(p, name, "may not be specified when 'hostNetwork' is true")
	case s.HostIPC && ns == sysctl.IPCNamespace:
		return field.Invalid(p, name, "may not be specified when 'hostIPC' is true")
	}
	return nil
}

// validateContainerSecurityContext is kube's ValidateSecurityContext.
func validateContainerSecurityContext(sc *corev1.SecurityContext, path *field.Path, opts podValidationOptions) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := validID(path.Child("runAsUser"), sc.RunAsUser, validation.IsValidUserID)
	errs = append(errs, validID(path.Child("runAsGroup"), sc.RunAsGroup, validation.IsValidGroupID)...)
	if m := sc.ProcMount; m != nil {
		errs = append(errs, oneOf(string(*m), []string{string(corev1.DefaultProcMount), string(corev1.UnmaskedProcMount)}, path.Child("procMount"))...)
		if opts.hostUsers && *m == corev1.UnmaskedProcMount {
			errs = append(errs, field.Invalid(path.Child("procMount"), sc.ProcMount, "`hostUsers` must be false to use `Unmasked`"))
		}
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, path.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if !opts.allowSysAdmin && sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	errs = append(errs, validateWindowsOptions(sc.WindowsOptions, path.Child("windowsOptions"))...)
	return append(errs, validateAppArmorProfile(sc.AppArmorProfile, path.Child("appArmorProfile"))...)
}

// validateSeccompProfile is kube's validateSeccompProfileField.
func validateSeccompProfile(sp *corev1.SeccompProfile, p *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch sp.Type {
	case corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
	case "":
		errs = append(errs, field.Required(p.Child("type"), "type is required when seccompProfile is set"))
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), sp.Type, []corev1.SeccompProfileType{corev1.SeccompProfileTypeLocalhost,
			corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined}))
	}
	switch {
	case sp.Type == corev1.SeccompProfileTypeLocalhost && sp.LocalhostProfile == nil:
		errs = append(errs, field.Required(p.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
	case sp.Type == corev1.SeccompProfileTypeLocalhost:
		errs = append(errs, localDescendingPath(*sp.LocalhostProfile, p.Child("localhostProfile"))...)
	case sp.LocalhostProfile != nil:
		errs = append(errs, field.Invalid(p.Child("localhostProfile"), sp, "can only be set when seccomp type is Localhost"))
	}
	return errs
}

// localDescendingPath is kube's validateLocalDescendingPath: relative,
// without "..".
func localDescendingPath(target string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(p, target, "must be a relative path"))
	}
	for _, part := range strings.Split(filepath.ToSlash(target), "/") {
		if part == ".." {
			errs = append(errs, field.Invalid(p, target, "must not contain '..'"))
			break
		}
	}
	return errs
}

// validateAppArmorProfile is kube's ValidateAppArmorProfileField.
func validateAppArmorProfile(profile *corev1.AppArmorProfile, p *field.Path) field.ErrorList {
	if profile == nil {
		return nil
	}
	var errs field.ErrorList
	switch profile.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		lp := profile.LocalhostProfile
		switch {
		case lp == nil:
			errs = append(errs, field.Required(p.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
		case strings.TrimSpace(*lp) != *lp:
			errs = append(errs, field.Invalid(p.Child("localhostProfile"), *lp, "must not be padded with whitespace"))
		case *lp == "":
			errs = append(errs, field.Required(p.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
		}
		const maxLocalhostProfileLength = 4095 // PATH_MAX - 1
		if lp != nil && len(*lp) > maxLocalhostProfileLength {
			errs = append(errs, field.TooLong(p.Child("localhostProfile"), "", maxLocalhostProfileLength))
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if profile.LocalhostProfile != nil {
			errs = append(errs, field.Invalid(p.Child("localhostProfile"), profile.LocalhostProfile, "can only be set when AppArmor type is Localhost"))
		}
	case "":
		errs = append(errs, field.Required(p.Child("type"), "type is required when appArmorProfile is set"))
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), profile.Type, []corev1.AppArmorProfileType{corev1.AppArmorProfileTypeLocalhost,
			corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined}))
	}
	return errs
}

// The forms of a Windows user name kube's validation accepts.
var (
	ctrlChars              = regexp.MustCompile(`[[:cntrl:]]+`)
	netBiosDomain          = regexp.MustCompile(`^[^\\/:\*\?"<>|\.][^\\/:\*\?"<>|]{0,14}$`)
	dnsDomain              = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
	invalidUserNameChars   = regexp.MustCompile(`["/\\:;|=,\+\*\?<>@\[\]]`)
	onlyDotsOrSpaces       = regexp.MustCompile(`^[\. ]+$`)
	maxGMSACredentialSpec  = 64 * 1024
	maxWindowsDomainLength = 256
	maxWindowsUserLength   = 104
)

// validateWindowsOptions is kube's validateWindowsSecurityContextOptions.
func validateWindowsOptions(o *corev1.WindowsSecurityContextOptions, p *field.Path) field.ErrorList {
	if o == nil {
		return nil
	}
	var errs field.ErrorList
	if n := o.GMSACredentialSpecName; n != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*n) {
			errs = append(errs, field.Invalid(p.Child("gmsaCredentialSpecName"), n, msg))
		}
	}
	if c := o.GMSACredentialSpec; c != nil {
		if len(*c) == 0 {
			errs = append(errs, field.Invalid(p.Child("gmsaCredentialSpec"), c, "gmsaCredentialSpec cannot be an empty string"))
		} else if len(*c) > maxGMSACredentialSpec {
			errs = append(errs, field.Invalid(p.Child("gmsaCredentialSpec"), c, "gmsaCredentialSpec size must be under 64 KiB"))
		}
	}
	u := o.RunAsUserName
	if u == nil {
		return errs
	}
	up := p.Child("runAsUserName")
	parts := strings.Split(*u, "\\")
	switch {
	case *u == "":
		return append(errs, field.Invalid(up, u, "runAsUserName cannot be an empty string"))
	case ctrlChars.MatchString(*u):
		return append(errs, field.Invalid(up, u, "runAsUserName cannot contain control characters"))
	case len(parts) > 2:
		return append(errs, field.Invalid(up, u, "runAsUserName cannot contain more than one backslash"))
	}
	domain, user := "", parts[0]
	if len(parts) == 2 {
		domain, user = parts[0], parts[1]
	}
	if len(domain) >= maxWindowsDomainLength {
		errs = append(errs, field.Invalid(up, u, fmt.Sprintf("runAsUserName's Domain length must be under %d characters", maxWindowsDomainLength)))
	}
	if len(parts) == 2 && !netBiosDomain.MatchString(domain) && !dnsDomain.MatchString(domain) {
		errs = append(errs, field.Invalid(up, u, "runAsUserName's Domain doesn't match the NetBios nor the DNS format"))
	}
	if user == "" {
		errs = append(errs, field.Invalid(up, u, "runAsUserName's User cannot be empty"))
	} else if len(user) > maxWindowsUserLength {
		errs = append(errs, field.Invalid(up, u, fmt.Sprintf("runAsUserName's User length must not be longer than %d characters", maxWindowsUserLength)))
	}
	if onlyDotsOrSpaces.MatchString(user) {
		errs = append(errs, field.Invalid(up, u, `runAsUserName's User cannot contain only periods or spaces`))
	}
	if invalidUserNameChars.MatchString(user) {
		errs = append(errs, field.Invalid(up, u, `runAsUserName's User cannot contain the following characters: "/\:;|=,+*?<>@[]`))
	}
	return errs
}

// oneOf: v is one of valid (in kube's order), "" included.
func oneOf(v string, valid []string, p *field.Path) field.ErrorList {
	if slices.Contains(valid, v) {
		return nil
	}
	return field.ErrorList{field.NotSupported(p, v, valid)}
}

// securityRatchets are the options kube takes from the stored pod's spec
// (GetValidationOptionsFromPodSpecAndMeta), so that a pod stored under
// the old rules stays updatable: its host namespace sysctls, its
// CAP_SYS_ADMIN beside allowPrivilegeEscalation false.
func securityRatchets(opts *podValidationOptions, old *corev1.PodSpec) {
	if sc := old.SecurityContext; sc != nil {
		for _, s := range sc.Sysctls {
			opts.allowHostSysctls = opts.allowHostSysctls || hostSysctl(s.Name, old, nil) != nil
		}
	}
	scs := make([]*corev1.SecurityContext, 0, len(old.Containers)+len(old.InitContainers)+len(old.EphemeralContainers))
	for _, list := range [][]corev1.Container{old.Containers, old.InitContainers} {
		for _, c := range list {
			scs = append(scs, c.SecurityContext)
		}
	}
	for _, c := range old.EphemeralContainers {
		scs = append(scs, c.SecurityContext)
	}
	for _, sc := range scs {
		if sc == nil || sc.Capabilities == nil || (sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation) {
			continue
		}
		opts.allowSysAdmin = opts.allowSysAdmin || slices.Contains(sc.Capabilities.Add, "CAP_SYS_ADMIN")
	}
}
