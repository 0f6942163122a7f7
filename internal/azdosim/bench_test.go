package azdosim

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"
)

// BenchmarkGenerate measures organization generation per profile:
//
//	go test ./internal/azdosim/ -run '^$' -bench Generate -benchtime 1x
func BenchmarkGenerate(b *testing.B) {
	for _, name := range []string{"small", "medium", "large"} {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				o := generate(42, profiles[name], fixedNow, "services")
				if len(o.projects) == 0 {
					b.Fatal("empty")
				}
			}
		})
	}
}

var largeSim *Sim

// largeOnce shares one large organization between benchmarks (generation takes seconds).
func largeOnce(b *testing.B) *Sim {
	if largeSim == nil {
		s, err := New(Options{Seed: 42, Profile: "large", Now: func() time.Time { return fixedNow }})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		// Benchmarks measure the simulator, not the TSTU budget.
		s.limiter.set(RateLimitConfig{Limit: 0})
		largeSim = s
	}
	return largeSim
}

// BenchmarkListPage measures list-page latency over HTTP on the large profile (1M commits,
// 200k PRs, 100k runs) and reports the median:
//
//	go test ./internal/azdosim/ -run '^$' -bench ListPage -benchtime 200x
func BenchmarkListPage(b *testing.B) {
	if testing.Short() {
		b.Skip("large profile")
	}
	sim := largeOnce(b)
	p := sim.org.projects[3]
	r := p.repos[2]
	base := sim.OrgURL() + "/" + p.ID
	pages := map[string]string{
		"commits":      base + "/_apis/git/repositories/" + r.ID + "/commits?api-version=7.1&searchCriteria.$top=100&searchCriteria.$skip=5000",
		"commitsDate":  base + "/_apis/git/repositories/" + r.ID + "/commits?api-version=7.1&searchCriteria.$top=100&searchCriteria.fromDate=2026-02-01T00:00:00Z&searchCriteria.toDate=2026-02-10T00:00:00Z",
		"pullRequests": base + "/_apis/git/repositories/" + r.ID + "/pullRequests?api-version=7.1&searchCriteria.status=all&$top=100&$skip=500",
		"prsByProject": base + "/_apis/git/pullRequests?api-version=7.1&searchCriteria.status=completed&$top=100",
		"builds":       base + "/_apis/build/builds?api-version=7.1&$top=100&queryOrder=finishTimeDescending",
		"deployments":  sim.ReleaseURL() + "/" + p.ID + "/_apis/release/deployments?api-version=7.1&$top=100",
		"projects":     sim.OrgURL() + "/_apis/projects?api-version=7.1",
	}
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	sort.Strings(names)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+sim.FullPAT()))
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				req, _ := http.NewRequest("GET", pages[name], nil)
				req.Header.Set("Authorization", auth)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", name, resp.StatusCode)
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if largeSim != nil {
		largeSim.Close()
	}
	os.Exit(code)
}
