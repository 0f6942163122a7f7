// Package config reads the server's settings from environment variables,
// each with a flag equivalent; a flag wins over its variable. A bad value is
// one error line naming the variable and the fix.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/netguard"
)

// Config is every setting of `pandev serve`.
type Config struct {
	Addr              string          // PANDEV_ADDR
	DB                string          // PANDEV_DB
	PublicURL         string          // PANDEV_PUBLIC_URL
	SecretKey         string          // PANDEV_SECRET_KEY (never a flag: ps would show it)
	MetricsToken      string          // PANDEV_METRICS_TOKEN (never a flag): GET /metrics needs it as a bearer token
	TrustedProxies    []netip.Prefix  // PANDEV_TRUSTED_PROXIES: whose X-Forwarded-For names the client
	AllowHosts        netguard.Policy // PANDEV_ALLOW_HOSTS: hosts the PAT may reach beyond https and public addresses
	SecretKeyFile     string          // PANDEV_SECRET_KEY_FILE
	ReconcileInterval time.Duration   // PANDEV_RECONCILE_INTERVAL
	BackfillDays      int             // PANDEV_BACKFILL_DAYS
	LogFormat         string          // PANDEV_LOG_FORMAT
	LogLevel          string          // PANDEV_LOG_LEVEL
	ShutdownTimeout   time.Duration   // PANDEV_SHUTDOWN_TIMEOUT
	JobTimeout        time.Duration   // PANDEV_JOB_TIMEOUT
}

// setting is one row of the settings table: variable, flag, default, help,
// and how to parse and check the value.
type setting struct {
	env, flag, def, help string
	set                  func(c *Config, v string) error
}

var settings = []setting{
	{"PANDEV_ADDR", "addr", ":8080", "address to listen on (host:port)", func(c *Config, v string) error {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", v)
		}
		c.Addr = v
		return nil
	}},
	{"PANDEV_DB", "db", "", "SQLite file path (default ./pandev.db) or postgres:// URL", func(c *Config, v string) error {
		if strings.Contains(v, "://") && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
			return fmt.Errorf("use a SQLite file path or a postgres:// URL")
		}
		c.DB = v
		return nil
	}},
	{"PANDEV_PUBLIC_URL", "public-url", "", "URL at which Azure DevOps reaches this server (webhooks); default http://localhost:<port>", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return fmt.Errorf("%q must be an http(s) URL without credentials, e.g. https://pandev.example.com", v)
		}
		c.PublicURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"PANDEV_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (sign-in limits per client); empty: the connection's address", func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			p, err := netip.ParsePrefix(f)
			if err != nil {
				a, aerr := netip.ParseAddr(f)
				if aerr != nil {
					return fmt.Errorf("%q is not an address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/8)", f)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
		return nil
	}},
	{"PANDEV_ALLOW_HOSTS", "allow-hosts", "", "comma-separated hosts the Azure DevOps token may also be sent to: over plain http, at loopback/link-local addresses, or serving API areas (host, host:port, host:*, *.domain, IP or CIDR; e.g. tfs.corp.example:8080); empty: https to non-loopback, non-metadata addresses only", func(c *Config, v string) error {
		p, err := netguard.Parse(v)
		if err != nil {
			return err
		}
		c.AllowHosts = p
		return nil
	}},
	{"PANDEV_SECRET_KEY_FILE", "secret-key-file", "", "file holding the sealing key; default pandev.key next to the SQLite file", func(c *Config, v string) error {
		c.SecretKeyFile = v
		return nil
	}},
	{"PANDEV_RECONCILE_INTERVAL", "reconcile-interval", "15m", "how often to reconcile with Azure DevOps", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("%q is not a duration of at least 1s (e.g. 15m)", v)
		}
		c.ReconcileInterval = d
		return nil
	}},
	{"PANDEV_BACKFILL_DAYS", "backfill-days", "30", "days of history to collect when a project is selected", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			return fmt.Errorf("%q is not a whole number of days from 1 to 3650", v)
		}
		c.BackfillDays = n
		return nil
	}},
	{"PANDEV_LOG_FORMAT", "log-format", "text", "log format: text or json", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("%q is not text or json", v)
		}
		c.LogFormat = v
		return nil
	}},
	{"PANDEV_LOG_LEVEL", "log-level", "info", "log level: debug, info, warn or error", func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return fmt.Errorf("%q is not debug, info, warn or error", v)
	}},
	{"PANDEV_JOB_TIMEOUT", "job-timeout", "10m", "longest a background job runs; a killed process's jobs resume after 1.25× this", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("%q is not a duration of at least 1s (e.g. 10m)", v)
		}
		c.JobTimeout = d
		return nil
	}},
	{"PANDEV_SHUTDOWN_TIMEOUT", "shutdown-timeout", "30s", "how long a shutdown waits for requests and jobs to finish", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration (e.g. 30s)", v)
		}
		c.ShutdownTimeout = d
		return nil
	}},
}

// Error is a configuration error; the command exits with code 2.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Parse reads settings from getenv, then args (flags override variables).
// -h prints every setting to out and returns flag.ErrHelp.
func Parse(name string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	values := make([]*string, len(settings))
	for i, s := range settings {
		v := s.def
		if env := getenv(s.env); env != "" {
			v = env
		}
		values[i] = fs.String(s.flag, v, fmt.Sprintf("%s [$%s, default %q]", s.help, s.env, s.def))
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: pandev %s [flags]\n\nEvery flag has an environment variable; the flag wins.\n"+
			"PANDEV_SECRET_KEY (base64 of 32 bytes; comma-separate old keys after the new one to rotate)\n"+
			"is read only from the environment, never a flag, so it does not show in process lists.\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, &Error{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return c, &Error{msg: fmt.Sprintf("unexpected argument %q: settings are flags (--name value) or PANDEV_* variables", fs.Arg(0))}
	}
	for i, s := range settings {
		if err := s.set(&c, strings.TrimSpace(*values[i])); err != nil {
			return c, &Error{msg: fmt.Sprintf("%s (--%s): %v", s.env, s.flag, err)}
		}
	}
	c.SecretKey = getenv("PANDEV_SECRET_KEY")
	c.MetricsToken = getenv("PANDEV_METRICS_TOKEN")
	return c, nil
}

// DefaultPublicURL derives a URL from the listen address when
// PANDEV_PUBLIC_URL is unset (good for a laptop, not for Azure DevOps).
func (c Config) DefaultPublicURL(boundAddr string) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port, err := net.SplitHostPort(boundAddr)
	if err != nil {
		return "http://localhost:8080"
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Errorf returns a configuration error, for settings checked outside Parse
// (such as a key that must be present with PostgreSQL).
func Errorf(format string, args ...any) *Error { return &Error{msg: fmt.Sprintf(format, args...)} }
