package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Charts are drawn here as inline SVG: no library, nothing fetched, and
// they scale to the width of a phone or a laptop through the viewBox. Values are plotted as given; a nil value is a gap ("no data"),
// never a zero.

// ChartPoint is one bucket of a chart.
type ChartPoint struct {
	Start time.Time
	Value *float64
	N     int // items behind the value, shown in the tooltip
	// Partial marks a bucket that is not over yet (or cut by the window):
	// drawn faded, with "partial" in its tooltip.
	Partial bool
}

// ChartKind selects bars (counts) or a line with dots (medians, rates).
type ChartKind int

// Chart kinds.
const (
	Bars ChartKind = iota
	Line
)

// Chart is a titled series to draw.
type Chart struct {
	Title string
	// Unit says what the values count, shown under the title.
	Unit   string
	Kind   ChartKind
	Points []ChartPoint
	// Format writes a value for the axis and tooltips ("3", "25 h", "40 %").
	Format func(float64) string
	// Ceil rounds the largest value up to the axis' top; niceCeil when nil
	// (niceDuration for charts of seconds, so the axis reads "2 d", not "1.7 d").
	Ceil func(float64) float64
	// Empty says why there is nothing to draw, shown in place of the plot
	// when no bucket has a value ("no production deployments in this window").
	Empty string
}

// The drawing's own units. The page scales the labels' font by the ratio of
// the viewBox to the rendered width (dashboard.js sets --k), so labels are
// 12.5 px at any width.
const (
	chartW, chartH                  = 480, 220
	padLeft, padRight, padTop, padB = 64, 12, 14, 32
)

// HasPartial says whether a bucket of the chart is partial.
func (c Chart) HasPartial() bool {
	for _, p := range c.Points {
		if p.Partial && p.Value != nil {
			return true
		}
	}
	return false
}

