package main

import (
	"flag"
	"os"
	"testing"
)

// parallelTests is how many of the tests that call t.Parallel run at once.
// Those are the long end-to-end ones (kill -9 mid-backfill, Chromium, the
// demo): they mostly wait on child processes, sockets and the browser, not
// on the CPU, so four at a time on two cores take about half the wall time
// of one after another. Tests that cannot share the machine (PostgreSQL
// restarted mid-run) stay sequential: Go runs the parallel ones only after
// every sequential top-level test has finished. An explicit -parallel wins.
const parallelTests = "4"

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		if err := flag.Set("test.parallel", parallelTests); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
