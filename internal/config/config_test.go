package config

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Parse("serve", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DB != "" || c.ReconcileInterval != 15*time.Minute || c.BackfillDays != 30 || c.LogFormat != "text" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagBeatsEnvironment(t *testing.T) {
	c, err := Parse("serve", []string{"--addr", "127.0.0.1:9000"}, env(map[string]string{
		"PANDEV_ADDR": ":7000", "PANDEV_BACKFILL_DAYS": "7", "PANDEV_SECRET_KEY": "k",
		"PANDEV_PUBLIC_URL": "https://pandev.example.com/",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.BackfillDays != 7 || c.SecretKey != "k" || c.PublicURL != "https://pandev.example.com" {
		t.Fatalf("got %+v", c)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"interval", map[string]string{"PANDEV_RECONCILE_INTERVAL": "soon"}, nil, "PANDEV_RECONCILE_INTERVAL (--reconcile-interval): \"soon\" is not a duration"},
		{"days", map[string]string{"PANDEV_BACKFILL_DAYS": "-1"}, nil, "PANDEV_BACKFILL_DAYS"},
		{"log format", map[string]string{"PANDEV_LOG_FORMAT": "xml"}, nil, "PANDEV_LOG_FORMAT (--log-format): \"xml\" is not text or json"},
		{"addr", nil, []string{"--addr", "8080"}, "PANDEV_ADDR"},
		{"public url with credentials", map[string]string{"PANDEV_PUBLIC_URL": "https://u:p@h"}, nil, "PANDEV_PUBLIC_URL"},
		{"db scheme", map[string]string{"PANDEV_DB": "mysql://x"}, nil, "PANDEV_DB"},
		{"trusted proxy not an address", map[string]string{"PANDEV_TRUSTED_PROXIES": "10.0.0.1, proxy.local"}, nil,
			`PANDEV_TRUSTED_PROXIES (--trusted-proxies): "proxy.local" is not an address or CIDR`},
		{"allow hosts not a host pattern", map[string]string{"PANDEV_ALLOW_HOSTS": "tfs.corp.example, http://x"}, nil,
			`PANDEV_ALLOW_HOSTS (--allow-hosts): "http://x" is not a host pattern`},
		{"allow hosts bad port", nil, []string{"--allow-hosts", "tfs:99999999"}, `PANDEV_ALLOW_HOSTS (--allow-hosts): "tfs:99999999" has an invalid port`},
		{"allow hosts everything", map[string]string{"PANDEV_ALLOW_HOSTS": "*"}, nil, `PANDEV_ALLOW_HOSTS (--allow-hosts): "*" is not a host name`},
		{"unknown flag", nil, []string{"--nope"}, "flag provided but not defined: -nope"},
		{"stray argument", nil, []string{"extra"}, "unexpected argument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("serve", c.args, env(c.env), io.Discard)
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want one-line config error containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	var out strings.Builder
	_, err := Parse("serve", []string{"-h"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(out.String(), s.env) {
			t.Errorf("help lacks %s", s.env)
		}
	}
	if !strings.Contains(out.String(), "PANDEV_SECRET_KEY") {
		t.Error("help lacks PANDEV_SECRET_KEY")
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Parse("serve", nil, env(map[string]string{"PANDEV_TRUSTED_PROXIES": " 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.168.1.7/32 2001:db8::/32" {
		t.Fatalf("trusted proxies %v", got)
	}
}

func TestAllowHosts(t *testing.T) {
	c, err := Parse("serve", nil, env(nil), io.Discard)
	if err != nil || !c.AllowHosts.IsZero() {
		t.Fatalf("default allow list = %q, %v; want empty", c.AllowHosts, err)
	}
	c, err = Parse("serve", []string{"--allow-hosts", "127.0.0.1:*, *.corp.example ,tfs.internal:8080,10.9.0.0/16"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, hp := range [][2]string{{"127.0.0.1", "8091"}, {"tfs.corp.example", "443"}, {"tfs.internal", "8080"}, {"10.9.3.4", "80"}} {
		if !c.AllowHosts.Listed(hp[0], hp[1]) {
			t.Errorf("%s:%s not listed by %q", hp[0], hp[1], c.AllowHosts)
		}
	}
	for _, hp := range [][2]string{{"localhost", "8091"}, {"corp.example.evil", "443"}, {"tfs.internal", "80"}, {"10.8.0.1", "80"}} {
		if c.AllowHosts.Listed(hp[0], hp[1]) {
			t.Errorf("%s:%s listed by %q", hp[0], hp[1], c.AllowHosts)
		}
	}
}
