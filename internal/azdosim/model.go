package azdosim

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// org is the whole simulated state. One RWMutex guards it: REST reads take the read lock,
// activity and writes through the API take the write lock.
type org struct {
	mu sync.RWMutex

	seed         uint64
	name         string // organization or collection name
	id           string // collection/account id (resourceContainers)
	instanceID   string
	deploymentID string
	hostID       string

	idents  []identity
	service identity // the identity PAT-less system events use

	projects  []*project
	projByKey map[string]*project // lower-cased name and id
	repoByID  map[string]*repo    // lower-cased id

	prs         []*pullRequest // index = id-1
	builds      []*build       // index = id-1
	workItems   []*workItem    // index = id-1
	releases    []*release     // index = id-1
	deployments []*deployment  // index = id-1
	pipelines   map[int]*pipeline
	envs        map[int]*environment
	envRecords  int // last environment deployment record id

	nextPush   int32
	nextRelEnv int
	eventSeq   uint64
	version    uint64 // bumped by every write; part of the render cache key of mutable items
}

type identity struct {
	ID, Name, Email, Descriptor string
}

type project struct {
	ID, Name, Description string
	Revision              int
	LastUpdate            time.Time
	idx                   int
	repos                 []*repo
	pipelines             []*pipeline
	envs                  []*environment
	relDefs               []*releaseDef
	builds                []*build    // ascending id
	workItems             []*workItem // ascending id
	deployments           []*deployment
	queueID               int
	orderMu               sync.Mutex
	orders                map[string][]*build // build orders for the builds list, see buildsIn
}

type repo struct {
	ID, Name string
	proj     *project
	idx      int // global repo index, part of the commit sha derivation
	size     int
	commits  []commit // ascending committer time; the default branch history
	pushes   []push   // ascending id
	prs      []*pullRequest
	branches []*branch // every branch but the default one, in creation order
	// Pull request source commits keep their ids when completion brings them onto the default
	// branch; only activity creates such overrides.
	shaOverride map[int32]string
	shaRev      map[string]int32
	// firstParent overrides the first parent of a default-branch commit that is not the previous
	// index (a completed pull request's first source commit keeps the parent it was made on).
	firstParent map[int32]string
}

// branch is a ref other than the default branch. Its own commits fork from the default branch:
// the first one's parent is the default-branch commit base. A branch without commits of its own
// points at base. Ids: a pull request's source branch uses offSha(pr, j), others branchSha.
type branch struct {
	name    string // refs/heads/…
	base    int32  // default-branch commit index it forked from
	pr      *pullRequest
	ord     int // per-repository ordinal, part of the commit id of a branch without pull request
	creator uint16
	commits []commit // its own commits, ascending time
}

// cref names one commit: of the default branch (br nil) or of a branch's own commits.
type cref struct {
	r  *repo
	br *branch
	i  int32
}

func (x cref) c() *commit {
	if x.br != nil {
		return &x.br.commits[x.i]
	}
	return &x.r.commits[x.i]
}

// csha is the id of a commit of either kind.
func (o *org) csha(x cref) string {
	if x.br == nil {
		return o.sha(x.r, x.i)
	}
	return o.branchSha(x.r, x.br, int(x.i))
}

// branchSha is the id of a branch's own commit j.
func (o *org) branchSha(r *repo, b *branch, j int) string {
	if b.pr != nil {
		return o.offSha(b.pr.ID, j)
	}
	return o.offSha(-int32(r.idx*1000+b.ord+1), j)
}

// head is the commit a branch points at.
func (o *org) branchHead(r *repo, b *branch) string {
	if len(b.commits) > 0 {
		return o.branchSha(r, b, len(b.commits)-1)
	}
	return o.sha(r, b.base)
}

func (r *repo) branch(name string) *branch {
	name = "refs/heads/" + strings.TrimPrefix(name, "refs/heads/")
	for _, b := range r.branches {
		if strings.EqualFold(b.name, name) {
			return b
		}
	}
	return nil
}

func (r *repo) removeBranch(b *branch) {
	for i, x := range r.branches {
		if x == b {
			r.branches = append(r.branches[:i:i], r.branches[i+1:]...)
			return
		}
	}
}

// findCommit resolves an id on the default branch or among the branches' own commits.
func (o *org) findCommit(r *repo, sha string) (cref, bool) {
	if idx, ok := o.commitIndex(r, sha); ok {
		return cref{r: r, i: idx}, true
	}
	sha = strings.ToLower(sha)
	for _, b := range r.branches {
		for j := range b.commits {
			if o.branchSha(r, b, j) == sha {
				return cref{r: r, br: b, i: int32(j)}, true
			}
		}
	}
	return cref{}, false
}

// commit is kept compact: a million of them fit in a few tens of megabytes. The sha and message
// are derived when rendered.
type commit struct {
	at       int64 // unix seconds, committer date (and author date unless authored is set)
	authored int64 // author date when earlier than at (rebased, cherry-picked), else 0
	parent2  int32 // second parent index for merge commits, -1 otherwise
	base     int32 // first parent of a merge commit (the target head it merged into)
	wi       int32 // work item mentioned with #id, 0 for none
	pr       int32 // pull request merged by this commit, 0 for none
	push     int32 // push id
	author   uint16
	msg      uint16
	add, edt uint16
	del      uint16
}

