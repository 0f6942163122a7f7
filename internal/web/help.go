package web

import (
	"html/template"
	"net/http"

	"github.com/pandev-metrics/pandev/docs/guide"
	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
)

// HelpPath is where the user guide is served: /help is its contents,
// /help/<page> a page.
const HelpPath = "/help"

// HelpPage is one page of the user guide.
type HelpPage struct {
	Chrome
	Name    string
	Pages   []HelpLink
	Content template.HTML
}

// HelpLink is one entry of the guide's contents.
type HelpLink struct {
	Name, Title, Href string
	Current           bool
}

// Help renders a page of the user guide (embedded Markdown, rendered
// escaped) for anyone, signed in or not.
func Help(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("page")
	pg, ok := guide.Lookup(name)
	if !ok {
		return delivery.Errorf(delivery.KindNotFound, "there is no page at %s", r.URL.Path).WithHint("see the guide's contents at " + HelpPath)
	}
	p, _ := auth.FromContext(r.Context())
	data := HelpPage{Chrome: chrome(pg.Title, p), Name: pg.Name, Content: Markdown(pg.Markdown)}
	for _, g := range guide.Pages() {
		href := HelpPath + "/" + g.Name
		if g.Name == "index" {
			href = HelpPath
		}
		data.Pages = append(data.Pages, HelpLink{Name: g.Name, Title: g.Title, Href: href, Current: g.Name == pg.Name})
	}
	return render(w, http.StatusOK, "help.html", data)
}
