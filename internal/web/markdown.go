package web

import (
	"html"
	"html/template"
	"regexp"
	"strings"
	"unicode"
)

// Markdown renders the small Markdown dialect the user guide is written in
// — headings, paragraphs, lists, tables, fenced code, code spans, bold,
// italics and links — as HTML. Every piece of text is escaped before it is
// wrapped in tags, links keep only relative, fragment and http(s) targets,
// and a link to another page of the guide ("scopes.md#x") becomes its
// served address ("/help/scopes#x"). Raw HTML in the input stays text.
func Markdown(src []byte) template.HTML {
	var b strings.Builder
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inline(strings.Join(para, " ")) + "</p>\n")
			para = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		switch {
		case trim == "":
			flush()
		case strings.HasPrefix(trim, "```"):
			flush()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			b.WriteString("<pre><code>" + html.EscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case headingLevel(trim) > 0:
			flush()
			n := headingLevel(trim)
			text := strings.TrimSpace(trim[n:])
			lv := string(rune('0' + n))
			b.WriteString("<h" + lv + ` id="` + html.EscapeString(Slug(text)) + `">` + inline(text) + "</h" + lv + ">\n")
		case strings.HasPrefix(trim, "|"):
			flush()
			var rows []string
			for ; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
				rows = append(rows, strings.TrimSpace(lines[i]))
			}
			i--
			writeTable(&b, rows)
		case listItem(trim) != "":
			flush()
			tag := "ul"
			if ordered.MatchString(trim) {
				tag = "ol"
			}
			b.WriteString("<" + tag + ">\n")
			var item []string
			writeItem := func() {
				if item != nil {
					b.WriteString("<li>" + inline(strings.Join(item, " ")) + "</li>\n")
				}
				item = nil
			}
			for ; i < len(lines); i++ {
				t := strings.TrimSpace(lines[i])
				if t == "" {
					break
				}
				if it := listItem(t); it != "" {
					writeItem()
					item = []string{it}
					continue
				}
				if headingLevel(t) > 0 || strings.HasPrefix(t, "|") || strings.HasPrefix(t, "```") {
					break
				}
				item = append(item, t) // a continuation line of the item
			}
			writeItem()
			i--
			b.WriteString("</" + tag + ">\n")
		default:
			para = append(para, trim)
		}
	}
	flush()
	return template.HTML(b.String()) // every text piece above was escaped
}

var ordered = regexp.MustCompile(`^[0-9]+\. `)

// listItem is the text of a list item line, or "".
func listItem(s string) string {
	if strings.HasPrefix(s, "- ") || strings.HasPrefix(s, "* ") {
		return strings.TrimSpace(s[2:])
	}
	if m := ordered.FindString(s); m != "" {
		return strings.TrimSpace(s[len(m):])
	}
	return ""
}

func headingLevel(s string) int {
	n := 0
	for n < len(s) && s[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || n >= len(s) || s[n] != ' ' {
		return 0
	}
	return n
}

// writeTable renders a table: a header row, a |---| separator, body rows.
func writeTable(b *strings.Builder, rows []string) {
	b.WriteString(`<div class="table-wrap"><table>` + "\n")
	body := false
	for k, row := range rows {
		cells := splitRow(row)
		if k == 1 && isSeparator(cells) {
			continue
		}
		tag := "td"
		if k == 0 {
			tag = "th"
			b.WriteString("<thead>")
		} else if !body {
			body = true
			b.WriteString("<tbody>")
		}
		b.WriteString("<tr>")
		for _, c := range cells {
			b.WriteString("<" + tag + ">" + inline(c) + "</" + tag + ">")
		}
		b.WriteString("</tr>")
		if k == 0 {
			b.WriteString("</thead>\n")
		} else {
			b.WriteString("\n")
		}
	}
	if body {
		b.WriteString("</tbody>")
	}
	b.WriteString("</table></div>\n")
}

// splitRow splits a table row on pipes that are neither escaped (\|) nor
// inside a code span.
func splitRow(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	if strings.HasSuffix(row, "|") && !strings.HasSuffix(row, `\|`) {
		row = row[:len(row)-1]
	}
	var cells []string
	var cur strings.Builder
	code := false
	for i := 0; i < len(row); i++ {
		c := row[i]
		switch {
		case c == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '`':
			code = !code
			cur.WriteByte(c)
		case c == '|' && !code:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func isSeparator(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" || c == "" {
			return false
		}
	}
	return true
}

var (
	linkRe   = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	boldRe   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	italicRe = regexp.MustCompile(`(^|[\s(>])\*([^*\s][^*]*)\*`)
)

// inline renders code spans, links, bold and italics of one block's text.
func inline(s string) string {
	var b strings.Builder
	parts := strings.Split(s, "`")
	for i, p := range parts {
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<code>" + html.EscapeString(p) + "</code>")
			continue
		}
		if i%2 == 1 { // an unmatched backtick stays text
			p = "`" + p
		}
		t := html.EscapeString(p)
		t = linkRe.ReplaceAllStringFunc(t, func(m string) string {
			sm := linkRe.FindStringSubmatch(m)
			href, ok := safeHref(html.UnescapeString(sm[2]))
			if !ok {
				return sm[1]
			}
			return `<a href="` + html.EscapeString(href) + `">` + sm[1] + "</a>"
		})
		t = boldRe.ReplaceAllString(t, "<strong>$1</strong>")
		t = italicRe.ReplaceAllString(t, "$1<em>$2</em>")
		b.WriteString(t)
	}
	return b.String()
}

var guideLink = regexp.MustCompile(`^([a-z-]+)\.md(#[a-z0-9-]*)?$`)

// safeHref keeps links to this server, fragments and http(s) pages, and
// turns a guide page's file name into its address under /help.
func safeHref(u string) (string, bool) {
	if strings.ContainsAny(u, "\\\x00\t\r\n ") {
		return "", false // "/\host" is another site to some browsers
	}
	if m := guideLink.FindStringSubmatch(u); m != nil {
		return HelpPath + "/" + m[1] + m[2], true
	}
	switch {
	case strings.HasPrefix(u, "#"), strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"),
		strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"):
		return u, true
	}
	return "", false
}

// Slug is a heading's anchor as GitHub makes it: lower case, letters,
// digits, spaces and hyphens kept, spaces turned into hyphens.
func Slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
