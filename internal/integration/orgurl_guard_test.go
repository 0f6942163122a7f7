package integration_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/integration"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestCheckRefusesUnsafeOrganizationURLs: Check connection against the
// real simulator (https, self-signed) under the production default
// (nothing listed) answers bad input naming the problem and the fix, for
// plain http, a loopback address typed and a name resolving to loopback;
// with the simulator listed, the same check connects.
func TestCheckRefusesUnsafeOrganizationURLs(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	sim, err := azdosim.New(azdosim.Options{Seed: 3, Profile: "small", Addr: "127.0.0.1:0", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	newSvc := func(p netguard.Policy) *integration.Service {
		return integration.New(integration.Options{DB: db, Keys: nil, Queue: &noQueue{}, AllowHosts: p, HTTPClient: sim.HTTPClient(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "https://pandev.example.com"})
	}
	strict := newSvc(netguard.Policy{})
	org := sim.OrgURL() // https://127.0.0.1:<port>/<org>
	hostPort := strings.Split(strings.TrimPrefix(org, "https://"), "/")[0]
	port := hostPort[strings.LastIndex(hostPort, ":")+1:]
	cases := []struct{ name, url, message, hint string }{
		{"plain http", strings.Replace(org, "https://", "http://", 1), "Organization URL must use https — http://" + hostPort + " would send the token unencrypted",
			"ask the operator to add " + hostPort + " to PANDEV_ALLOW_HOSTS"},
		{"loopback address", org, "Organization URL points at 127.0.0.1, a loopback address: PanDev Metrics does not send the token there",
			"add " + hostPort + " to PANDEV_ALLOW_HOSTS"},
		{"name resolving to loopback", strings.Replace(org, "127.0.0.1", "localhost", 1), "Organization URL's host localhost resolves to",
			"add localhost:" + port + " to PANDEV_ALLOW_HOSTS"},
		{"metadata service", "http://169.254.169.254/latest/meta-data", "Organization URL must use https", "PANDEV_ALLOW_HOSTS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := strict.Check(ctx, c.url, sim.ManualPAT())
			var de *delivery.Error
			if !errors.As(err, &de) || de.Kind != delivery.KindInvalid || !strings.HasPrefix(de.Message, c.message) || !strings.Contains(de.Hint, c.hint) {
				t.Fatalf("Check(%s) = %v (hint %q); want invalid %q, hint with %q", c.url, err, hintOf(err), c.message, c.hint)
			}
			if strings.Contains(err.Error(), sim.ManualPAT()) {
				t.Fatal("the error holds the token")
			}
		})
	}
	res, err := newSvc(netguard.MustParse("127.0.0.1:*")).Check(ctx, org, sim.ManualPAT())
	if err != nil || !res.OK {
		t.Fatalf("listed simulator: %+v, %v", res, err)
	}
}

func hintOf(err error) string {
	var de *delivery.Error
	if errors.As(err, &de) {
		return de.Hint
	}
	return ""
}
