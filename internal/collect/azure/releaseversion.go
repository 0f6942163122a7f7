package azure

import (
	"context"
	"strconv"
	"strings"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
)

// releaseVersion is the commit a classic release deployed (METRICS.md
// "Deployed version": the Git artifact's version, or the commit of the build
// artifact's run) and its repository.
type releaseVersion struct{ repo, sha string }

// releaseVersions resolves the deployed version of the releases of a batch
// of listed deployments. The deployments list does not always carry a
// release's artifacts (samples/rest/release.deployments.list.json); those
// releases are read with theirs (one Releases call per 50). A build
// artifact resolves through the stored run of that build; one whose run was
// not collected (a build older than the backfill) stays unresolved, as a
// release without artifacts does.
func (s *syncer) releaseVersions(ctx context.Context, deps []azdo.ReleaseDeployment) (map[int]releaseVersion, error) {
	arts := map[int][]azdo.ReleaseArtifact{}
	var missing []int
	for _, d := range deps {
		if _, seen := arts[d.Release.ID]; seen {
			continue
		}
		arts[d.Release.ID] = d.Release.Artifacts
		if len(d.Release.Artifacts) == 0 {
			missing = append(missing, d.Release.ID)
		}
	}
	if len(missing) > 0 {
		rels, err := s.client.Releases(ctx, s.Project.ProjectID, missing)
		if err != nil {
			return nil, err
		}
		for _, r := range rels {
			arts[r.ID] = r.Artifacts
		}
	}
	out := map[int]releaseVersion{}
	for id, as := range arts {
		v, err := s.resolveArtifacts(ctx, as)
		if err != nil {
			return nil, err
		}
		if v.sha != "" {
			out[id] = v
		}
	}
	return out, nil
}

// resolveArtifacts picks the primary artifact (else the first Git or
// build one) and finds the commit it stands for.
func (s *syncer) resolveArtifacts(ctx context.Context, as []azdo.ReleaseArtifact) (releaseVersion, error) {
	var pick *azdo.ReleaseArtifact
	for i := range as {
		a := &as[i]
		if t := strings.ToLower(a.Type); t != "build" && t != "git" && t != "tfsgit" {
			continue
		}
		if pick == nil || a.IsPrimary && !pick.IsPrimary {
			pick = a
		}
	}
	if pick == nil {
		return releaseVersion{}, nil
	}
	version := pick.Ref("version").ID
	if strings.EqualFold(pick.Type, "build") {
		id, err := strconv.ParseInt(version, 10, 64)
		if err != nil {
			return releaseVersion{}, nil
		}
		run, err := s.DB.PipelineRun(ctx, s.Key.IntegrationID, id)
		if delivery.IsNotFound(err) {
			return releaseVersion{}, nil
		}
		if err != nil {
			return releaseVersion{}, err
		}
		return releaseVersion{repo: run.RepoID, sha: run.SourceVersion}, nil
	}
	return releaseVersion{repo: pick.Ref("definition").ID, sha: version}, nil
}
