package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"kapi/internal/registry/fieldtest"
)

// TestSecurityContextValidation: kube 1.37's checks of pod and container
// security contexts, message for message.
func TestSecurityContextValidation(t *testing.T) {
	sysctlRegex := `must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`
	for _, c := range []struct {
		name string
		mut  func(*corev1.Pod)
		want []string
	}{
		// The conformance test "Sysctls should reject invalid sysctls".
		{"sysctl names", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "foo-", Value: "bar"},
				{Name: "kernel.shmmax", Value: "100000000"}, {Name: "safe-and-unsafe", Value: "100000000"}, {Name: "bar..", Value: "42"},
				{Name: "kernel.shmmax", Value: "1"}, {Name: ""}}}
		}, []string{
			`spec.securityContext.sysctls[0].name: Invalid value: "foo-": ` + sysctlRegex,
			`spec.securityContext.sysctls[3].name: Invalid value: "bar..": ` + sysctlRegex,
			`spec.securityContext.sysctls[4].name: Duplicate value: "kernel.shmmax"`,
			`spec.securityContext.sysctls[5].name: Required value`,
		}},
		{"host namespaces' sysctls", func(p *corev1.Pod) {
			p.Spec.HostNetwork, p.Spec.HostIPC = true, true
			p.Spec.Containers[0].Ports[0].HostPort = 80
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_forward", Value: "1"}, {Name: "kernel.shmmax", Value: "1"}}}
		}, []string{
			`spec.securityContext.sysctls[0].name: Invalid value: "net.ipv4.ip_forward": may not be specified when 'hostNetwork' is true`,
			`spec.securityContext.sysctls[1].name: Invalid value: "kernel.shmmax": may not be specified when 'hostIPC' is true`,
		}},
		{"pod IDs and policies", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](-1), FSGroup: ptr.To[int64](1 << 40),
				SupplementalGroups: []int64{-2}, FSGroupChangePolicy: ptr.To[corev1.PodFSGroupChangePolicy]("Sometimes"),
				SupplementalGroupsPolicy: ptr.To[corev1.SupplementalGroupsPolicy]("")}
		}, []string{
			`spec.securityContext.fsGroup: Invalid value: 1099511627776: must be between 0 and 2147483647, inclusive`,
			`spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive`,
			`spec.securityContext.supplementalGroups[0]: Invalid value: -2: must be between 0 and 2147483647, inclusive`,
			`spec.securityContext.fsGroupChangePolicy: Unsupported value: "Sometimes": supported values: "Always", "OnRootMismatch"`,
			`spec.securityContext.supplementalGroupsPolicy: Unsupported value: "": supported values: "Merge", "Strict"`,
		}},
		{"profiles", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{
				SeccompProfile:  &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost},
				AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr.To(" x")}}
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
				SeccompProfile:  &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("../etc/x")},
				AppArmorProfile: &corev1.AppArmorProfile{}}
		}, []string{
			`spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "../etc/x": must not contain '..'`,
			`spec.containers[0].securityContext.appArmorProfile.type: Required value: type is required when appArmorProfile is set`,
			`spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost`,
			`spec.securityContext.appArmorProfile.localhostProfile: Invalid value: " x": must not be padded with whitespace`,
		}},
		{"container escalation", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Privileged: ptr.To(true),
				ProcMount: ptr.To(corev1.UnmaskedProcMount), RunAsGroup: ptr.To[int64](-5)}
		}, []string{
			`spec.containers[0].securityContext.runAsGroup: Invalid value: -5: must be between 0 and 2147483647, inclusive`,
			"spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`",
			"spec.containers[0].securityContext: Invalid value:",
		}},
		{"windows user", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To(`a\b\c`)}}
		}, []string{`spec.securityContext.windowsOptions.runAsUserName: Invalid value: "a\\b\\c": runAsUserName cannot contain more than one backslash`}},
		{"valid", func(p *corev1.Pod) {
			p.Spec.HostUsers = ptr.To(false)
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), Sysctls: []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ProcMount: ptr.To(corev1.UnmaskedProcMount), Privileged: ptr.To(true)}
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Split(fieldtest.Lines(create(podHooks, pod(c.mut))), "\n")
			if len(c.want) == 0 && got[0] == "" {
				return
			}
			ok := len(got) == len(c.want)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.HasPrefix(got[i], c.want[i])
			}
			if !ok {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
	// A pod stored with a host network sysctl stays updatable.
	stored := pod(func(p *corev1.Pod) {
		p.Spec.HostNetwork = true
		p.Spec.Containers[0].Ports[0].HostPort = 80
		p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_forward", Value: "1"}}}
	})
	podHooks.PrepareCreate(stored)
	labelled := stored.DeepCopy()
	labelled.Labels = map[string]string{"a": "b"}
	if errs := update(podHooks, labelled, stored); len(errs) > 0 {
		t.Errorf("an update of a pod stored with a host sysctl: %v", errs)
	}
}
