// Package secret seals the secrets PanDev Metrics must keep (Azure DevOps
// personal access tokens, webhook secrets) with AES-256-GCM, and keeps them
// out of logs: a Value prints as [redacted] however it is formatted.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Value is a secret in memory. Its String, GoString, MarshalJSON and
// LogValue never reveal it; Reveal does, where it must be sent.
type Value struct{ s string }

// New wraps a secret.
func New(s string) Value { return Value{s: s} }

// Reveal returns the secret itself.
func (v Value) Reveal() string { return v.s }

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return v.s == "" }

const redacted = "[redacted]"

func (v Value) String() string                { return redacted }
func (v Value) GoString() string              { return redacted }
func (v Value) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (v Value) MarshalJSON() ([]byte, error)  { return []byte(`"` + redacted + `"`), nil }
func (v Value) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }
func (v Value) MarshalText() ([]byte, error)  { return []byte(redacted), nil }

// Hint returns the last four characters behind an ellipsis, enough for an
// admin to recognise which token is stored and useless to anyone else.
func (v Value) Hint() string {
	if len(v.s) < 12 {
		return "…"
	}
	return "…" + v.s[len(v.s)-4:]
}

// KeySize is the AES-256 key length in bytes.
const KeySize = 32

// sealPrefix starts every sealed value; the key id follows, so keys can
// rotate: old values open with their own key and are re-sealed with the new.
const sealPrefix = "v1."

// Keyring holds the keys: the first seals, all open.
type Keyring struct {
	currentID string
	aeads     map[string]cipher.AEAD
}

// ParseKeys reads PANDEV_SECRET_KEY: one or more comma-separated keys, each
// base64 (standard or URL alphabet) of 32 random bytes, optionally named
// "id:key". The first key seals new values; the others only open old ones.
func ParseKeys(spec string) (*Keyring, error) {
	kr := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, enc, named := strings.Cut(part, ":")
		if !named {
			enc = id
		}
		key, err := decodeKey(enc)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w (generate one with: head -c 32 /dev/urandom | base64)", i+1, err)
		}
		if !named {
			sum := sha256.Sum256(key)
			id = hex.EncodeToString(sum[:4])
		}
		if strings.ContainsAny(id, ".,:") || id == "" {
			return nil, fmt.Errorf("key %d: id %q must be non-empty without '.', ',' or ':'", i+1, id)
		}
		if err := kr.add(id, key); err != nil {
			return nil, err
		}
	}
	if kr.currentID == "" {
		return nil, errors.New("no key given")
	}
	return kr, nil
}

func decodeKey(enc string) ([]byte, error) {
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := e.DecodeString(enc); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("decodes to %d bytes, want %d", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, errors.New("not base64")
}

func (kr *Keyring) add(id string, key []byte) error {
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	if _, dup := kr.aeads[id]; dup {
		return fmt.Errorf("key id %q given twice", id)
	}
	kr.aeads[id] = aead
	if kr.currentID == "" {
		kr.currentID = id
	}
	return nil
}

// LoadOrCreateKeyFile returns the keyring from a key file, creating the file
// with a fresh random key (mode 0600) when it does not exist.
func LoadOrCreateKeyFile(path string) (*Keyring, bool, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if info, statErr := os.Stat(path); statErr == nil && info.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("key file %s is readable by others (mode %v): run chmod 600 %s", path, info.Mode().Perm(), path)
		}
		kr, err := ParseKeys(strings.TrimSpace(string(data)))
		if err != nil {
			return nil, false, fmt.Errorf("key file %s: %w", path, err)
		}
		return kr, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read key file: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	enc := base64.StdEncoding.EncodeToString(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, false, err
	}
	// O_EXCL: two processes starting at once must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKeyFile(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(enc + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Close(); err != nil {
		return nil, false, err
	}
	kr, err := ParseKeys(enc)
	return kr, true, err
}

// Seal encrypts v with the current key. context binds the ciphertext to
// where it is stored (e.g. "integration/<id>/token"): a sealed value copied
// into another row does not open.
func (kr *Keyring) Seal(v Value, context string) (string, error) {
	aead := kr.aeads[kr.currentID]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := aead.Seal(nonce, nonce, []byte(v.s), []byte(context))
	return sealPrefix + kr.currentID + "." + base64.RawURLEncoding.EncodeToString(ct), nil
}

// ErrCannotOpen means a sealed value is damaged, was sealed for another
// place, or needs a key this server does not have.
var ErrCannotOpen = errors.New("sealed secret cannot be opened: wrong key (check PANDEV_SECRET_KEY or the key file) or damaged value")

// Open decrypts a sealed value. Errors never include the value.
func (kr *Keyring) Open(sealed, context string) (Value, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return Value{}, ErrCannotOpen
	}
	id, enc, ok := strings.Cut(rest, ".")
	aead, known := kr.aeads[id]
	if !ok || !known {
		return Value{}, ErrCannotOpen
	}
	ct, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(ct) < aead.NonceSize() {
		return Value{}, ErrCannotOpen
	}
	pt, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], []byte(context))
	if err != nil {
		return Value{}, ErrCannotOpen
	}
	return Value{s: string(pt)}, nil
}

// NeedsReseal reports whether a sealed value was sealed with an older key.
func (kr *Keyring) NeedsReseal(sealed string) bool {
	return !strings.HasPrefix(sealed, sealPrefix+kr.currentID+".")
}

// CurrentKeyID names the key that seals.
func (kr *Keyring) CurrentKeyID() string { return kr.currentID }

// Random returns a fresh random secret of n bytes, URL-safe base64.
func Random(n int) Value {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return Value{s: base64.RawURLEncoding.EncodeToString(b)}
}
