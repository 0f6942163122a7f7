package csvexport

import (
	"bytes"
	"testing"
)

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"Fix checkout":               "Fix checkout",
		`=HYPERLINK("http://x","y")`: `'=HYPERLINK("http://x","y")`,
		"+SUM(A1:A9)":                "'+SUM(A1:A9)",
		"-2+3":                       "'-2+3",
		"@SUM(1)":                    "'@SUM(1)",
		"\t=1":                       "'\t=1",
		"\r=1":                       "'\r=1",
		"-5":                         "-5",
		"+1.5e3":                     "+1.5e3",
		"a=b":                        "a=b",
		"2026-11-04T00:57:32Z":       "2026-11-04T00:57:32Z",
		"-cmd|' /C calc'!A0":         "'-cmd|' /C calc'!A0",
	} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterNeutralizesEveryCell(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.WriteAll([][]string{{"id", "title"}, {"7", "=1+1"}, {"-10", "ok"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "id,title\n7,'=1+1\n-10,ok\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
