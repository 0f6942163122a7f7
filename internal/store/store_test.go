package store_test

import (
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

func TestConformance(t *testing.T) { storetest.RunConformance(t) }

func TestParseDSN(t *testing.T) {
	cases := []struct {
		name, in    string
		dialect     store.Dialect
		target      string
		errContains string
	}{
		{name: "empty is ./pandev.db", in: "", dialect: store.SQLite, target: "pandev.db"},
		{name: "file path", in: "/var/lib/pandev/p.db", dialect: store.SQLite, target: "/var/lib/pandev/p.db"},
		{name: "sqlite prefix", in: "sqlite:data/p.db", dialect: store.SQLite, target: "data/p.db"},
		{name: "file prefix with params", in: "file:p.db?mode=rwc", dialect: store.SQLite, target: "p.db"},
		{name: "postgres", in: "postgres://u@h/db", dialect: store.Postgres, target: "postgres://u@h/db"},
		{name: "postgresql", in: "postgresql://u@h/db", dialect: store.Postgres, target: "postgresql://u@h/db"},
		{name: "mysql refused", in: "mysql://u@h/db", errContains: `unsupported scheme "mysql"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, target, err := store.ParseDSN(c.in)
			if c.errContains != "" {
				if err == nil || !strings.Contains(err.Error(), c.errContains) {
					t.Fatalf("want error containing %q, got %v", c.errContains, err)
				}
				return
			}
			if err != nil || d != c.dialect || target != c.target {
				t.Fatalf("got (%v, %q, %v), want (%v, %q)", d, target, err, c.dialect, c.target)
			}
		})
	}
}
