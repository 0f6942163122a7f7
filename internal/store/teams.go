package store

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Teams (migration 00016): a named set of people (identities seen in the
// data) and repositories of a workspace, that every figure can be narrowed
// to. The rule of what a team keeps is delivery.TeamScope's.

// MaxTeamNameLength bounds a team's name, in characters.
const MaxTeamNameLength = 80

// Team is a team with its members and repositories.
type Team struct {
	ID           string
	WorkspaceID  string
	Name         string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Members      []TeamMember     // by display name
	Repositories []TeamRepository // by project, then name
}

// TeamMember is an identity of a team: the provider's identity id within an
// integration, with the names last seen.
type TeamMember struct {
	IntegrationID string
	IdentityID    string
	DisplayName   string
	UniqueName    string
}

// TeamRepository is a repository of a team, with its project and name as
// stored now ("" when the repository is no longer stored).
type TeamRepository struct {
	IntegrationID string
	RepoID        string
	ProjectID     string
	Name          string
}

// Identity is a person seen in the workspace's data: a pull request
// author (the identities a team filter compares), with the name of their
// newest PR and how many PRs they opened.
type Identity struct {
	IntegrationID string
	IdentityID    string
	DisplayName   string
	PullRequests  int
	LastSeen      time.Time
}

// TeamRef names a member or repository by its provider id; IntegrationID
// may be empty when the id is found in one integration only.
type TeamRef struct {
	IntegrationID string `json:"integration_id,omitempty"`
	ID            string `json:"id"`
}

// TeamChange is what a create or update sets: a nil field is kept (an
// update) or empty (a create).
type TeamChange struct {
	Name         *string
	Members      *[]TeamRef
	Repositories *[]TeamRef
}

// ValidTeamName trims a team name and checks it: 1 to MaxTeamNameLength
// characters, no control characters.
func ValidTeamName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return "", delivery.Errorf(delivery.KindInvalid, "the team name is not valid UTF-8").
			WithHint("type the name again")
	case n == 0:
		return "", delivery.Errorf(delivery.KindInvalid, "the team name is empty").
			WithHint("give the team a name, such as Payments")
	case n > MaxTeamNameLength:
		return "", delivery.Errorf(delivery.KindInvalid, "the team name is %d characters long", n).
			WithHint("use at most 80 characters")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", delivery.Errorf(delivery.KindInvalid, "the team name contains a control character").
			WithHint("use letters, digits, spaces and punctuation only")
	}
	return name, nil
}

// teamNotFound is the error of a team that is not the workspace's: a
// missing one and another workspace's read alike.
func teamNotFound(id string) error {
	return delivery.Errorf(delivery.KindNotFound, "team %q not found", id).
		WithHint("list this workspace's teams with GET /api/v1/teams or in Settings → Teams")
}

