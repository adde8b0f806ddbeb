// Command kubectl is kubectl built from k8s.io/kubectl at the pinned
// version, so that the end-to-end tests drive a real kubectl without
// depending on the machine's.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
