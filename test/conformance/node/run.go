package main

// Running a Job's pods. kube's Job and CronJob specs make pods whose one
// container runs a shell script (or /bin/false) that exits with a code
// the spec chooses (exit 1, exit 0, fail on odd indexes, fail the first
// time and leave a marker file on a volume, ...) or that never ends (the
// pause image), and wait for kube-controller-manager's job controller to
// count them. The stand-in runs such a script with this machine's bash
// (a program with itself), the container's environment (values and the
// pod's labels and annotations through the downward API) and its volumes
// as folders under the stand-in's own (emptyDir per pod, hostPath per
// node), then reports the container terminated with its exit code: the
// pod Succeeded or Failed, or, restarting OnFailure, the container run
// again. Only pods a Job owns are run: other specs' pods keep running as
// before.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// runner runs the containers of Job pods, one process per pod.
type runner struct {
	client kubernetes.Interface
	root   string // the volumes' folders

	mu      sync.Mutex
	running map[string]*process // by pod UID
}

// process is a pod's script: running until done.
type process struct {
	cancel      context.CancelFunc // kills it
	pid         int                // its process group while it runs
	terminating bool               // the pod is being deleted: SIGTERM sent
	done        bool
}

// command is what pod's container runs, if the stand-in can run it: a
// script given to sh -c (run by bash, for the [[ ]] kube's scripts use),
// a program this machine has (/bin/false), or nothing (the image's own
// command, taken as exiting 0); never the pause image's, which does not
// end (ok false).
func command(pod *corev1.Pod) (argv []string, ok bool) {
	if len(pod.Spec.Containers) != 1 || len(pod.Spec.InitContainers) > 0 {
		return nil, false
	}
	c := pod.Spec.Containers[0]
	argv = append(append([]string{}, c.Command...), c.Args...)
	switch {
	case strings.Contains(c.Image, "/pause:"):
		return nil, false
	case len(argv) == 0:
		return []string{"true"}, true
	case len(argv) == 3 && (argv[0] == "sh" || argv[0] == "/bin/sh") && argv[1] == "-c":
		return []string{"bash", "-c", argv[2]}, true
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, false
	}
	return argv, true
}

func ownedByJob(pod *corev1.Pod) bool {
	for _, o := range pod.OwnerReferences {
		if o.Kind == "Job" && o.APIVersion == "batch/v1" {
			return true
		}
	}
	return false
}

// start runs pod's script unless it ran already.
func (r *runner) start(ctx context.Context, pod *corev1.Pod) {
	argv, ok := command(pod)
	if !ok || !ownedByJob(pod) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.running[string(pod.UID)]; ok {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &process{cancel: cancel}
	r.running[string(pod.UID)] = p
	go func() {
		defer cancel()
		r.run(ctx, pod, argv, p)
		r.mu.Lock()
		p.done = true
		r.mu.Unlock()
	}()
}

// terminate stops pod's script as a kubelet stops a container: SIGTERM,
// then SIGKILL once the pod's grace period has passed. It reports whether
// the script was still running (its exit will end the pod).
func (r *runner) terminate(pod *corev1.Pod) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.running[string(pod.UID)]
	if !ok || p.done || p.pid == 0 {
		return false
	}
	if !p.terminating {
		p.terminating = true
		syscall.Kill(-p.pid, syscall.SIGTERM)
		grace := time.Duration(ptrOr(pod.DeletionGracePeriodSeconds, 30)) * time.Second
		time.AfterFunc(grace, p.cancel)
	}
	return true
}

func ptrOr[T any](p *T, v T) T {
	if p == nil {
		return v
	}
	return *p
}

