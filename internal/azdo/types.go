package azdo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time is a timestamp as Azure DevOps writes it: RFC 3339, sometimes without
// a zone (read as UTC). null, "" and the .NET minimum "0001-01-01T00:00:00"
// decode as the zero Time.
type Time struct{ time.Time }

// UnmarshalJSON accepts every timestamp form the service sends.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("azdo time: %w", err)
	}
	v, err := parseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// MarshalJSON writes RFC 3339 with nanoseconds, or null for the zero Time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "0001-01-01") {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v, nil
		}
	}
	return time.Time{}, fmt.Errorf("azdo time: cannot parse %q", s)
}

// IdentityRef is a user or group as list and detail responses embed it.
type IdentityRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	UniqueName  string `json:"uniqueName"`
	Descriptor  string `json:"descriptor,omitempty"`
	URL         string `json:"url,omitempty"`
	ImageURL    string `json:"imageUrl,omitempty"`
	IsContainer bool   `json:"isContainer,omitempty"`
}

// ResourceRef is {id, url}, as PR and commit work-item links come. The id
// is a string in some responses and a number in others; both decode.
type ResourceRef struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// UnmarshalJSON accepts a string or numeric id.
func (r *ResourceRef) UnmarshalJSON(b []byte) error {
	var v struct {
		ID  json.RawMessage `json:"id"`
		URL string          `json:"url"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.URL = v.URL
	r.ID = ""
	if len(v.ID) > 0 && !bytes.Equal(v.ID, []byte("null")) {
		var s string
		if json.Unmarshal(v.ID, &s) == nil {
			r.ID = s
		} else {
			r.ID = string(bytes.TrimSpace(v.ID))
		}
	}
	return nil
}

// IntID returns the id as a number, for work item references.
func (r ResourceRef) IntID() (int, error) { return strconv.Atoi(r.ID) }

// PropertyValue is one entry of a {"$type", "$value"} property bag.
type PropertyValue struct {
	Type  string `json:"$type"`
	Value any    `json:"$value"`
}

// String renders the value ("10", "VoteUpdate", …).
func (p PropertyValue) String() string {
	switch v := p.Value.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// Links is the _links bag; Href returns one link.
type Links map[string]struct {
	Href string `json:"href"`
}

// Href returns the link named name, or "".
func (l Links) Href(name string) string { return l[name].Href }

// listOf is the {count, value} wrapper of every list response.
type listOf[T any] struct {
	Count int `json:"count"`
	Value []T `json:"value"`
}

// Identity is the user connectionData reports.
type Identity struct {
	ID                  string                   `json:"id"`
	Descriptor          string                   `json:"descriptor"`
	SubjectDescriptor   string                   `json:"subjectDescriptor"`
	ProviderDisplayName string                   `json:"providerDisplayName"`
	CustomDisplayName   string                   `json:"customDisplayName"`
	IsActive            bool                     `json:"isActive"`
	Properties          map[string]PropertyValue `json:"properties"`
}

// DisplayName is the custom display name when set, else the provider's.
func (i Identity) DisplayName() string {
	if i.CustomDisplayName != "" {
		return i.CustomDisplayName
	}
	return i.ProviderDisplayName
}

// Account is the sign-in name (e-mail or DOMAIN\user), when reported.
func (i Identity) Account() string { return i.Properties["Account"].String() }

// ConnectionData is GET _apis/connectionData (LOCATIONS.md §4).
type ConnectionData struct {
	AuthenticatedUser Identity `json:"authenticatedUser"`
	AuthorizedUser    Identity `json:"authorizedUser"`
	InstanceID        string   `json:"instanceId"`
	DeploymentID      string   `json:"deploymentId"`
	DeploymentType    string   `json:"deploymentType"` // hosted | onPremises
	// WebApplicationRelativeDirectory is where a Server deployment lives
	// on its host: "/", "/tfs/" or another virtual directory.
	WebApplicationRelativeDirectory string `json:"webApplicationRelativeDirectory"`
	LocationServiceData             struct {
		ServiceOwner                string `json:"serviceOwner"`
		DefaultAccessMappingMoniker string `json:"defaultAccessMappingMoniker"`
		LastChangeID                int64  `json:"lastChangeId"`
		LastChangeID64              int64  `json:"lastChangeId64"`
	} `json:"locationServiceData"`
}

// Ptr returns the time, or nil when it is not set.
func (t Time) Ptr() *time.Time {
	if t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}
