package delivery

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mentions returns the work item ids that text mentions as #1234, in order
// of first appearance and without duplicates. A mention is a '#' followed by
// ASCII digits, where the '#' is not preceded by a letter, digit or '&'
// ("PR#12" and the HTML entity "&#38;" are not mentions) and does not sit
// inside a URL ("https://host/page#12"). The digits must not run on into a
// letter or digit ("#12abc" is not a mention of 12), and ids that are zero or
// do not fit Azure DevOps' 32-bit ids are ignored. Whether a mentioned item
// exists is for the caller to check.
func Mentions(text string) []int {
	var ids []int
	for i := 0; i < len(text); i++ {
		if text[i] != '#' {
			continue
		}
		id, end, ok := mentionAt(text, i)
		if ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
		i = end - 1 // digits already looked at cannot start a mention
	}
	return ids
}

// mentionAt parses a mention whose '#' is at text[i]; end is the index after
// the digits (or i+1 when there are none).
func mentionAt(text string, i int) (id, end int, ok bool) {
	end = i + 1
	for end < len(text) && text[end] >= '0' && text[end] <= '9' {
		end++
	}
	digits := text[i+1 : end]
	if digits == "" || !MentionBoundary(text, i, end) || InsideURL(text, i) {
		return 0, end, false
	}
	id, ok = parseID(digits)
	return id, end, ok
}

// MentionBoundary checks the characters around a reference such as
// "#digits" (hash: the index of its first byte; end: the index after its
// digits): nothing word-like before it (nor '&', which starts an HTML
// entity) and nothing word-like right after the digits.
func MentionBoundary(text string, hash, end int) bool {
	if hash > 0 {
		r, _ := utf8.DecodeLastRuneInString(text[:hash])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '&' {
			return false
		}
	}
	if end < len(text) {
		r, _ := utf8.DecodeRuneInString(text[end:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// InsideURL reports whether the '#' at text[hash] belongs to a URL: the
// whitespace-delimited token it is in has a scheme ("://") or starts with
// "www." before the '#'. URLs cannot contain whitespace, so the token is a
// safe upper bound for the URL.
func InsideURL(text string, hash int) bool {
	start := strings.LastIndexFunc(text[:hash], unicode.IsSpace) + 1
	if start > 0 {
		// LastIndexFunc gives the first byte of the space rune; skip all of it.
		_, size := utf8.DecodeRuneInString(text[start-1:])
		start += size - 1
	}
	token := text[start:hash]
	return strings.Contains(token, "://") || hasPrefixFold(token, "www.")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func parseID(digits string) (int, bool) {
	n := 0
	for _, c := range []byte(digits) {
		n = n*10 + int(c-'0')
		if n > math.MaxInt32 {
			return 0, false
		}
	}
	return n, n > 0
}
