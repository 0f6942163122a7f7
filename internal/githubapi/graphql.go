package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// GraphQLURL is the GraphQL endpoint: https://api.github.com/graphql, or
// https://HOST/api/graphql on an Enterprise Server ("Forming calls with
// GraphQL": "The GraphQL API has a single endpoint").
func (a API) GraphQLURL() string {
	if a.Enterprise {
		return a.Web + "/api/graphql"
	}
	return strings.TrimSuffix(a.REST, "/") + "/graphql"
}

// GraphQLError is one entry of a GraphQL answer's errors.
type GraphQLError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

// graphQLAnswer is what every query here asks beside its data: the points
// it cost (GitHub's rateLimit object), so the account can show them.
type graphQLAnswer struct {
	Data   json.RawMessage `json:"data"`
	Errors []GraphQLError  `json:"errors"`
}

// GraphQL posts one query (it must select rateLimit { cost }) through the
// same guarded, counting transport as the REST calls, and decodes its data
// into out. Errors come out as the REST calls' do (Classify): a spent limit
// is *RateLimited, a field the token may not read is *MissingPermission, a
// repository it cannot see is KindNotFound.
func (c *Client) GraphQL(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api.GraphQLURL(), bytes.NewReader(body))
	if err != nil {
		return Classify(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.gh.UserAgent)
	resp, err := c.gh.Client().Do(req)
	if err != nil {
		return Classify(err)
	}
	defer resp.Body.Close()
	c.calls.graphQLCall()
	if err := github.CheckResponse(resp); err != nil {
		return Classify(err)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return Classify(err)
	}
	var ans graphQLAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return &delivery.Error{Kind: delivery.KindUpstream, Err: err, Message: "GitHub's GraphQL API answered something that is not JSON",
			Hint: "Check that the API base is a GitHub (or GitHub Enterprise Server) address; PanDev Metrics retries by itself"}
	}
	var rl struct {
		RateLimit *struct {
			Cost int `json:"cost"`
		} `json:"rateLimit"`
	}
	if len(ans.Data) > 0 && string(ans.Data) != "null" {
		if err := json.Unmarshal(ans.Data, &rl); err == nil && rl.RateLimit != nil {
			c.calls.spend(rl.RateLimit.Cost)
		}
	}
	if len(ans.Errors) > 0 {
		return graphQLError(resp, ans.Errors)
	}
	if err := json.Unmarshal(ans.Data, out); err != nil {
		return &delivery.Error{Kind: delivery.KindUpstream, Err: err, Message: "GitHub's GraphQL API answered data PanDev Metrics cannot read: " + err.Error(),
			Hint: "The Enterprise Server may be older than the schema PanDev Metrics reads; PanDev Metrics retries by itself"}
	}
	return nil
}

// graphQLError maps the first error of an answer: GitHub answers GraphQL
// refusals with 200 and an errors list whose type says what happened.
func graphQLError(resp *http.Response, errs []GraphQLError) error {
	e := errs[0]
	where := strings.Trim(strings.ReplaceAll(fmt.Sprint(e.Path), " ", "."), "[]")
	switch e.Type {
	case "RATE_LIMITED":
		// "the response status will still be 200 ... x-ratelimit-remaining header will be 0"
		until := time.Now().Add(time.Minute)
		if n, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil && n > 0 {
			until = time.Unix(n, 0)
		}
		rl := &RateLimited{Until: until, Err: fmt.Errorf("graphql: %s", e.Message)}
		return (&delivery.Error{Kind: delivery.KindRateLimited, Err: rl, Message: rl.Error(),
			Hint: "PanDev Metrics waits and resumes by itself; a token of its own (not shared with scripts) leaves it the whole 5,000 points an hour"}).
			WithRetryAfter(time.Until(until))
	case "FORBIDDEN":
		mp := &MissingPermission{Accepted: "", Status: http.StatusForbidden, Message: e.Message}
		return &delivery.Error{Kind: delivery.KindUpstream, Err: mp,
			Message: fmt.Sprintf("The token may not read %s (GitHub: %s)", where, e.Message),
			Hint:    "Give the token Pull requests: Read (a classic token: the repo scope), then Check connection again"}
	case "NOT_FOUND":
		return &delivery.Error{Kind: delivery.KindNotFound, Err: fmt.Errorf("graphql: %s", e.Message),
			Message: "GitHub has no " + where + " the token can see (" + e.Message + ")",
			Hint:    "A fine-grained token sees only the repositories picked under Repository access: add it there, or pick another repository"}
	}
	return &delivery.Error{Kind: delivery.KindUpstream, Err: fmt.Errorf("graphql: %s", e.Message),
		Message: "GitHub's GraphQL API refused the query: " + e.Message,
		Hint:    "PanDev Metrics retries by itself; if it persists, see GitHub's status page"}
}
