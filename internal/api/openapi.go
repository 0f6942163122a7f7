package api

import (
	_ "embed"
	"net/http"
)

// OpenAPIPath is where the API reference is served.
const OpenAPIPath = "/api/v1/openapi.json"

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the API reference (OpenAPI 3.1).
func OpenAPIDocument() []byte { return openAPIDocument }

// OpenAPI serves the API reference.
func OpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPIDocument)
	return err
}