// ListIdentities lists the people seen in the workspace's data: each PR
// author once per integration, with the name of their newest PR, by name.
func (q queries) ListIdentities(ctx context.Context, workspaceID string) ([]Identity, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT integration_id, author_id, author_name, COUNT(*), MAX(created_at)
		FROM pull_requests WHERE workspace_id = $1 AND author_id <> ''
		GROUP BY integration_id, author_id, author_name`, workspaceID)
	got, err := collect(rows, err, func(r rowScanner) (Identity, error) {
		var v Identity
		var last flexTime
		err := r.Scan(&v.IntegrationID, &v.IdentityID, &v.DisplayName, &v.PullRequests, &last)
		v.LastSeen = last.t
		return v, mapErr(err)
	})
	if err != nil {
		return nil, err
	}
	// One row per (integration, id, name): keep the newest name, add counts.
	type key struct{ in, id string }
	byKey := map[key]int{}
	var out []Identity
	for _, v := range got {
		k := key{v.IntegrationID, v.IdentityID}
		i, ok := byKey[k]
		if !ok {
			byKey[k] = len(out)
			out = append(out, v)
			continue
		}
		n := out[i].PullRequests + v.PullRequests
		if v.LastSeen.After(out[i].LastSeen) || v.LastSeen.Equal(out[i].LastSeen) && v.DisplayName < out[i].DisplayName {
			out[i] = v
		}
		out[i].PullRequests = n
	}
	slices.SortFunc(out, func(x, y Identity) int {
		return cmp.Or(cmp.Compare(strings.ToLower(x.DisplayName), strings.ToLower(y.DisplayName)),
			cmp.Compare(x.IntegrationID, y.IntegrationID), cmp.Compare(x.IdentityID, y.IdentityID))
	})
	return out, nil
}

// ListTeams lists the workspace's teams by name, with their members and
// repositories.
func (q queries) ListTeams(ctx context.Context, workspaceID string) ([]Team, error) {
	return q.readTeams(ctx, workspaceID, "")
}

// GetTeam reads one of the workspace's teams; another workspace's team is
// not found, like a missing one.
func (q queries) GetTeam(ctx context.Context, workspaceID, id string) (Team, error) {
	teams, err := q.readTeams(ctx, workspaceID, id)
	if err != nil {
		return Team{}, err
	}
	if len(teams) == 0 {
		return Team{}, teamNotFound(id)
	}
	return teams[0], nil
}

// readTeams reads the workspace's teams (one team when id is not "").
func (q queries) readTeams(ctx context.Context, workspaceID, id string) ([]Team, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, workspace_id, name, created_at, updated_at FROM teams
		WHERE workspace_id = $1 AND ($2 = '' OR id = $2)`, workspaceID, id)
	teams, err := collect(rows, err, func(r rowScanner) (Team, error) {
		var t Team
		err := r.Scan(&t.ID, &t.WorkspaceID, &t.Name, &t.CreatedAt, &t.UpdatedAt)
		t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
		return t, mapErr(err)
	})
	if err != nil || len(teams) == 0 {
		return teams, err
	}
	// Sorted here: the engines collate non-ASCII names differently.
	slices.SortFunc(teams, func(x, y Team) int {
		return cmp.Or(cmp.Compare(teamNameKey(x.Name), teamNameKey(y.Name)), cmp.Compare(x.ID, y.ID))
	})
	index := make(map[string]int, len(teams))
	for i, t := range teams {
		index[t.ID] = i
	}
	rows, err = q.q.QueryContext(ctx, `SELECT m.team_id, m.integration_id, m.identity_id, m.display_name, m.unique_name
		FROM team_members m JOIN teams t ON t.id = m.team_id
		WHERE t.workspace_id = $1 AND ($2 = '' OR t.id = $2)`, workspaceID, id)
	_, err = collect(rows, err, func(r rowScanner) (struct{}, error) {
		var team string
		var m TeamMember
		if err := r.Scan(&team, &m.IntegrationID, &m.IdentityID, &m.DisplayName, &m.UniqueName); err != nil {
			return struct{}{}, mapErr(err)
		}
		teams[index[team]].Members = append(teams[index[team]].Members, m)
		return struct{}{}, nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = q.q.QueryContext(ctx, `SELECT r.team_id, r.integration_id, r.repo_id,
			COALESCE(p.project_id, ''), COALESCE(p.name, '')
		FROM team_repositories r JOIN teams t ON t.id = r.team_id
		LEFT JOIN repositories p ON p.integration_id = r.integration_id AND p.repo_id = r.repo_id
		WHERE t.workspace_id = $1 AND ($2 = '' OR t.id = $2)`, workspaceID, id)
	_, err = collect(rows, err, func(r rowScanner) (struct{}, error) {
		var team string
		var v TeamRepository
		if err := r.Scan(&team, &v.IntegrationID, &v.RepoID, &v.ProjectID, &v.Name); err != nil {
			return struct{}{}, mapErr(err)
		}
		teams[index[team]].Repositories = append(teams[index[team]].Repositories, v)
		return struct{}{}, nil
	})
	if err != nil {
		return nil, err
	}
	for i := range teams {
		slices.SortFunc(teams[i].Members, func(x, y TeamMember) int {
			return cmp.Or(cmp.Compare(strings.ToLower(x.DisplayName), strings.ToLower(y.DisplayName)),
				cmp.Compare(x.IntegrationID, y.IntegrationID), cmp.Compare(x.IdentityID, y.IdentityID))
		})
		slices.SortFunc(teams[i].Repositories, func(x, y TeamRepository) int {
			return cmp.Or(cmp.Compare(x.ProjectID, y.ProjectID), cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)),
				cmp.Compare(x.IntegrationID, y.IntegrationID), cmp.Compare(x.RepoID, y.RepoID))
		})
	}
	return teams, nil
}

// CreateTeam creates a team of the workspace. The name must be valid and
// not taken (whatever its case); members must be identities seen in the
// workspace's data and repositories its repositories. Bad input changes
// nothing.
func (db *DB) CreateTeam(ctx context.Context, workspaceID string, c TeamChange, now time.Time) (Team, error) {
	if c.Name == nil {
		return Team{}, delivery.Errorf(delivery.KindInvalid, "the team has no name").
			WithHint("give the team a name, such as Payments")
	}
	id := NewID()
	err := db.InTx(ctx, func(tx *Tx) error {
		name, err := ValidTeamName(*c.Name)
		if err != nil {
			return err
		}
		_, err = tx.q.ExecContext(ctx, `INSERT INTO teams (id, workspace_id, name, name_key, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5)`, id, workspaceID, name, teamNameKey(name), utc(now))
		if err = nameTaken(mapErr(err), name); err != nil {
			return err
		}
		return tx.setTeamParts(ctx, workspaceID, id, c)
	})
	if err != nil {
		return Team{}, err
	}
	return db.GetTeam(ctx, workspaceID, id)
}

