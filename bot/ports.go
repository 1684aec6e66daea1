package bot

import (
	"context"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/slack"
)

// GitHub is the part of the GitHub REST API the effect workers call.
// Every call acts in the configured repository as the given installation.
type GitHub interface {
	CreateIssue(ctx context.Context, installationID int64, title, body string, labels []string) (github.Issue, error)
	// FindIssueByMarker returns the newest issue carrying label whose body
	// contains marker, so a retried create finds its earlier issue.
	FindIssueByMarker(ctx context.Context, installationID int64, label, marker string) (github.Issue, bool, error)
	GetIssue(ctx context.Context, installationID int64, number int) (github.Issue, error)
	// UpdateIssue changes the fields of update in one request and returns
	// the issue as GitHub stored it.
	UpdateIssue(ctx context.Context, installationID int64, number int, update github.IssueUpdate) (github.Issue, error)
	CreateComment(ctx context.Context, installationID int64, number int, body string) (github.Comment, error)
	// FindComment reports whether a comment on the issue contains marker.
	FindComment(ctx context.Context, installationID int64, number int, marker string) (bool, error)
	CloseIssue(ctx context.Context, installationID int64, number int) error
	IsTeamMember(ctx context.Context, installationID int64, org, team, login string) (bool, error)
	// RepositoryInstallation looks up the installation id of the configured
	// repository with the app's own credentials.
	RepositoryInstallation(ctx context.Context) (int64, error)

	SetCommitStatus(ctx context.Context, installationID int64, sha, state, statusContext, description, targetURL string) error
	GetPullRequest(ctx context.Context, installationID int64, number int) (github.PullRequest, error)
	ListReviews(ctx context.Context, installationID int64, number int) ([]github.Review, error)
	ListComments(ctx context.Context, installationID int64, number int, since time.Time) ([]github.Comment, error)
	ListOpenIssues(ctx context.Context, installationID int64, label string) ([]github.Issue, error)
}

// Slack is the part of the Slack API the effect workers call.
type Slack interface {
	// Respond posts to a slash command's response_url.
	Respond(ctx context.Context, responseURL string, msg slack.Message) error
	// Post sends a message to a channel or user with chat.postMessage.
	Post(ctx context.Context, channel string, msg slack.Message) error
	PostBlocks(ctx context.Context, channel, text string, blocks []goslack.Block) (string, error)
	UpdateMessage(ctx context.Context, channel, ts, text string, blocks []goslack.Block) error
	OpenView(ctx context.Context, triggerID string, view goslack.ModalViewRequest) error
}

// Registry is the part of the MLflow model registry the actions call.
type Registry interface {
	GetModelVersion(ctx context.Context, name, version string) (mlflow.ModelVersion, error)
	GetModelVersionByAlias(ctx context.Context, name, alias string) (mlflow.ModelVersion, error)
	SearchModelVersions(ctx context.Context, name string) ([]mlflow.ModelVersion, error)
	TransitionStage(ctx context.Context, name, version, stage string, archiveExisting bool) (mlflow.ModelVersion, error)
	SetModelVersionTag(ctx context.Context, name, version, key, value string) error
	SetAlias(ctx context.Context, name, alias, version string) error
	// ModelURL returns the registry UI address of a model version.
	ModelURL(name, version string) string

	GetRun(ctx context.Context, runID string) (mlflow.Run, error)
	// WalkArtifacts lists the files under path, recursively, failing past
	// maxFiles.
	WalkArtifacts(ctx context.Context, runID, path string, maxFiles int) ([]mlflow.FileInfo, error)
	// DownloadArtifact reads one artifact file, failing past maxBytes.
	DownloadArtifact(ctx context.Context, runID, path string, maxBytes int64) ([]byte, error)
}

// ScanFinding is one problem the artifact scanner found. It never carries
// a secret's value.
type ScanFinding struct {
	Severity string // error, warning or info
	Kind     string // such as "dangerous-global" or "aws-access-key-id"
	Subject  string // module.name of a global, or the secret's kind
	File     string
	Member   string // archive member, if any
	Offset   int64
	Detail   string
}

// ArtifactScanner scans one artifact file's bytes without loading it.
type ArtifactScanner interface {
	Scan(ctx context.Context, name string, data []byte) ([]ScanFinding, error)
}
