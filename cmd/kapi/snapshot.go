package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"kapi/internal/server"
	"kapi/internal/storage/embedded"
)

// runSnapshot is `kapi etcd-snapshot save|restore`, as k3s's: save asks
// the embedded etcd of a running kapi for a snapshot; restore replaces
// the embedded etcd's data of a stopped kapi with one. It returns the exit
// code.
func runSnapshot(args []string, out, errOut io.Writer) int {
	fs := pflag.NewFlagSet("kapi etcd-snapshot", pflag.ContinueOnError)
	fs.SetOutput(errOut)
	dataDir := fs.String("data-dir", server.Defaults().DataDir, "kapi's data folder.")
	fs.Usage = func() {
		fmt.Fprintf(errOut, `Usage:
  kapi etcd-snapshot save [FILE]       a snapshot of a running kapi's embedded etcd
                                      (default FILE: <data-dir>/snapshots/%s)
  kapi etcd-snapshot restore FILE     the embedded etcd's data made from FILE, with
                                      kapi stopped; the old data is kept beside it

%s`, server.SnapshotName(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)), fs.FlagUsages())
	}
	if err := fs.Parse(args); errors.Is(err, pflag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(errOut, "kapi etcd-snapshot:", err)
		return 1
	}
	switch {
	case fs.NArg() >= 1 && fs.NArg() <= 2 && fs.Arg(0) == "save":
		file := fs.Arg(1)
		if file == "" {
			file = filepath.Join(*dataDir, "snapshots", server.SnapshotName(time.Now()))
		}
		n, err := saveSnapshot(*dataDir, file)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(out, "saved a snapshot of %d bytes to %s\n", n, file)
		return 0
	case fs.NArg() == 2 && fs.Arg(0) == "restore":
		if c, url, err := runningEtcd(*dataDir); err == nil {
			c.Close()
			return fail(fmt.Errorf("kapi is running on %s (its etcd answers at %s): stop it first", *dataDir, url))
		}
		kept, err := embedded.RestoreSnapshot(fs.Arg(1), filepath.Join(*dataDir, "etcd"))
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(out, "restored %s into %s\n", fs.Arg(1), filepath.Join(*dataDir, "etcd"))
		if kept != "" {
			fmt.Fprintf(out, "the data it replaced is kept in %s\n", kept)
		}
		return 0
	}
	fs.Usage()
	return 2
}

// runningEtcd is a client of the embedded etcd of the kapi running on
// dataDir, and its URL, if it answers; the caller closes the client.
func runningEtcd(dataDir string) (*clientv3.Client, string, error) {
	b, err := os.ReadFile(server.EtcdURLFile(dataDir))
	if err != nil {
		return nil, "", fmt.Errorf("no kapi is running on %s", dataDir)
	}
	url := strings.TrimSpace(string(b))
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, "health-check-kapi", clientv3.WithCountOnly()); err != nil {
		c.Close()
		return nil, "", fmt.Errorf("the etcd of the kapi on %s does not answer at %s: %w", dataDir, url, err)
	}
	return c, url, nil
}

func saveSnapshot(dataDir, file string) (int64, error) {
	c, _, err := runningEtcd(dataDir)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return embedded.SaveSnapshot(context.Background(), c, file)
}