type push struct {
	id          int32
	first, last int32   // commit indexes, inclusive, of the default branch or of br's own commits
	br          *branch // nil: the default branch
	by          uint16
	at          int64
}

func (c *commit) authorAt() int64 {
	if c.authored != 0 {
		return c.authored
	}
	return c.at
}

// Pull request statuses as the REST API spells them.
const (
	prActive    = "active"
	prCompleted = "completed"
	prAbandoned = "abandoned"
)

type reviewer struct {
	ident    uint16
	vote     int8
	required bool
	votedAt  int64
}

type pullRequest struct {
	ID          int32
	repo        *repo
	status      string
	draft       bool
	createdBy   uint16
	closedBy    uint16
	created     int64
	closed      int64
	title       string
	description string
	branch      string
	reviewers   []reviewer
	mergeIdx    int32   // merge commit index on the default branch, -1 if none
	srcIdx      int32   // last source commit index, -1 when the source commits are off the default branch
	src         *branch // the source branch while it exists (not completed)
	tgtIdx      int32
	nCommits    int32
	workItems   []int32
	threads     []*thread // materialized on first access
	threadsSeed bool
	mergeStatus string
}

type thread struct {
	ID          int
	published   int64
	updated     int64
	status      string
	properties  map[string]any
	comments    []*comment
	filePath    string
	isSystem    bool
	deleted     bool
	threadCtxOK bool
}

type comment struct {
	ID        int
	parent    int
	author    uint16
	content   string
	published int64
	updated   int64
	kind      string // text | system
	deleted   bool
}

type pipeline struct {
	ID       int
	Name     string
	Folder   string
	Revision int
	repo     *repo
	proj     *project
	deploys  bool
}

// Stage outcomes of a YAML run.
const (
	stNotRun uint8 = iota
	stSucceeded
	stFailed
	stCanceled
	stSkipped
	stInProgress
)

var stageNames = []string{"Build", "Test", "Deploy_dev", "Deploy_staging", "Deploy_production"}
var envNames = []string{"dev", "staging", "production"}

type build struct {
	ID           int
	pipe         *pipeline
	status       string // completed | inProgress | notStarted
	result       string // succeeded | partiallySucceeded | failed | canceled | none
	reason       string
	queue        int64
	start        int64
	finish       int64 // 0 while running
	branch       string
	commitIdx    int32
	requestedFor uint16
	stages       [5]uint8
	stageEnd     [5]int64
	deleted      bool
	yamlError    bool // failed before any stage ran: the timeline answers 204
}

type environment struct {
	ID      int
	Name    string
	proj    *project
	created int64
	records []envRecord
}

type envRecord struct {
	ID    int
	build *build
	stage int
}

type releaseDef struct {
	ID      int
	Name    string
	proj    *project
	envs    []relDefEnv
	pipe    *pipeline
	created int64
}

type relDefEnv struct {
	ID   int // definitionEnvironmentId
	Name string
}

type release struct {
	ID      int
	Name    string
	def     *releaseDef
	created int64
	by      uint16
	envIDs  []int // releaseEnvironment ids, one per definition environment
	build   *build
}

type deployment struct {
	ID          int
	rel         *release
	env         int    // index into def.envs
	status      string // succeeded | failed | partiallySucceeded | inProgress | notDeployed
	opStatus    string
	attempt     int
	reason      string
	queued      int64
	started     int64
	completed   int64
	requestedBy uint16
	approvedBy  uint16
}

// Work item types and their states (Agile process).
var wiStates = map[string][]string{
	"User Story": {"New", "Active", "Resolved", "Closed"},
	"Bug":        {"New", "Active", "Resolved", "Closed"},
	"Task":       {"New", "Active", "Closed"},
}

type wiRev struct {
	at    int64
	state string
	by    uint16
}

type workItem struct {
	ID        int
	proj      *project
	typ       string
	title     string
	tags      string
	priority  int
	severity  string
	createdBy uint16
	assigned  uint16
	revs      []wiRev // revs[0] is creation; len(revs) is the rev number
	commits   []commitRef
	prs       []int32
	comments  int
	deleted   bool
	area      int // index into areaNames
}

var areaNames = []string{"Backend", "Frontend", "Platform"}

func (w *workItem) areaPath() string { return w.proj.Name + "\\" + areaNames[w.area] }

type commitRef struct {
	repo *repo
	idx  int32
}

func (w *workItem) state() string     { return w.revs[len(w.revs)-1].state }
func (w *workItem) changed() int64    { return w.revs[len(w.revs)-1].at }
func (w *workItem) created() int64    { return w.revs[0].at }
func (w *workItem) changedBy() uint16 { return w.revs[len(w.revs)-1].by }

