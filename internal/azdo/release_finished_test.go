package azdo

import (
	"encoding/json"
	"testing"
)

// TestReleaseDeploymentFinishedOn: Microsoft's captured deployments list
// has 17 finished deployments and not one completedOn; each is finished at
// its lastModifiedOn. One still running or waiting is not finished.
func TestReleaseDeploymentFinishedOn(t *testing.T) {
	var l listOf[ReleaseDeployment]
	if err := json.Unmarshal(sample(t, "release.deployments.list.json"), &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Value) != 17 {
		t.Fatalf("%d deployments in the sample, want 17", len(l.Value))
	}
	for _, d := range l.Value {
		at, ok := d.FinishedOn()
		if !d.CompletedOn.IsZero() || !ok || !at.Equal(d.LastModifiedOn.Time) {
			t.Errorf("deployment %d (%s/%s, completedOn %v): finished %v at %v, want at lastModifiedOn %v",
				d.ID, d.DeploymentStatus, d.OperationStatus, d.CompletedOn, ok, at, d.LastModifiedOn)
		}
	}
	for _, d := range []ReleaseDeployment{
		{DeploymentStatus: "inProgress", OperationStatus: "PhaseInProgress"},
		{DeploymentStatus: "notDeployed", OperationStatus: "Pending"},
		{DeploymentStatus: "notDeployed", OperationStatus: "Queued"},
	} {
		d.LastModifiedOn = l.Value[0].LastModifiedOn
		if _, ok := d.FinishedOn(); ok {
			t.Errorf("%s/%s counted as finished", d.DeploymentStatus, d.OperationStatus)
		}
	}
}