// run runs the script until it exits 0, or once for a pod that does not
// restart OnFailure, reporting each exit.
func (r *runner) run(ctx context.Context, pod *corev1.Pod, argv []string, p *process) {
	c := pod.Spec.Containers[0]
	mounts, err := r.volumes(pod)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pod %s/%s: %v\n", pod.Namespace, pod.Name, err)
		return
	}
	for _, m := range c.VolumeMounts {
		if dir, ok := mounts[m.Name]; ok {
			for i := range argv {
				argv[i] = strings.ReplaceAll(argv[i], m.MountPath, dir)
			}
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=/tmp"}
	for _, e := range c.Env {
		env = append(env, e.Name+"="+envValue(pod, e))
	}
	for restarts := int32(0); ; restarts++ {
		started := metav1.Now()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = env
		// The script's children (a sleep) go with it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		r.mu.Lock()
		err := cmd.Start()
		if err == nil {
			p.pid = cmd.Process.Pid
		}
		r.mu.Unlock()
		if err == nil {
			err = cmd.Wait()
		}
		r.mu.Lock()
		p.pid = 0 // exited: a deletion from now on is the pod's alone
		r.mu.Unlock()
		code := 0
		if err != nil {
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				fmt.Fprintf(os.Stderr, "pod %s/%s: %v\n", pod.Namespace, pod.Name, err)
				return
			}
			code = exit.ExitCode()
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal()) // as a container runtime reports a kill
			}
		}
		r.mu.Lock()
		terminating := p.terminating
		r.mu.Unlock()
		if ctx.Err() != nil && !terminating {
			return // the stand-in is stopping
		}
		again := code != 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && !terminating
		if err := r.report(context.WithoutCancel(ctx), pod, started, int32(code), restarts, again); err != nil {
			fmt.Fprintf(os.Stderr, "pod %s/%s: %v\n", pod.Namespace, pod.Name, err)
			return
		}
		if !again {
			return
		}
	}
}

// volumes makes the folders of pod's emptyDir and hostPath volumes.
func (r *runner) volumes(pod *corev1.Pod) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		var dir string
		switch {
		case v.EmptyDir != nil:
			dir = filepath.Join(r.root, "pods", string(pod.UID), v.Name)
		case v.HostPath != nil:
			dir = filepath.Join(r.root, "nodes", pod.Spec.NodeName, filepath.Clean("/"+v.HostPath.Path))
		default:
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		out[v.Name] = dir
	}
	return out, nil
}

var fieldRefKey = regexp.MustCompile(`^metadata\.(labels|annotations)\['(.+)'\]$`)

// envValue is e's value in pod: its own, or what its field reference
// names of the pod.
func envValue(pod *corev1.Pod, e corev1.EnvVar) string {
	if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil {
		return e.Value
	}
	return fieldValue(pod, e.ValueFrom.FieldRef.FieldPath)
}

// fieldValue is what a downward API field path names of pod.
func fieldValue(pod *corev1.Pod, path string) string {
	switch path {
	case "metadata.name":
		return pod.Name
	case "metadata.namespace":
		return pod.Namespace
	case "spec.nodeName":
		return pod.Spec.NodeName
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName
	case "status.podIP":
		return pod.Status.PodIP
	default:
		if m := fieldRefKey.FindStringSubmatch(path); m != nil {
			if m[1] == "labels" {
				return pod.Labels[m[2]]
			}
			return pod.Annotations[m[2]]
		}
	}
	return ""
}

// report writes the container's exit into pod's status: terminated with
// code, and the pod Succeeded or Failed; or, when it restarts, running
// again with the exit as its last state.
func (r *runner) report(ctx context.Context, pod *corev1.Pod, started metav1.Time, code, restarts int32, again bool) error {
	pods := r.client.CoreV1().Pods(pod.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.UID != pod.UID || len(p.Status.ContainerStatuses) != 1 {
			return nil
		}
		now := metav1.NewTime(time.Now())
		reason := "Completed"
		if code != 0 {
			reason = "Error"
		}
		s := &p.Status.ContainerStatuses[0]
		exit := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason,
			StartedAt: started, FinishedAt: now, ContainerID: s.ContainerID}}
		if again {
			s.LastTerminationState, s.RestartCount = exit, restarts+1
			s.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
			_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		}
		s.State, s.Ready, s.Started = exit, false, ptr(false)
		p.Status.Phase = corev1.PodSucceeded
		if code != 0 {
			p.Status.Phase = corev1.PodFailed
		}
		for i, c := range p.Status.Conditions {
			if c.Type == corev1.ContainersReady || c.Type == corev1.PodReady || c.Type == corev1.PodReadyToStartContainers {
				p.Status.Conditions[i].Status, p.Status.Conditions[i].LastTransitionTime = corev1.ConditionFalse, now
				if c.Type != corev1.PodReadyToStartContainers {
					p.Status.Conditions[i].Reason = "PodCompleted"
				}
			}
		}
		_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
}
