package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// pgServer is a PostgreSQL server of the test's own: initdb in a temporary
// folder, on a free port. Restarting it disturbs no other test, unlike the
// shared server every package's tests use at the same time.
type pgServer struct {
	bin, data, sock string
	port            int
	asPostgres      bool // running as root: the server runs as the postgres user
}

func privatePostgres(t *testing.T) *pgServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		if os.Getenv(storetest.RequirePostgresEnv) == "1" {
			t.Fatal("PostgreSQL required but pg_ctl not found under /usr/lib/postgresql/*/bin: apt-get install -y postgresql")
		}
		t.Skip("pg_ctl not found: install postgresql to run the PostgreSQL restart test")
	}
	dir, err := os.MkdirTemp("", "pandev-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &pgServer{bin: filepath.Dir(bins[len(bins)-1]), data: filepath.Join(dir, "data"), sock: dir, asPostgres: os.Geteuid() == 0}
	if s.asPostgres {
		if out, err := exec.Command("chown", "-R", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.run(t, "initdb", "-D", s.data, "-A", "trust", "-U", "postgres", "--no-sync")
	s.ctl(t, "start")
	t.Cleanup(func() {
		exec.Command("runuser", s.wrap("pg_ctl", "-D", s.data, "-m", "immediate", "stop")...).Run()
		if !s.asPostgres {
			exec.Command(filepath.Join(s.bin, "pg_ctl"), "-D", s.data, "-m", "immediate", "stop").Run()
		}
		os.RemoveAll(dir)
	})
	return s
}

// wrap is the argument list of runuser for a server binary.
func (s *pgServer) wrap(name string, args ...string) []string {
	return append([]string{"-u", "postgres", "--", filepath.Join(s.bin, name)}, args...)
}

func (s *pgServer) run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	if s.asPostgres {
		cmd = exec.Command("runuser", s.wrap(name, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// ctl starts or restarts the server; restart uses fast mode, which ends
// every session at once, as a crash or failover does for the clients.
func (s *pgServer) ctl(t *testing.T, action string) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", s.port, s.sock)
	s.run(t, "pg_ctl", "-D", s.data, "-o", opts, "-l", filepath.Join(s.sock, "log"), "-m", "fast", "-w", action)
}

// database creates a database and returns its URL.
func (s *pgServer) database(t *testing.T, name string) string {
	t.Helper()
	base := "postgres://postgres@127.0.0.1:" + strconv.Itoa(s.port)
	db, err := sql.Open("pgx", base+"/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return base + "/" + name + "?sslmode=disable"
}

// TestPostgresRestartMidRun: PostgreSQL restarts (every connection cut)
// while a backfill runs and webhook deliveries pour in. The server keeps
// running; deliveries refused meanwhile are retried by the sender, as
// Azure DevOps retries; in the end the backfill's rows equal an
// uninterrupted backfill of the same organization and every delivery is
// stored once.
func TestPostgresRestartMidRun(t *testing.T) {
	pg := privatePostgres(t)
	bin := pandevBinary(t)
	sim := chaosSim(t, 13, "medium")
	if err := sim.SetFaults(azdosim.FaultConfig{Latency: "5ms"}); err != nil {
		t.Fatal(err)
	}
	clean, cleanToken := connectAndBackfill(t, bin, sim, pg.database(t, "clean"), 0)
	want, wantCounts := exportDigest(t, clean, cleanToken)

	cs := newChaosServer(t, bin, sim, pg.database(t, "chaos"))
	p, token := cs.p, cs.token
	project, user, pass := hookCredentials(t, cs, sim)
	var rest []string
	for _, id := range cs.projects {
		if id != project {
			rest = append(rest, id)
		}
	}
	if code := bearer(t, "PUT", p.url+"/api/v1/integrations/azure-devops/projects", token,
		map[string][]string{"selected": append(rest, project)}, nil); code != 200 {
		t.Fatalf("select: %d", code)
	}

	// Deliveries from 4 senders that retry until answered 200, streaming
	// from before the restart until two seconds after it.
	var next, refused atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				for attempt := 0; ; attempt++ {
					req, _ := http.NewRequest("POST", p.url+"/v1/azure/webhook/project", strings.NewReader(string(burstEvent(project, i))))
					req.SetBasicAuth(user, pass)
					res, err := http.DefaultClient.Do(req)
					why := fmt.Sprint(err)
					if err == nil {
						b, _ := io.ReadAll(res.Body)
						res.Body.Close()
						if res.StatusCode == 200 {
							break
						}
						why = fmt.Sprintf("%d %s", res.StatusCode, b)
					}
					if refused.Add(1) == 1 {
						t.Logf("first refusal: %s", why)
					}
					if attempt > 200 {
						t.Errorf("delivery %d refused 200 times", i)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond) // a steady stream across the restart
			}
		}()
	}
	waitFor(t, "the backfill to get under way", func() bool {
		_, _, f := backfillState(t, p, token)
		return f >= 0.3
	})
	done, total, f := backfillState(t, p, token)
	if done == total {
		t.Fatalf("the backfill finished before the restart (%.0f%%)", f*100)
	}
	pg.ctl(t, "restart")
	t.Logf("PostgreSQL restarted at %.0f%% of the backfill", f*100)
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()
	n := int(next.Load())
	t.Logf("%d deliveries sent; refused and retried: %d", n, refused.Load())
	if refused.Load() == 0 {
		t.Error("no delivery was refused: the restart did not happen while they streamed")
	}

	waitFor(t, "every project's backfill to finish", func() bool {
		done, total, _ := backfillState(t, p, token)
		return total > 0 && done == total
	})
	waitFor(t, "every delivery to be stored", func() bool { return burstCommits(t, p, token) >= n })
	if got := burstCommits(t, p, token); got != n {
		t.Fatalf("%d commits stored for %d deliveries", got, n)
	}
	if p.cmd.ProcessState != nil {
		t.Fatalf("the server exited: %v\n%s", p.cmd.ProcessState, p.logs.String())
	}
	// The burst repository is not part of the organization; compare the rest.
	got, gotCounts := exportDigestExcept(t, p, token, "burst-repo")
	t.Logf("rows: %v", gotCounts)
	if got != want {
		t.Fatalf("after a PostgreSQL restart the data differs from an uninterrupted backfill:\nclean     %v\nrestarted %v", wantCounts, gotCounts)
	}
}