// UpdateTeam renames a team and replaces its members or repositories (the
// fields of c that are set). Bad input changes nothing.
func (db *DB) UpdateTeam(ctx context.Context, workspaceID, id string, c TeamChange, now time.Time) (Team, error) {
	err := db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.q.ExecContext(ctx, `UPDATE teams SET updated_at = $3 WHERE workspace_id = $1 AND id = $2`,
			workspaceID, id, utc(now))
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return teamNotFound(id)
		}
		if c.Name != nil {
			name, err := ValidTeamName(*c.Name)
			if err != nil {
				return err
			}
			_, err = tx.q.ExecContext(ctx, `UPDATE teams SET name = $3, name_key = $4 WHERE workspace_id = $1 AND id = $2`,
				workspaceID, id, name, teamNameKey(name))
			if err = nameTaken(mapErr(err), name); err != nil {
				return err
			}
		}
		return tx.setTeamParts(ctx, workspaceID, id, c)
	})
	if err != nil {
		return Team{}, err
	}
	return db.GetTeam(ctx, workspaceID, id)
}

// DeleteTeam deletes one of the workspace's teams with its members and
// repositories.
func (q queries) DeleteTeam(ctx context.Context, workspaceID, id string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM teams WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return teamNotFound(id)
	}
	return nil
}

func teamNameKey(name string) string { return strings.ToLower(name) }

// nameTaken turns a unique violation of the name into its error.
func nameTaken(err error, name string) error {
	if delivery.KindOf(err) == delivery.KindConflict {
		return delivery.Errorf(delivery.KindConflict, "a team named %q already exists", name).
			WithHint("pick another name, or change the existing team")
	}
	return err
}

// setTeamParts replaces the members and repositories c sets, resolving
// each reference against the workspace's data.
func (tx *Tx) setTeamParts(ctx context.Context, workspaceID, teamID string, c TeamChange) error {
	if c.Members != nil {
		people, err := tx.ListIdentities(ctx, workspaceID)
		if err != nil {
			return err
		}
		found, err := resolveRefs(*c.Members, people, func(p Identity) (string, string) { return p.IntegrationID, p.IdentityID },
			func(id string) error {
				return delivery.Errorf(delivery.KindInvalid, "member %q is not a person seen in this workspace's data", id).
					WithHint("use an identity id from GET /api/v1/teams/people (the authors of pull requests)")
			}, func(id string) error {
				return delivery.Errorf(delivery.KindInvalid, "member %q is a person of several integrations", id).
					WithHint("give the member's integration_id too")
			})
		if err != nil {
			return err
		}
		rows := make([][]any, len(found))
		for i, p := range found {
			rows[i] = []any{p.IntegrationID, p.IdentityID, p.DisplayName, ""}
		}
		if err := tx.replaceTeamRows(ctx, teamID, "team_members", "integration_id, identity_id, display_name, unique_name", rows); err != nil {
			return err
		}
	}
	if c.Repositories != nil {
		repos, err := tx.ListRepositories(ctx, workspaceID, "")
		if err != nil {
			return err
		}
		found, err := resolveRefs(*c.Repositories, repos, func(r Repository) (string, string) { return r.IntegrationID, r.RepoID },
			func(id string) error {
				return delivery.Errorf(delivery.KindInvalid, "repository %q is not a repository of this workspace", id).
					WithHint("use a repository id from the dashboard's repository filter or Settings → Teams")
			}, func(id string) error {
				return delivery.Errorf(delivery.KindInvalid, "repository %q is a repository of several integrations", id).
					WithHint("give the repository's integration_id too")
			})
		if err != nil {
			return err
		}
		rows := make([][]any, len(found))
		for i, r := range found {
			rows[i] = []any{r.IntegrationID, r.RepoID}
		}
		if err := tx.replaceTeamRows(ctx, teamID, "team_repositories", "integration_id, repo_id", rows); err != nil {
			return err
		}
	}
	return nil
}

// resolveRefs finds the item each reference names (by id, and by
// integration when the reference gives one); none and many make the error
// of a reference that names no item or several.
func resolveRefs[T any](refs []TeamRef, items []T, key func(T) (integration, id string), none, many func(id string) error) ([]T, error) {
	out := make([]T, 0, len(refs))
	for _, ref := range refs {
		var found []T
		for _, it := range items {
			if in, id := key(it); id == ref.ID && (ref.IntegrationID == "" || ref.IntegrationID == in) {
				found = append(found, it)
			}
		}
		switch len(found) {
		case 0:
			return nil, none(ref.ID)
		case 1:
			out = append(out, found[0])
		default:
			return nil, many(ref.ID)
		}
	}
	return out, nil
}

// replaceTeamRows replaces a team's rows of table (team_members or
// team_repositories) with rows of columns; a row given twice is kept once.
func (tx *Tx) replaceTeamRows(ctx context.Context, teamID, table, columns string, rows [][]any) error {
	if _, err := tx.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE team_id = $1`, teamID); err != nil {
		return mapErr(err)
	}
	for _, row := range rows {
		marks := make([]string, len(row))
		for i := range row {
			marks[i] = "$" + strconv.Itoa(i+2)
		}
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO `+table+` (team_id, `+columns+`) VALUES ($1, `+strings.Join(marks, ", ")+`)
			ON CONFLICT DO NOTHING`, append([]any{teamID}, row...)...); err != nil {
			return mapErr(err)
		}
	}
	return nil
}
