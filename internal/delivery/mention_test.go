package delivery

import (
	"regexp"
	"slices"
	"strconv"
	"testing"
)

func TestMentions(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []int
	}{
		{"plain", "Fix login #1234", []int{1234}},
		{"at start", "#7 crash", []int{7}},
		{"several in order without duplicates", "#3, #1 and #3 again (#2)", []int{3, 1, 2}},
		{"punctuation around", "(#12), [#13]: #14. #15!", []int{12, 13, 14, 15}},
		{"after newline", "title\n\n#99", []int{99}},
		{"after underscore and dash", "_#5 -#6", []int{5, 6}},
		{"double hash", "##8", []int{8}},
		{"preceded by letter", "PR#12 abc#13", nil},
		{"preceded by digit", "1#12", nil},
		{"preceded by non-ASCII letter", "é#12", nil},
		{"HTML entity", "&#38; and &#x26;", nil},
		{"no digits", "# heading, #abc, #", nil},
		{"followed by letter", "#12abc #34_ok", []int{34}},
		{"followed by non-ASCII digit", "#12٣", nil},
		{"URL fragment", "see https://dev.azure.com/org/p/_workitems#12", nil},
		{"URL path then mention", "https://example.com/#12 then #13", []int{13}},
		{"www URL", "www.example.com/#12", nil},
		{"markdown link", "[spec](https://x.org/a#4) #5", []int{5}},
		{"URL separated by non-breaking space", "https://x.org/\u00a0#6", []int{6}},
		{"zero is not an id", "#0 #000", nil},
		{"leading zeros", "#007", []int{7}},
		{"largest 32-bit id", "#2147483647", []int{2147483647}},
		{"overflow", "#2147483648 #99999999999999999999999", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mentions(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("Mentions(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

// FuzzMentions checks properties that hold for any text: no panic, ids are
// positive and unique, every id appears as "#id" in the text, and a mention
// keeps its meaning when the text is surrounded by spaces.
func FuzzMentions(f *testing.F) {
	for _, s := range []string{"#1", "PR#2 #3", "&#4;", "https://a/#5", "#6abc", "é#7", "##8", "#2147483648", "x\u00a0#9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := Mentions(text)
		seen := map[int]bool{}
		for _, id := range ids {
			if id <= 0 {
				t.Fatalf("Mentions(%q) returned non-positive id %d", text, id)
			}
			if seen[id] {
				t.Fatalf("Mentions(%q) returned %d twice", text, id)
			}
			seen[id] = true
			if !regexp.MustCompile(`#0*` + strconv.Itoa(id)).MatchString(text) {
				t.Fatalf("Mentions(%q) returned %d, which the text does not contain", text, id)
			}
		}
		if got := Mentions(" " + text + " "); !slices.Equal(got, ids) {
			t.Fatalf("Mentions changed when padding %q with spaces: %v, then %v", text, ids, got)
		}
	})
}