// SVG renders the chart. The output is deterministic (golden-tested). Each
// bucket with a value is a focusable element whose aria-label is its
// tooltip, so the values are reachable by keyboard and screen readers.
func (c Chart) SVG() template.HTML {
	var b strings.Builder
	plotW, plotH := float64(chartW-padLeft-padRight), float64(chartH-padTop-padB)
	top := 0.0
	for _, p := range c.Points {
		if p.Value != nil && *p.Value > top {
			top = *p.Value
		}
	}
	if c.Ceil != nil {
		top = c.Ceil(top)
	} else {
		top = niceCeil(top)
	}
	format := c.Format
	if format == nil {
		format = func(v float64) string { return trimFloat(v) }
	}
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="group" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, template.HTMLEscapeString(c.Title))
	n := len(c.Points)
	if n == 0 || top == 0 && !anyValue(c.Points) {
		why := c.Empty
		if why == "" {
			why = "no data in this window"
		}
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%d" x2="%d" y2="%d"/>`, padLeft, chartH-padB, chartW-padRight, chartH-padB)
		fmt.Fprintf(&b, `<text class="nodata" x="%.1f" y="%.1f" text-anchor="middle">%s</text></svg>`,
			padLeft+plotW/2, padTop+plotH/2, template.HTMLEscapeString(why))
		return template.HTML(b.String())
	}
	// Axis: the top value, the middle and zero, with grid lines.
	for i, frac := range []float64{1, 0.5, 0} {
		y := padTop + plotH*(1-frac)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padLeft, y, chartW-padRight, y)
		label := "0"
		if i < 2 {
			label = format(top * frac)
		}
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, padLeft-6, y, template.HTMLEscapeString(label))
	}
	slot := plotW / float64(n)
	x := func(i int) float64 { return padLeft + slot*(float64(i)+0.5) }
	y := func(v float64) float64 {
		if top == 0 {
			return padTop + plotH
		}
		return padTop + plotH*(1-v/top)
	}
	// Date labels: at most about four, evenly spread, always the first.
	every := max(1, (n+3)/4)
	for i, p := range c.Points {
		if i%every == 0 {
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), chartH-8, p.Start.Format("2 Jan"))
		}
	}
	tip := func(p ChartPoint) string {
		v := "no data"
		if p.Value != nil {
			v = format(*p.Value)
		}
		s := fmt.Sprintf("week of %s: %s (n = %d)", p.Start.Format("2 Jan 2006"), v, p.N)
		if p.Partial {
			s += ", partial: the week is not over"
		}
		return template.HTMLEscapeString(s)
	}
	class := func(base string, p ChartPoint) string {
		if p.Partial {
			return base + " partial"
		}
		return base
	}
	switch c.Kind {
	case Bars:
		w := math.Max(1, slot*0.7)
		for i, p := range c.Points {
			if p.Value == nil {
				continue
			}
			// A zero bar is drawn one unit high, so that it can be focused and read.
			h := math.Max(1, padTop+plotH-y(*p.Value))
			fmt.Fprintf(&b, `<rect class="%s" tabindex="0" role="img" aria-label="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
				class("bar pt", p), tip(p), x(i)-w/2, padTop+plotH-h, w, h, tip(p))
		}
	case Line:
		// One path per run of values: a bucket without data breaks the line.
		var path strings.Builder
		for i, p := range c.Points {
			if p.Value == nil {
				continue
			}
			cmd := "L"
			if i == 0 || c.Points[i-1].Value == nil {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(i), y(*p.Value))
		}
		if path.Len() > 0 {
			fmt.Fprintf(&b, `<path class="line" d="%s"/>`, strings.TrimSpace(path.String()))
		}
		for i, p := range c.Points {
			if p.Value != nil {
				fmt.Fprintf(&b, `<circle class="%s" tabindex="0" role="img" aria-label="%s" cx="%.1f" cy="%.1f" r="5"><title>%s</title></circle>`,
					class("dot pt", p), tip(p), x(i), y(*p.Value), tip(p))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Sparkline is a tile's small line of the same weekly series as its chart:
// no axis, no labels, hidden from assistive technology (the chart below
// carries the values).
func Sparkline(points []ChartPoint) template.HTML {
	const w, h = 120.0, 28.0
	top := 0.0
	for _, p := range points {
		if p.Value != nil && *p.Value > top {
			top = *p.Value
		}
	}
	var path strings.Builder
	for i, p := range points {
		if p.Value == nil {
			continue
		}
		cmd := "L"
		if i == 0 || points[i-1].Value == nil {
			cmd = "M"
		}
		x := w / 2
		if len(points) > 1 {
			x = 2 + (w-4)*float64(i)/float64(len(points)-1)
		}
		y := h - 2
		if top > 0 {
			y = 2 + (h-4)*(1-*p.Value/top)
		}
		fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x, y)
	}
	if path.Len() == 0 {
		return ""
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" viewBox="0 0 %.0f %.0f" preserveAspectRatio="none" aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg"><path d="%s"/></svg>`,
		w, h, strings.TrimSpace(path.String())))
}

func anyValue(ps []ChartPoint) bool {
	for _, p := range ps {
		if p.Value != nil {
			return true
		}
	}
	return false
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, for a readable axis.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// niceDuration rounds seconds up to 1, 2 or 5 times a power of ten of the
// unit humanDuration writes them in (minutes, hours or days), so that the
// axis' top and middle read as round durations.
func niceDuration(secs float64) float64 {
	switch {
	case secs <= 60:
		return niceCeil(secs)
	case niceCeil(secs/60)*60 < 3600:
		return niceCeil(secs/60) * 60
	case niceCeil(secs/3600)*3600 < 48*3600:
		return niceCeil(secs/3600) * 3600
	}
	return niceCeil(secs/86400) * 86400
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// humanDuration writes seconds the way people say them.
func humanDuration(secs float64) string {
	d := time.Duration(secs * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.0f min", d.Minutes())
	case d < 48*time.Hour:
		return trimFloat(d.Hours()) + " h"
	default:
		return trimFloat(d.Hours()/24) + " d"
	}
}

func percent(v float64) string { return trimFloat(v*100) + " %" }

// points writes a change of a rate in percentage points: 0.12 → 0.15 is
// "3 pp", never "3 %" (which would read as 3 % of 12 %).
func points(v float64) string { return trimFloat(v*100) + " pp" }
