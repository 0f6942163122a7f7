package azdosim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

func (s *Sim) vsrmIdent(i uint16) obj {
	id := s.org.idents[int(i)%len(s.org.idents)]
	return obj{"id": id.ID, "displayName": id.Name, "uniqueName": id.Email, "url": s.base() + "/_apis/Identities/" + id.ID,
		"imageUrl": s.base() + "/_api/_common/identityImage?id=" + id.ID}
}

// deploymentObj renders a classic release Deployment (samples/rest/release.deployments.list.json).
func (s *Sim) deploymentObj(d *deployment, full bool) obj {
	rel := d.rel
	def := rel.def
	p := def.proj
	web := s.base() + "/" + p.ID + "/_release?releaseId=" + fmt.Sprint(rel.ID) + "&_a=release-summary"
	relRef := obj{"id": rel.ID, "name": rel.Name, "url": s.relURL(p, "releases", rel.ID), "_links": obj{}}
	defRef := obj{"id": def.ID, "name": def.Name, "url": s.relURL(p, "definitions", def.ID), "_links": obj{}}
	envRef := obj{"id": rel.envIDs[d.env], "name": def.envs[d.env].Name, "_links": obj{}}
	// The deployments list does not always name a release's artifacts: in
	// Microsoft's captured list (samples/rest/release.deployments.list.json)
	// the deployments of releases 20 and 15 carry their build artifact and
	// those of releases 55, 11 and 14 an empty list. Whether those releases
	// had none is not knowable from the sample, so here the releases whose
	// id is divisible by 3 are listed without them (an inference); the
	// release itself lists them (Releases_List with $expand=artifacts).
	arts := s.releaseArtifacts(rel)
	if rel.ID%3 == 0 {
		arts = []any{}
	}
	release := obj{"id": rel.ID, "name": rel.Name, "url": s.relURL(p, "releases", rel.ID), "artifacts": arts, "webAccessUri": web,
		"_links": obj{"self": obj{"href": s.relURL(p, "releases", rel.ID)}, "web": obj{"href": web}}, "description": nil,
		"releaseDefinition": nil, "createdOn": timeNano(unixTime(rel.created)), "createdBy": nil, "modifiedBy": nil, "reason": "continuousIntegration"}
	approval := func(id int, typ string, rank int, automated bool, at int64) obj {
		a := obj{"id": id, "revision": 1, "approvalType": typ, "createdOn": timeNano(unixTime(at)), "modifiedOn": timeNano(unixTime(at + 30)),
			"status": "approved", "comments": "", "isAutomated": automated, "isNotificationOn": !automated, "trialNumber": 1,
			"attempt": d.attempt, "rank": rank, "release": relRef, "releaseDefinition": defRef, "releaseEnvironment": envRef,
			"url": fmt.Sprintf("%s/%s/%s/_apis/Release/approvals/%d", s.releaseURL, s.org.name, p.ID, id)}
		if !automated {
			a["approver"] = s.vsrmIdent(d.approvedBy)
			a["approvedBy"] = s.vsrmIdent(d.approvedBy)
			a["comments"] = "Good to go!"
		}
		return a
	}
	pre := []any{approval(d.ID*2, "preDeploy", 1, d.env == 0, d.queued)}
	var post []any
	if d.status == "succeeded" {
		post = append(post, approval(d.ID*2+1, "postDeploy", 1, true, d.completed))
	}
	var conds []any
	if d.env > 0 {
		conds = append(conds, obj{"result": true, "name": def.envs[d.env-1].Name, "conditionType": "environmentState", "value": "4"})
	}
	last := d.completed
	if last == 0 {
		last = d.started
	}
	out := obj{"id": d.ID, "release": release, "releaseDefinition": obj{"id": def.ID, "name": def.Name, "url": s.relURL(p, "definitions", def.ID),
		"_links": obj{"self": obj{"href": s.relURL(p, "definitions", def.ID)}, "web": obj{"href": s.base() + "/" + p.ID + "/_release?definitionId=" + fmt.Sprint(def.ID)}}},
		"releaseEnvironment": envRef, "definitionEnvironmentId": def.envs[d.env].ID, "attempt": d.attempt, "reason": d.reason,
		"deploymentStatus": d.status, "operationStatus": d.opStatus, "requestedBy": s.vsrmIdent(d.requestedBy), "requestedFor": s.vsrmIdent(d.requestedBy),
		"queuedOn": timeNano(unixTime(d.queued)), "startedOn": timeNano(unixTime(d.started)), "lastModifiedOn": timeNano(unixTime(last)),
		"lastModifiedBy": s.vsrmIdent(d.requestedBy), "conditions": nonNil(conds), "scheduledDeploymentTime": "0001-01-01T00:00:00",
		"preDeployApprovals": pre, "postDeployApprovals": nonNil(post), "projectReference": obj{"id": p.ID, "name": p.Name}, "_links": obj{}}
	// Finished deployments do not always carry completedOn: Microsoft's captured list
	// (samples/rest/release.deployments.list.json, ListDeployments of the 7.1 release spec) has
	// 17 finished deployments and none has it; they all carry lastModifiedOn. A deterministic
	// third of the finished ones here go without it too.
	if d.completed != 0 && !omitsCompletedOn(d) {
		out["completedOn"] = timeNano(unixTime(d.completed))
	}
	return out
}

