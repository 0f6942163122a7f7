package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// pandevBinary builds the real binary once per test run: chaos tests kill
// it with SIGKILL, which an in-process server cannot survive.
func pandevBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pandev-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "pandev")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is one `pandev serve` process.
type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServe(t *testing.T, bin string, env []string, addr string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), append(env, "PANDEV_ADDR="+addr, "PANDEV_LOG_LEVEL=info")...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr, logs: logs}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() { // the end of the server's log says why
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			t.Logf("server log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-120):], "\n"))
		}
	})
	if err := waitHealthy(context.Background(), p.url); err != nil {
		t.Fatalf("serve did not start: %v\n%s", err, logs.String())
	}
	return p
}

func runBin(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pandev %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// bearer calls the API with a token.
func bearer(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// backfillState reads the Azure DevOps backfill progress from the status API.
func backfillState(t *testing.T, p *proc, token string) (done, total int, fraction float64) {
	return backfillStateOf(t, p, token, "azure-devops")
}

// backfillStateOf reads a provider's backfill progress from the status API.
func backfillStateOf(t *testing.T, p *proc, token, provider string) (done, total int, fraction float64) {
	var st struct {
		SelectedProjects int `json:"selected_projects"`
		Backfill         []struct {
			Fraction float64 `json:"fraction"`
			Finished *string `json:"finished"`
		} `json:"backfill"`
	}
	bearer(t, "GET", p.url+"/api/v1/integrations/"+provider, token, nil, &st)
	for _, b := range st.Backfill {
		fraction += b.Fraction
		if b.Finished != nil {
			done++
		}
	}
	if st.SelectedProjects > 0 {
		fraction /= float64(st.SelectedProjects)
	}
	return done, st.SelectedProjects, fraction
}

// exportDigest is a digest of every collected row, from the CSV exports.
func exportDigest(t *testing.T, p *proc, token string) (string, map[string]int) {
	t.Helper()
	return exportDigestExcept(t, p, token, "")
}

// exportDigestExcept leaves out rows starting with skip (a repository the
// test wrote to itself); "" keeps every row.
func exportDigestExcept(t *testing.T, p *proc, token, skip string) (string, map[string]int) {
	t.Helper()
	h := sha256.New()
	counts := map[string]int{}
	for _, kind := range []string{"commits", "pull-requests", "pipeline-runs", "deployments", "work-items"} {
		req, _ := http.NewRequest("GET", p.url+"/api/v1/"+kind, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "text/csv")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if skip == "" || !strings.HasPrefix(sc.Text(), skip+",") {
				lines = append(lines, sc.Text())
			}
		}
		res.Body.Close()
		sort.Strings(lines)
		counts[kind] = len(lines) - 1
		fmt.Fprintln(h, kind, strings.Join(lines, "\n"))
	}
	return hex.EncodeToString(h.Sum(nil)), counts
}

// chaosSim starts a simulator whose own hook deliveries are dropped, so
// only what the test sends (or the backfill reads) is stored.
func chaosSim(t *testing.T, seed int64, profile string) *azdosim.Sim {
	t.Helper()
	sim, err := azdosim.New(azdosim.Options{Seed: seed, Profile: profile, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if err := sim.SetDeliveryMode("drop", nil); err != nil {
		t.Fatal(err)
	}
	return sim
}

// chaosEngine names a database for a chaos run: a SQLite file or a fresh
// PostgreSQL database on the shared test server.
type chaosEngine struct {
	name string
	dsn  func(t *testing.T) string
}

func chaosEngines() []chaosEngine {
	return []chaosEngine{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "pandev.db") }},
		{"postgres", func(t *testing.T) string { return storetest.NewPostgresDatabase(t) }},
	}
}

// chaosServer is a fresh `pandev serve` process with an admin token and
// the simulator activated; it returns what a restart needs and the ids of
// the projects the token sees.
type chaosServer struct {
	p        *proc
	env      []string
	addr     string
	token    string
	projects []string
}

// chaosJobTimeout is the served processes' job timeout. Short: the killed
// process's running jobs are rescued seconds, not minutes, later (River's
// rescuer looks every 30 s).
var chaosJobTimeout = "4s"

