package azdosim

import (
	"testing"
	"time"
)

// FuzzParseWiql: any query text is rejected or parsed, never a panic.
func FuzzParseWiql(f *testing.F) {
	for _, s := range []string{
		"SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= @Today - 30",
		"SELECT [System.Id] FROM WorkItemLinks WHERE [Source].[System.WorkItemType] = 'Bug' MODE (MustContain)",
		"select * from workitems where [System.State] in ('New', 'Active') order by [System.Id] desc",
		"SELECT", "", "SELECT [x] FROM WorkItems WHERE (", "SELECT a FROM WorkItems WHERE [System.Tags] CONTAINS",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parseWiql(s)
		if err == nil && q == nil {
			t.Fatal("nil query without error")
		}
		if err == nil {
			for _, c := range q.conds {
				wiqlTime(c.values[0], time.Unix(0, 0))
			}
		}
	})
}

// FuzzParseAPIVersion: version strings from clients never panic and round-trip M.m.
func FuzzParseAPIVersion(f *testing.F) {
	for _, s := range []string{"7.1", "7.1-preview.4", "5.0-preview", "latest", "-1.0", "7.", ".1", "7.1-preview."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := parseAPIVersion(s); ok {
			if _, ok := parseAPIVersion(v.mm()); !ok {
				t.Fatalf("%q parsed but %q does not", s, v.mm())
			}
		}
	})
}