// releaseArtifacts renders a release's artifacts: its build artifact, whose
// version is the build it deployed.
func (s *Sim) releaseArtifacts(rel *release) []any {
	p := rel.def.proj
	var arts []any
	if b := rel.build; b != nil {
		coll := s.org.id
		arts = append(arts, obj{"sourceId": p.ID + ":" + fmt.Sprint(b.pipe.ID), "type": "Build", "alias": b.pipe.Name, "isPrimary": true,
			"definitionReference": obj{
				"artifactSourceDefinitionUrl": obj{"id": s.base() + "/_permalink/_build/index?collectionId=" + coll + "&projectId=" + p.ID + "&definitionId=" + fmt.Sprint(b.pipe.ID), "name": ""},
				"defaultVersionBranch":        obj{"id": "", "name": ""}, "defaultVersionSpecific": obj{"id": "", "name": ""},
				"defaultVersionTags": obj{"id": "", "name": ""}, "defaultVersionType": obj{"id": "latestType", "name": "Latest"},
				"definition": obj{"id": fmt.Sprint(b.pipe.ID), "name": b.pipe.Name}, "project": obj{"id": p.ID, "name": p.Name},
				"version":                  obj{"id": fmt.Sprint(b.ID), "name": s.buildNumber(b)},
				"artifactSourceVersionUrl": obj{"id": s.base() + "/_permalink/_build/index?collectionId=" + coll + "&projectId=" + p.ID + "&buildId=" + fmt.Sprint(b.ID), "name": ""},
				"branch":                   obj{"id": b.branch, "name": b.branch}}})
	}
	return nonNil(arts)
}

// hReleases lists releases (Releases_List of the 7.1 release.json,
// vso.release): newest first, releaseIdFilter (comma-separated ids),
// definitionId, $top (default 50) and $expand=artifacts.
func hReleases(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	s, p := q.s, q.proj
	top, err := q.queryInt(50, "$top")
	if err != nil {
		return err
	}
	ids := map[int]bool{}
	for _, f := range strings.Split(q.query("releaseIdFilter"), ",") {
		if id, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			ids[id] = true
		}
	}
	defID, _ := strconv.Atoi(q.query("definitionId"))
	expand := strings.Contains(strings.ToLower(q.query("$expand")), "artifacts")
	var out []any
	for i := len(o.releases) - 1; i >= 0 && len(out) < top; i-- {
		rel := o.releases[i]
		def := rel.def
		if def.proj != p || len(ids) > 0 && !ids[rel.ID] || defID != 0 && def.ID != defID {
			continue
		}
		r := obj{"id": rel.ID, "name": rel.Name, "status": "active", "createdOn": timeNano(unixTime(rel.created)),
			"modifiedOn": timeNano(unixTime(rel.created)), "createdBy": s.vsrmIdent(rel.by), "modifiedBy": s.vsrmIdent(rel.by),
			"releaseDefinition": obj{"id": def.ID, "name": def.Name, "url": s.relURL(p, "definitions", def.ID), "_links": obj{}},
			"description":       "", "reason": "continuousIntegration", "releaseNameFormat": "Release-$(rev:r)", "keepForever": false,
			"definitionSnapshotRevision": 1, "logsContainerUrl": s.relURL(p, "releases", rel.ID) + "/logs",
			"url": s.relURL(p, "releases", rel.ID), "_links": obj{"self": obj{"href": s.relURL(p, "releases", rel.ID)},
				"web": obj{"href": s.base() + "/" + p.ID + "/_release?releaseId=" + fmt.Sprint(rel.ID) + "&_a=release-summary"}},
			"tags": []any{}, "projectReference": obj{"id": p.ID, "name": p.Name}, "properties": obj{}}
		if expand {
			r["artifacts"] = s.releaseArtifacts(rel)
		} else {
			r["artifacts"] = []any{}
		}
		out = append(out, r)
	}
	return q.list(out)
}