func newChaosServer(t *testing.T, bin string, sim *azdosim.Sim, dsn string) chaosServer {
	t.Helper()
	env := []string{"PANDEV_DB=" + dsn, "PANDEV_ALLOW_HOSTS=127.0.0.1:*", // the simulator
		"PANDEV_SECRET_KEY=Y2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtMTI=", "PANDEV_JOB_TIMEOUT=" + chaosJobTimeout}
	runBin(t, bin, env, "admin", "create", "--email", "admin@example.com", "--password", pw)
	cs := chaosServer{env: env, addr: freeAddr(t),
		token: runBin(t, bin, env, "token", "create", "--email", "admin@example.com", "--name", "chaos")}
	cs.p = startServe(t, bin, env, cs.addr)
	if code := bearer(t, "POST", cs.p.url+"/api/v1/integrations/azure-devops", cs.token,
		map[string]string{"org_url": sim.OrgURL(), "token": sim.ManualPAT()}, nil); code != 201 {
		t.Fatalf("activate: %d\n%s", code, cs.p.logs.String())
	}
	var projects struct{ Projects []struct{ ID string } }
	bearer(t, "GET", cs.p.url+"/api/v1/integrations/azure-devops/projects", cs.token, nil, &projects)
	for _, pr := range projects.Projects {
		cs.projects = append(cs.projects, pr.ID)
	}
	return cs
}

// connectAndBackfill makes a fresh server, connects the simulator, selects
// every project; kill says at which share of the backfill to SIGKILL the
// server and start it again (0: never).
func connectAndBackfill(t *testing.T, bin string, sim *azdosim.Sim, dsn string, kill float64) (*proc, string) {
	t.Helper()
	cs := newChaosServer(t, bin, sim, dsn)
	p, token, env, addr, ids := cs.p, cs.token, cs.env, cs.addr, cs.projects
	if code := bearer(t, "PUT", p.url+"/api/v1/integrations/azure-devops/projects", token, map[string][]string{"selected": ids}, nil); code != 200 {
		t.Fatalf("select: %d", code)
	}
	if kill > 0 {
		waitFor(t, "the backfill to get under way", func() bool {
			_, _, f := backfillState(t, p, token)
			return f >= kill
		})
		done, total, f := backfillState(t, p, token)
		if done == total {
			t.Fatalf("the backfill finished before the kill (%.0f%%): slow the simulator down", f*100)
		}
		p.cmd.Process.Kill() // SIGKILL: no shutdown, no checkpoint flush
		p.cmd.Wait()
		t.Logf("killed at %.0f%% (%d/%d projects done)", f*100, done, total)
		p = startServe(t, bin, env, addr)
	}
	waitFor(t, "every project's backfill to finish", func() bool {
		done, total, _ := backfillState(t, p, token)
		return total > 0 && done == total
	})
	return p, token
}

// TestKillDuringBackfill: `kill -9` in the middle of a backfill, restart →
// the same rows as an uninterrupted backfill of the same organization,
// nothing duplicated.
func TestKillDuringBackfill(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	bin := pandevBinary(t)
	sim := chaosSim(t, 11, "medium") // only the backfill writes
	if err := sim.SetFaults(azdosim.FaultConfig{Latency: "5ms"}); err != nil {
		t.Fatal(err)
	}
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			clean, cleanToken := connectAndBackfill(t, bin, sim, eng.dsn(t), 0)
			want, wantCounts := exportDigest(t, clean, cleanToken)
			killed, killedToken := connectAndBackfill(t, bin, sim, eng.dsn(t), 0.3)
			got, gotCounts := exportDigest(t, killed, killedToken)
			t.Logf("rows: %v", gotCounts)
			if got != want {
				t.Fatalf("after kill -9 and restart the data differs from an uninterrupted backfill:\nclean  %v\nkilled %v", wantCounts, gotCounts)
			}
		})
	}
}

// TestKillDuringIngestBurst: `kill -9` while webhook deliveries pour in.
// Every delivery that was answered 200 is stored and processed after the
// restart; the sender retries the others (as Azure DevOps does); in the
// end each event is one row — none lost, none twice.
func TestKillDuringIngestBurst(t *testing.T) {
	t.Parallel() // a long end-to-end test: see parallel_test.go
	bin := pandevBinary(t)
	sim := chaosSim(t, 12, "small")
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) { killDuringIngestBurst(t, bin, sim, eng.dsn(t)) })
	}
}

