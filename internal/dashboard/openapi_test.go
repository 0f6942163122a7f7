package dashboard

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/api"
)

// TestOpenAPIDocumentsTheMetricsAPI checks the API reference
// (internal/api/openapi.json) for the metrics endpoints: every route with
// the shared filters, and every JSON field of the report types.
func TestOpenAPIDocumentsTheMetricsAPI(t *testing.T) {
	raw := api.OpenAPIDocument()
	var doc struct {
		Paths map[string]struct {
			Get struct {
				Parameters []map[string]any `json:"parameters"`
			} `json:"get"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]struct {
				Name string `json:"name"`
			} `json:"parameters"`
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	must(t, json.Unmarshal(raw, &doc))
	for _, path := range []string{"/api/v1/metrics/dora", "/api/v1/metrics/pull-requests", "/api/v1/metrics/work-items",
		"/api/v1/metrics/{kind}/series"} {
		p, ok := doc.Paths[path]
		if !ok {
			t.Errorf("%s is not documented", path)
			continue
		}
		names := map[string]bool{}
		for _, param := range p.Get.Parameters {
			if ref, ok := param["$ref"].(string); ok {
				names[doc.Components.Parameters[strings.TrimPrefix(ref, "#/components/parameters/")].Name] = true
			} else {
				names[param["name"].(string)] = true
			}
		}
		for _, want := range []string{"from", "to", "project", "repository", "team", "source", "format", "view"} {
			if !names[want] {
				t.Errorf("%s lacks parameter %s", path, want)
			}
		}
	}
	if _, ok := doc.Paths[EventsPath]; !ok {
		t.Errorf("%s is not documented", EventsPath)
	}
	for schema, v := range map[string]any{"DORAReport": DORAReport{}, "PullRequestReport": PullRequestReport{},
		"WorkItemReport": WorkItemReport{}, "SeriesReport": SeriesReport{}, "MetricFigure": Figure{}, "Trend": Trend{}} {
		body := string(doc.Components.Schemas[schema])
		typ := reflect.TypeOf(v)
		for _, f := range reflect.VisibleFields(typ) { // embedded structs' fields too
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && !strings.Contains(body, `"`+name+`"`) {
				t.Errorf("schema %s lacks field %s", schema, name)
			}
		}
	}
}
