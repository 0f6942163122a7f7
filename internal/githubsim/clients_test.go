package githubsim

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// needTool finds an independent client: it skips locally when missing and fails in CI, where
// .ci/run installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " is not installed (.ci/run installs it: apt-get install -y gh; node comes with npm)"
	if os.Getenv("CI") == "true" || os.Getenv("PANDEV_TEST_GITHUB_SPECS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// truthNumbers is the ground truth's pull request numbers of a repository, sorted.
func truthNumbers(s *Sim, full string) []int {
	var out []int
	for _, r := range s.Truth() {
		if r.FullName == full {
			for _, p := range r.Pulls {
				out = append(out, p.Number)
			}
		}
	}
	sort.Ints(out)
	return out
}

func writeCert(t *testing.T, s *Sim) string {
	p := filepath.Join(t.TempDir(), "sim.pem")
	if err := os.WriteFile(p, s.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The official CLI, as an Enterprise Server host over the simulator's TLS
// (../shared/github/README.md): gh api --paginate follows the Link headers.
func TestGHCLIAgainstTheSimulator(t *testing.T) {
	gh := needTool(t, "gh")
	s := startSim(t, Options{Seed: 5, TLS: true})
	cert := writeCert(t, s)
	host := "localhost:" + s.Host()[strings.LastIndex(s.Host(), ":")+1:]
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(gh, args...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "GH_HOST=" + host, "GH_ENTERPRISE_TOKEN=" + s.Token(),
			"SSL_CERT_FILE=" + cert, "GH_NO_UPDATE_NOTIFIER=1", "GH_PROMPT_DISABLED=1", "NO_COLOR=1"}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("gh %v: %v: %s", args, err, errb.String())
		}
		return out.Bytes()
	}
	var me struct{ Login string }
	if err := json.Unmarshal(run("api", "/user"), &me); err != nil || me.Login != "octo-admin" {
		t.Fatalf("gh api /user: %v %q", err, me.Login)
	}
	for _, full := range s.Repos() {
		out := run("api", "--paginate", "/repos/"+full+"/pulls?state=all&per_page=20") // gh asks per_page=100 unless told
		// --paginate prints each page's array in turn.
		dec := json.NewDecoder(bytes.NewReader(out))
		var got []int
		pages := 0
		for {
			var page []struct{ Number int }
			if err := dec.Decode(&page); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("gh output: %v", err)
			}
			pages++
			for _, p := range page {
				got = append(got, p.Number)
			}
		}
		sort.Ints(got)
		want := truthNumbers(s, full)
		if pages < 2 || !equalInts(got, want) {
			t.Errorf("%s: gh walked %d pages, %d pull requests; truth has %d", full, pages, len(got), len(want))
		}
	}
}

// The official JavaScript client: octokit.paginate over the pull requests equals ground truth.
func TestOctokitRestAgainstTheSimulator(t *testing.T) {
	dir := npmDir(t)
	node := needTool(t, "node")
	s := startSim(t, Options{Seed: 6, TLS: true})
	cert := writeCert(t, s)
	entry := filepath.Join(dir, "@octokit", "rest", "dist-src", "index.js")
	full := s.Repos()[1]
	owner, repo, _ := strings.Cut(full, "/")
	script := `
const { Octokit } = await import(process.env.OCTOKIT_ENTRY);
const octokit = new Octokit({ auth: process.env.TOKEN, baseUrl: process.env.BASE });
const me = await octokit.rest.users.getAuthenticated();
const pulls = await octokit.paginate(octokit.rest.pulls.list, { owner: process.env.OWNER, repo: process.env.REPO, state: "all", per_page: 25 });
const runs = await octokit.paginate(octokit.rest.actions.listWorkflowRunsForRepo, { owner: process.env.OWNER, repo: process.env.REPO, per_page: 100 });
console.log(JSON.stringify({ login: me.data.login, pulls: pulls.map(p => p.number), runs: runs.length }));
`
	for _, base := range []string{s.URL(), s.EnterpriseURL()} {
		cmd := exec.Command(node, "--input-type=module", "-e", script)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NODE_EXTRA_CA_CERTS=" + cert, "OCTOKIT_ENTRY=" + entry,
			"TOKEN=" + s.Token(), "BASE=" + base, "OWNER=" + owner, "REPO=" + repo}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("node (%s): %v: %s", base, err, errb.String())
		}
		var got struct {
			Login string
			Pulls []int
			Runs  int
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("octokit output %q: %v", out.String(), err)
		}
		sort.Ints(got.Pulls)
		want := truthNumbers(s, full)
		if got.Login != "octo-admin" || !equalInts(got.Pulls, want) || got.Runs != s.Truth()[1].Runs {
			t.Errorf("%s: octokit got %s, %d pull requests (truth %d), %d runs (truth %d)", base, got.Login, len(got.Pulls), len(want), got.Runs, s.Truth()[1].Runs)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
