package main

import (
	"context"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/azdosim"
)

// TestServerReleasesAndVirtualDirectories connects Azure DevOps Server
// 2019, 2020 and 2022, each at the host root and under an IIS virtual
// directory other than tfs (https://host/devops/<collection>), with the
// manual's four-scope PAT, exactly as an admin types the URL: Check
// connection names the release, the stored URL keeps the collection after
// the directory, a project's backfill completes and collects commits, and
// the status lists what the missing scopes leave out: on 2019 environments
// do not exist, so only Release: Read is missing of the optional ones, and
// 2019 and 2020 accept only Code: Read & write for posting PR comments
// (their specs), so there the check is amber and Activate asks to confirm.
func TestServerReleasesAndVirtualDirectories(t *testing.T) {
	for _, version := range []string{"2019", "2020", "2022"} {
		for _, vdir := range []string{"", "devops"} {
			name := version + "/root"
			if vdir != "" {
				name = version + "/" + vdir
			}
			t.Run(name, func(t *testing.T) {
				sim, err := azdosim.New(azdosim.Options{Seed: 7, Profile: "small", Mode: "server", ServerVersion: version,
					VirtualDir: vdir, Addr: "127.0.0.1:0"})
				if err != nil {
					t.Fatal(err)
				}
				if err := sim.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { sim.Close() })
				if vdir != "" && !strings.Contains(sim.OrgURL(), "/"+vdir+"/") {
					t.Fatalf("simulator URL %s lacks the directory", sim.OrgURL())
				}
				r, b := adminSession(t)
				var res checkResult
				if code := b.api("POST", integrationAPI+"/check", map[string]string{"org_url": sim.OrgURL(), "token": sim.ManualPAT()}, &res); code != 200 || !res.OK {
					t.Fatalf("check: %d %+v", code, res)
				}
				oldServer := version == "2019" || version == "2020"
				wantLevel, wantState := "ok", "connected"
				if oldServer {
					wantLevel, wantState = "limited", "limited"
				}
				if res.Deployment != "Azure DevOps Server "+version || res.OrgURL != sim.OrgURL() || res.Level != wantLevel {
					t.Fatalf("check says %q at %s (level %s), want Azure DevOps Server %s at %s (%s)", res.Deployment, res.OrgURL, res.Level, version, sim.OrgURL(), wantLevel)
				}
				for _, sc := range res.Scopes {
					if sc.Scope == "pr_threads_read_write" && oldServer && (sc.OK || !strings.Contains(sc.Fix, "Code: Read & write")) {
						t.Fatalf("Server %s: threads %+v, want missing with the Code: Read & write fix", version, sc)
					}
				}
				var st struct {
					integrationStatus
					Limited []struct{ Code, Message string } `json:"limited"`
				}
				activate := map[string]any{"org_url": sim.OrgURL(), "token": sim.ManualPAT()}
				if oldServer {
					var e errorBody
					if code := b.api("POST", integrationAPI, activate, &e); code != 409 || !strings.Contains(e.Error.Message, "Pull Request Threads") {
						t.Fatalf("activate without confirmation: %d %+v", code, e)
					}
					activate["confirm_limited"] = true
				}
				if code := b.api("POST", integrationAPI, activate, &st); code != 201 {
					t.Fatalf("activate: %d", code)
				}
				if st.OrgURL != sim.OrgURL() {
					t.Fatalf("stored URL %s, want %s", st.OrgURL, sim.OrgURL())
				}
				b.api("PUT", integrationAPI+"/projects", map[string][]string{"selected": {st.Projects[0].ID}}, &st)
				waitJobs(t, r, "backfill", 1)
				b.api("GET", integrationAPI, nil, &st)
				if st.State != wantState {
					t.Fatalf("state %q after the backfill, want %q: %+v", st.State, wantState, st.Limited)
				}
				var optional []string
				for _, l := range st.Limited {
					optional = append(optional, strings.SplitN(l.Message, ":", 2)[0])
				}
				want := "Environment,Release"
				switch version {
				case "2019":
					want = "Pull Request Threads,Release" // no environments on Server 2019: nothing to miss
				case "2020":
					want = "Pull Request Threads,Environment,Release"
				}
				if got := strings.Join(optional, ","); got != want {
					t.Errorf("limited %q, want %q", got, want)
				}
				if n := countRows(t, r.db, integrationKey(t, r), "commits"); n == 0 {
					t.Error("no commits collected")
				}
			})
		}
	}
}
