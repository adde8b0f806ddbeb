package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runStart measures the start-up of kapi with its embedded etcd, as a
// process (the benchmark's binary re-executed as kapi, the same code as
// the kapi binary): from exec to /readyz = 200, with an empty data folder
// and again on the folder that start filled, cfg.Starts times each.
func runStart(ctx context.Context, cfg Config, out io.Writer) error {
	dir, err := os.MkdirTemp("", "kapi-bench-start-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var first, again []time.Duration
	for i := range cfg.Starts {
		data := filepath.Join(dir, strconv.Itoa(i))
		for _, into := range []*[]time.Duration{&first, &again} {
			d, err := timeStart(ctx, data)
			if err != nil {
				return err
			}
			*into = append(*into, d)
		}
	}
	fmt.Fprintf(out, "kapi with its embedded etcd, exec to /readyz = 200, %d starts each (kube-apiserver: 1.3-2.6 s, plus its etcd)\n", cfg.Starts)
	fmt.Fprintf(out, "  empty data folder:  %s   goal < 300 ms\n", summary(first))
	fmt.Fprintf(out, "  restart:            %s\n", summary(again))
	return nil
}

// timeStart starts a kapi child on data and returns the time to its first
// /readyz = 200, asked every millisecond; the child is stopped after.
func timeStart(ctx context.Context, data string) (time.Duration, error) {
	port, _ := strconv.Atoi(strings.Split(freeAddr(), ":")[1])
	url := "https://127.0.0.1:" + strconv.Itoa(port) + "/readyz"
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer hc.CloseIdleConnections()
	start := time.Now()
	c, err := spawn(ctx, "kapi", "--child", "kapi", "--dir", data, "--port", strconv.Itoa(port))
	if err != nil {
		return 0, err
	}
	defer c.stop()
	for time.Since(start) < time.Minute {
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("kapi on %s was not ready within a minute", data)
}

// summary is the median and range of ds.
func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("median %s (%s-%s)", ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]))
}
