package web

import (
	"strings"
	"testing"
)

// TestMarkdownEscapes: the guide renderer never lets input become markup:
// raw HTML stays text, links keep only safe targets, guide links become
// /help addresses, and headings get GitHub's anchors.
func TestMarkdownEscapes(t *testing.T) {
	src := "# Title <b>x</b>\n\n" +
		"A <script>alert(1)</script> & `<code> & \"q\"` **bold** *it*.\n\n" +
		"[bad](javascript:alert(1)) [proto](//evil.example) [bs](/\\evil.example) [ok](https://learn.microsoft.com/a?b=1&c=2) [guide](scopes.md#the-way-out) [here](#x)\n\n" +
		"| A | B |\n|---|---|\n| `a \\| b` | <i>c</i> |\n\n" +
		"- one\n  continued\n- two\n\n1. first\n2. second\n\n```\n<pre> & raw\n```\n\n## Check connection (Settings → Integrations → Azure DevOps)\n"
	got := string(Markdown([]byte(src)))
	for _, bad := range []string{"<script", "<b>", "<i>", "javascript:", `href="//evil`, `href="/\`} {
		if strings.Contains(got, bad) {
			t.Errorf("rendered %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{
		`<h1 id="title-bxb">Title &lt;b&gt;x&lt;/b&gt;</h1>`,
		"A &lt;script&gt;alert(1)&lt;/script&gt; &amp; <code>&lt;code&gt; &amp; &#34;q&#34;</code> <strong>bold</strong> <em>it</em>.",
		`<a href="https://learn.microsoft.com/a?b=1&amp;c=2">ok</a>`,
		`<a href="/help/scopes#the-way-out">guide</a>`, `<a href="#x">here</a>`, "bad", "proto",
		"<th>A</th><th>B</th>", "<td><code>a | b</code></td><td>&lt;i&gt;c&lt;/i&gt;</td>",
		"<ul>\n<li>one continued</li>\n<li>two</li>\n</ul>", "<ol>\n<li>first</li>\n<li>second</li>\n</ol>",
		"<pre><code>&lt;pre&gt; &amp; raw</code></pre>",
		`<h2 id="check-connection-settings--integrations--azure-devops">`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
