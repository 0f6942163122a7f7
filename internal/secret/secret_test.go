package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const pat = "pat-3x7qz9w1v5k2m8n4b6c0d2f4g6h8j0k2l4m6n8p0q2r4s6"

func testKey(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, KeySize))
}

func TestSealOpenRoundTrip(t *testing.T) {
	kr, err := ParseKeys(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := kr.Seal(New(pat), "integration/1/token")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, pat) || !strings.HasPrefix(sealed, "v1."+kr.CurrentKeyID()+".") {
		t.Fatalf("sealed value %q must carry the key id and hide the token", sealed)
	}
	again, _ := kr.Seal(New(pat), "integration/1/token")
	if again == sealed {
		t.Fatal("two seals of one value must differ (random nonce)")
	}
	v, err := kr.Open(sealed, "integration/1/token")
	if err != nil || v.Reveal() != pat {
		t.Fatalf("open: %v", err)
	}
	if _, err := kr.Open(sealed, "integration/2/token"); !errors.Is(err, ErrCannotOpen) {
		t.Fatalf("a value moved to another row must not open, got %v", err)
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := kr.Open(tampered, "integration/1/token"); !errors.Is(err, ErrCannotOpen) {
		t.Fatalf("tampered: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	old, _ := ParseKeys("old:" + testKey(1))
	sealed, _ := old.Seal(New(pat), "c")
	rotated, err := ParseKeys("new:" + testKey(2) + ",old:" + testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if !rotated.NeedsReseal(sealed) {
		t.Fatal("a value sealed with the old key needs resealing")
	}
	v, err := rotated.Open(sealed, "c")
	if err != nil || v.Reveal() != pat {
		t.Fatalf("old value must open after rotation: %v", err)
	}
	resealed, _ := rotated.Seal(v, "c")
	if rotated.NeedsReseal(resealed) || !strings.HasPrefix(resealed, "v1.new.") {
		t.Fatalf("resealed with the new key: %q", resealed)
	}
	newOnly, _ := ParseKeys("new:" + testKey(2))
	if _, err := newOnly.Open(sealed, "c"); !errors.Is(err, ErrCannotOpen) {
		t.Fatal("without the old key the old value must not open")
	}
}

func TestParseKeysErrors(t *testing.T) {
	cases := map[string]string{
		"":                            "no key",
		"not base64 !!":               "not base64",
		"c2hvcnQ=":                    "decodes to 5 bytes",
		"a.b:" + testKey(1):           "must be non-empty",
		testKey(1) + "," + testKey(1): "given twice",
	}
	for spec, want := range cases {
		_, err := ParseKeys(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKeys(%q) = %v, want error containing %q", spec, err, want)
		}
	}
}

func TestKeyFileCreatedOnceWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pandev.key")
	kr, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v: %v", info.Mode().Perm(), err)
	}
	again, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || again.CurrentKeyID() != kr.CurrentKeyID() {
		t.Fatalf("reload must find the same key: %v %v", created, err)
	}
	os.Chmod(path, 0o644)
	if _, _, err := LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file must be refused with the fix, got %v", err)
	}
}

func TestValueNeverPrints(t *testing.T) {
	v := New(pat)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("x", "token", v, "struct", struct{ T Value }{v})
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", v)
	js, _ := json.Marshal(map[string]any{"t": v})
	buf.Write(js)
	fmt.Fprintf(&buf, "%v %+v %#v %s %q %x", v, v, v, v, v, v)
	fmt.Fprint(&buf, struct{ T Value }{v}, []Value{v})
	if strings.Contains(buf.String(), pat) || strings.Contains(buf.String(), "pat-") {
		t.Fatalf("secret leaked: %s", buf.String())
	}
	if got := v.Hint(); got != "…"+pat[len(pat)-4:] {
		t.Fatalf("hint %q must show only the last four characters", got)
	}
	if got := New("short").Hint(); got != "…" {
		t.Fatalf("a short secret shows no characters, got %q", got)
	}
}