// hookCredentials selects one project and returns it with the webhook
// credentials its service hooks were registered with.
func hookCredentials(t *testing.T, cs chaosServer, sim *azdosim.Sim) (project, user, pass string) {
	t.Helper()
	project = cs.projects[0]
	bearer(t, "PUT", cs.p.url+"/api/v1/integrations/azure-devops/projects", cs.token, map[string][]string{"selected": {project}}, nil)
	waitFor(t, "the service hooks", func() bool {
		for _, s := range simSubscriptions(t, sim) {
			// Another server of the same test may have hooks on the simulator.
			if s.PublisherInputs["projectId"] == project && strings.HasPrefix(s.ConsumerInputs["url"], cs.p.url) {
				user, pass = s.ConsumerInputs["basicAuthUsername"], s.ConsumerInputs["basicAuthPassword"]
				return true
			}
		}
		return false
	})
	return project, user, pass
}

// burstEvent is delivery i of a burst: a push of one commit to burst-repo.
func burstEvent(project string, i int) []byte {
	return []byte(fmt.Sprintf(`{"id":"burst-%d","eventType":"git.push","publisherId":"tfs","createdDate":"2026-11-01T00:00:00Z",`+
		`"resourceContainers":{"project":{"id":%q}},"resource":{"repository":{"id":"burst-repo","name":"burst","project":{"id":%q}},`+
		`"commits":[{"commitId":"%040d","author":{"name":"A","email":"a@x","date":"2026-11-01T00:00:00Z"},`+
		`"committer":{"name":"A","email":"a@x","date":"2026-11-01T00:00:00Z"},"comment":"burst %d"}]}}`, i, project, project, i, i))
}

// burstCommits counts the commits stored in the burst's repository (the
// backfill stores the project's own history too).
func burstCommits(t *testing.T, p *proc, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+"/api/v1/commits?repository=burst-repo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := 0
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "burst-repo,") {
			lines++
		}
	}
	return lines
}

func killDuringIngestBurst(t *testing.T, bin string, sim *azdosim.Sim, dsn string) {
	cs := newChaosServer(t, bin, sim, dsn)
	p, token, env, addr := cs.p, cs.token, cs.env, cs.addr
	project, user, pass := hookCredentials(t, cs, sim)

	const n = 1500
	body := func(i int) []byte { return burstEvent(project, i) }
	acked := make([]bool, n)
	var mu sync.Mutex
	send := func(url string, todo []int, stopAfter int) {
		var wg sync.WaitGroup
		next := make(chan int)
		var count int
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					req, _ := http.NewRequest("POST", url+"/v1/azure/webhook/project", strings.NewReader(string(body(i))))
					req.SetBasicAuth(user, pass)
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						continue // the server died: the sender retries later
					}
					res.Body.Close()
					if res.StatusCode == 200 {
						mu.Lock()
						acked[i] = true
						count++
						if stopAfter > 0 && count == stopAfter {
							p.cmd.Process.Kill() // SIGKILL in the middle of the burst
						}
						mu.Unlock()
					}
				}
			}()
		}
		for _, i := range todo {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	send(p.url, all, n/3)
	p.cmd.Wait()
	mu.Lock()
	ackedBefore := 0
	var retry []int
	for i, ok := range acked {
		if ok {
			ackedBefore++
		} else {
			retry = append(retry, i)
		}
	}
	mu.Unlock()
	t.Logf("killed after %d of %d deliveries were answered 200", ackedBefore, n)
	if ackedBefore == n {
		t.Fatal("the burst finished before the kill")
	}
	p = startServe(t, bin, env, addr)
	send(p.url, append(retry, 0, 1, 2), 0) // the unanswered ones, and three duplicates
	waitFor(t, "every event to be stored once", func() bool { return burstCommits(t, p, token) >= n })
	if got := burstCommits(t, p, token); got != n {
		t.Fatalf("%d commits stored for %d events", got, n)
	}
}