// ---- deterministic ids -------------------------------------------------------------------------

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// guid returns a deterministic version-4 style GUID for a (seed, kind, n) triple.
func guid(seed uint64, kind string, n int) string {
	h := seed
	for i := 0; i < len(kind); i++ {
		h = splitmix(h ^ uint64(kind[i]))
	}
	a, b := splitmix(h^uint64(n)), splitmix(h+uint64(n)*31+7)
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], a)
	binary.BigEndian.PutUint64(u[8:], b)
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	x := hex.EncodeToString(u[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// sha derives a commit id that encodes its own index: bytes 0-7 are pseudo-random, bytes 16-19
// are the index masked with a hash of bytes 0-7. commitIndex reverses it without a map.
func (o *org) sha(r *repo, idx int32) string {
	if r.shaOverride != nil {
		if s, ok := r.shaOverride[idx]; ok {
			return s
		}
	}
	var b [20]byte
	v := splitmix(o.seed ^ uint64(r.idx)<<40 ^ uint64(idx))
	binary.BigEndian.PutUint64(b[:8], v)
	binary.BigEndian.PutUint64(b[8:16], splitmix(v))
	binary.BigEndian.PutUint32(b[16:], uint32(idx)^uint32(splitmix(v+1)))
	return hex.EncodeToString(b[:])
}

func (o *org) commitIndex(r *repo, sha string) (int32, bool) {
	if len(sha) != 40 {
		return 0, false
	}
	if r.shaRev != nil {
		if idx, ok := r.shaRev[strings.ToLower(sha)]; ok {
			return idx, true
		}
	}
	b, err := hex.DecodeString(sha)
	if err != nil {
		return 0, false
	}
	v := binary.BigEndian.Uint64(b[:8])
	idx := int32(binary.BigEndian.Uint32(b[16:]) ^ uint32(splitmix(v+1)))
	if idx < 0 || int(idx) >= len(r.commits) || o.sha(r, idx) != strings.ToLower(sha) {
		return 0, false
	}
	return idx, true
}

// offSha is the id of a commit that lives only on a pull request's source branch.
func (o *org) offSha(prID int32, j int) string {
	var b [20]byte
	binary.BigEndian.PutUint64(b[:8], splitmix(o.seed^0xabcdef^uint64(prID)<<8^uint64(j)))
	binary.BigEndian.PutUint64(b[8:16], splitmix(uint64(prID)*977+uint64(j)))
	binary.BigEndian.PutUint32(b[16:], uint32(splitmix(uint64(j)^uint64(prID))))
	return hex.EncodeToString(b[:])
}

// ---- lookups ----------------------------------------------------------------------------------

func (o *org) project(key string) *project { return o.projByKey[strings.ToLower(key)] }

func (o *org) repo(p *project, key string) *repo {
	if r := o.repoByID[strings.ToLower(key)]; r != nil && (p == nil || r.proj == p) {
		return r
	}
	if p != nil {
		for _, r := range p.repos {
			if strings.EqualFold(r.Name, key) {
				return r
			}
		}
	}
	return nil
}

func (o *org) pr(id int) *pullRequest {
	if id < 1 || id > len(o.prs) {
		return nil
	}
	return o.prs[id-1]
}

func (o *org) build(id int) *build {
	if id < 1 || id > len(o.builds) {
		return nil
	}
	return o.builds[id-1]
}

func (o *org) workItem(id int) *workItem {
	if id < 1 || id > len(o.workItems) {
		return nil
	}
	return o.workItems[id-1]
}

// commitAtOrAfter returns the first commit index with at >= t.
func (r *repo) commitAtOrAfter(t int64) int {
	return sort.Search(len(r.commits), func(i int) bool { return r.commits[i].at >= t })
}

var messageTemplates = []string{
	"Fix null reference in %s",
	"Add retry to %s client",
	"Refactor %s handler",
	"Update %s dependencies",
	"Improve logging in %s",
	"Remove dead code from %s",
	"Speed up %s queries",
	"Add tests for %s",
	"Handle timeout in %s",
	"Rename fields in %s model",
	"Document %s configuration",
	"Validate input in %s form",
}

var components = []string{"billing", "checkout", "auth", "search", "catalog", "inventory", "notifications",
	"reporting", "gateway", "scheduler", "profile", "export"}

// message renders a commit message. Merge commits use the real "Merged PR n: title" form.
func (o *org) message(r *repo, c *commit) string {
	if c.pr != 0 {
		if pr := o.pr(int(c.pr)); pr != nil {
			return fmt.Sprintf("Merged PR %d: %s", pr.ID, pr.title)
		}
	}
	t := messageTemplates[int(c.msg)%len(messageTemplates)]
	m := fmt.Sprintf(t, components[int(c.msg/uint16(len(messageTemplates)))%len(components)])
	if c.wi != 0 {
		m += fmt.Sprintf(" #%d", c.wi)
	}
	return m
}

func newRand(seed uint64, stream string, n int) *rand.Rand {
	h := seed
	for i := 0; i < len(stream); i++ {
		h = splitmix(h ^ uint64(stream[i]))
	}
	return rand.New(rand.NewPCG(h, uint64(n)))
}

func unixTime(t int64) time.Time { return time.Unix(t, 0).UTC() }