// omitsCompletedOn picks the finished deployments rendered without completedOn (see deploymentObj).
func omitsCompletedOn(d *deployment) bool { return d.ID%3 == 0 }

// hDeployments lists classic release deployments; continuationToken is the id to resume from.
func hDeployments(q *rq) error {
	o := q.s.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	top, err := q.queryInt(50, "$top")
	if err != nil {
		return err
	}
	defID, _ := strconv.Atoi(q.query("definitionId"))
	defEnvID, _ := strconv.Atoi(q.query("definitionEnvironmentId"))
	status := strings.ToLower(q.query("deploymentStatus"))
	asc := strings.EqualFold(q.query("queryOrder"), "ascending")
	type rng struct {
		lo, hi       int64
		hasLo, hasHi bool
	}
	var started, modified rng
	if started.lo, started.hasLo, err = q.queryTime("minStartedTime"); err != nil {
		return err
	}
	if started.hi, started.hasHi, err = q.queryTime("maxStartedTime"); err != nil {
		return err
	}
	if modified.lo, modified.hasLo, err = q.queryTime("minModifiedTime"); err != nil {
		return err
	}
	if modified.hi, modified.hasHi, err = q.queryTime("maxModifiedTime"); err != nil {
		return err
	}
	ct, hasCT := 0, false
	if v := q.query("continuationToken"); v != "" {
		if ct, err = strconv.Atoi(v); err != nil {
			return badRequest("The continuation token '" + v + "' is not valid.")
		}
		hasCT = true
	}
	ds := q.proj.deployments
	// latestAttemptsOnly (ListDeployments of the 7.1 release.json): only the last attempt of each
	// release environment.
	var superseded map[*deployment]bool
	if strings.EqualFold(q.query("latestAttemptsOnly"), "true") {
		superseded = map[*deployment]bool{}
		latest := map[[2]int]*deployment{}
		for _, d := range ds {
			k := [2]int{d.rel.ID, d.env}
			if prev := latest[k]; prev != nil {
				superseded[prev] = true
			}
			latest[k] = d
		}
	}
	match := func(d *deployment) bool {
		if superseded[d] {
			return false
		}
		if defID != 0 && d.rel.def.ID != defID || defEnvID != 0 && d.rel.def.envs[d.env].ID != defEnvID {
			return false
		}
		if status != "" && status != "all" && strings.ToLower(d.status) != status {
			return false
		}
		if started.hasLo && d.started < started.lo || started.hasHi && d.started > started.hi {
			return false
		}
		mod := d.completed
		if mod == 0 {
			mod = d.started
		}
		return !(modified.hasLo && mod < modified.lo || modified.hasHi && mod > modified.hi)
	}
	var out [][]byte
	var next *deployment
	if asc {
		i := 0
		if hasCT {
			i = sort.Search(len(ds), func(k int) bool { return ds[k].ID >= ct })
		}
		for ; i < len(ds); i++ {
			if !match(ds[i]) {
				continue
			}
			if len(out) == top {
				next = ds[i]
				break
			}
			out = append(out, q.s.deploymentJSON(ds[i]))
		}
	} else {
		i := len(ds) - 1
		if hasCT {
			i = sort.Search(len(ds), func(k int) bool { return ds[k].ID > ct }) - 1
		}
		for ; i >= 0; i-- {
			if !match(ds[i]) {
				continue
			}
			if len(out) == top {
				next = ds[i]
				break
			}
			out = append(out, q.s.deploymentJSON(ds[i]))
		}
	}
	if next != nil {
		q.w.Header().Set("X-MS-ContinuationToken", strconv.Itoa(next.ID))
	}
	return q.listRaw(out)
}

// deploymentJSON caches finished deployments, which never change.
func (s *Sim) deploymentJSON(d *deployment) []byte {
	if d.completed == 0 {
		b, _ := json.Marshal(s.deploymentObj(d, true))
		return b
	}
	return s.cache.get("d:"+strconv.Itoa(d.ID), func() obj { return s.deploymentObj(d, true) })
}
