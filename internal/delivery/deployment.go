package delivery

import "time"

// DeploymentSource says where a deployment was observed (METRICS.md,
// "Deployment", items 1–3).
type DeploymentSource string

// Deployment sources.
const (
	// SourceEnvironment is a YAML pipeline run's deployment to an environment.
	SourceEnvironment DeploymentSource = "environment"
	// SourceRelease is a classic release deployment (release × environment).
	SourceRelease DeploymentSource = "release"
	// SourceBuildRule is a build or pipeline run that counts as a deployment
	// because its definition name, tags or stage names match the deployment rule.
	SourceBuildRule DeploymentSource = "build"
)

// Result is the provider's result of a run, stage or release deployment.
type Result string

// Results. Only succeeded, partiallySucceeded and failed are counted by any
// metric; the rest are not deployments as far as the figures go.
const (
	ResultSucceeded          Result = "succeeded"
	ResultPartiallySucceeded Result = "partiallySucceeded"
	ResultFailed             Result = "failed"
	ResultCanceled           Result = "canceled"
	ResultSkipped            Result = "skipped"
	ResultNotStarted         Result = "notStarted"
	ResultInProgress         Result = "inProgress"
)

// Deployment is one attempt to put a version into an environment, or a
// candidate for one before classification (see metrics.Classify).
type Deployment struct {
	ID           string // unique across sources, e.g. "run/812/prod"
	Source       DeploymentSource
	ProjectID    string
	RepositoryID string
	// Environment is the environment name for SourceEnvironment and
	// SourceRelease; for SourceBuildRule classification sets it to the name
	// that matched the deployment rule.
	Environment string
	// Pipeline, Tags and Stages are the names a SourceBuildRule candidate is
	// matched by: definition name, build tags and stage names.
	Pipeline string
	Tags     []string
	Stages   []string
	// Production is set by classification from the production rule.
	Production bool
	Result     Result
	StartedAt  time.Time
	FinishedAt time.Time // zero while running or never started
	// SHA is the deployed version: the run's sourceVersion or the release's
	// Git artifact version.
	SHA string
}
