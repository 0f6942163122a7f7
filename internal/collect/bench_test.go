package collect_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// BenchmarkIngest measures sustained webhook deliveries per second and the
// answer latency (p50/p99) through the real server on each engine, with the
// job queue processing what arrives. Run:
//
//	go test -run XXX -bench Ingest -benchtime 3000x ./internal/collect
func BenchmarkIngest(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := backend.Open(b)
			h := newHarness(b, db)
			body := readSample(b, "git.pullrequest.updated.json")
			_, project := sampleProject(b, body)
			h.selectProject(project)
			const clients = 16
			var next atomic.Int64
			lat := make([]time.Duration, b.N)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						ev := bytes.Replace(body, []byte(`"id": "af07be1b`), []byte(fmt.Sprintf(`"id": "%08d`, i)), 1)
						req, _ := http.NewRequest("POST", h.srv.URL+"/v1/azure/webhook/merge-request", bytes.NewReader(ev))
						req.SetBasicAuth(h.key.IntegrationID, h.secret)
						t0 := time.Now()
						res, err := client.Do(req)
						if err != nil || res.StatusCode != 200 {
							b.Errorf("delivery %d: %v %v", i, res, err)
							return
						}
						res.Body.Close()
						lat[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
		})
	}
}
