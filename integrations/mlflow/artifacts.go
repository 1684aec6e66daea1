package mlflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// downloadPath is the tracking server's artifact download route. MLflow
// serves it beside the REST API, not below /api/2.0/mlflow/.
const downloadPath = "/get-artifact"

// maxDownloadErrorBytes caps how much of a failed download's body the
// client reads to build an APIError.
const maxDownloadErrorBytes = 64 << 10

// ErrLimitExceeded matches, with errors.Is, the error that WalkArtifacts
// returns past maxFiles entries and DownloadArtifact past maxBytes bytes.
var ErrLimitExceeded = errors.New("mlflow: limit exceeded")

// FileInfo is one entry of a run's artifact listing.
type FileInfo struct {
	// Path is relative to the run's artifact root, such as "model/MLmodel".
	Path  string
	IsDir bool
	// FileSize is in bytes, and 0 for a directory.
	FileSize int64
}

// ListArtifacts returns the entries directly below path in the artifacts
// of run runID, following next_page_token until the server returns no
// token. An empty path lists the artifact root.
//
// NOTE: what a missing path or a file path returns depends on the server's
// artifact store. The fake returns an empty slice for both.
func (c *Client) ListArtifacts(ctx context.Context, runID, path string) ([]FileInfo, error) {
	if err := checkRunPath(runID, path, false); err != nil {
		return nil, fmt.Errorf("listing artifacts of run %s at %q: %w", runID, path, err)
	}

	var files []FileInfo
	seen := map[string]bool{}
	pageToken := ""
	for {
		page, next, err := c.listArtifactsPage(ctx, runID, path, pageToken)
		if err != nil {
			return nil, fmt.Errorf("listing artifacts of run %s at %q: %w", runID, path, err)
		}
		files = append(files, page...)

		if next == "" {
			return files, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("listing artifacts of run %s at %q: server repeated page token %q", runID, path, next)
		}
		seen[next] = true
		pageToken = next
	}
}

func (c *Client) listArtifactsPage(ctx context.Context, runID, path, pageToken string) ([]FileInfo, string, error) {
	query := url.Values{"run_id": {runID}}
	if path != "" {
		query.Set("path", path)
	}
	if pageToken != "" {
		query.Set("page_token", pageToken)
	}

	var resp struct {
		Files []struct {
			Path     string `json:"path"`
			IsDir    bool   `json:"is_dir"`
			FileSize int64  `json:"file_size"`
		} `json:"files"`
		NextPageToken string `json:"next_page_token"`
	}
	if err := c.get(ctx, "artifacts/list", query, &resp); err != nil {
		return nil, "", err
	}

	page := make([]FileInfo, 0, len(resp.Files))
	for _, file := range resp.Files {
		page = append(page, FileInfo{Path: file.Path, IsDir: file.IsDir, FileSize: file.FileSize})
	}
	return page, resp.NextPageToken, nil
}

// WalkArtifacts returns every entry below path in the artifacts of run
// runID, directories included, depth first in listing order. It sends one
// artifacts/list request per directory. When there are more than maxFiles
// entries, it stops and returns an error matching ErrLimitExceeded, so a
// huge or cyclic listing cannot run unbounded.
func (c *Client) WalkArtifacts(ctx context.Context, runID, path string, maxFiles int) ([]FileInfo, error) {
	if maxFiles < 1 {
		return nil, fmt.Errorf("walking artifacts of run %s at %q: %w", runID, path,
			invalidArgument("maxFiles must be at least 1, got %d", maxFiles))
	}

	var files []FileInfo
	if err := c.walk(ctx, runID, path, maxFiles, &files); err != nil {
		return nil, fmt.Errorf("walking artifacts of run %s at %q: %w", runID, path, err)
	}
	return files, nil
}

func (c *Client) walk(ctx context.Context, runID, path string, maxFiles int, files *[]FileInfo) error {
	entries, err := c.ListArtifacts(ctx, runID, path)
	if err != nil {
		return err
	}

	for _, entry := range entries {
		if len(*files) == maxFiles {
			return fmt.Errorf("%w: more than maxFiles (%d) entries", ErrLimitExceeded, maxFiles)
		}
		*files = append(*files, entry)

		if entry.IsDir {
			if err := c.walk(ctx, runID, entry.Path, maxFiles, files); err != nil {
				return err
			}
		}
	}
	return nil
}

// DownloadArtifact returns the content of the file path in the artifacts
// of run runID, from the tracking server's /get-artifact route with the
// same credentials as the REST API. A body longer than maxBytes gives an
// error matching ErrLimitExceeded. The client reads at most maxBytes+1
// bytes of a successful response, and at most 64 KiB of an error response.
func (c *Client) DownloadArtifact(ctx context.Context, runID, path string, maxBytes int64) ([]byte, error) {
	if err := checkRunPath(runID, path, true); err != nil {
		return nil, fmt.Errorf("downloading artifact %q of run %s: %w", path, runID, err)
	}
	if maxBytes < 1 {
		return nil, fmt.Errorf("downloading artifact %q of run %s: %w", path, runID,
			invalidArgument("maxBytes must be at least 1, got %d", maxBytes))
	}

	data, err := c.download(ctx, runID, path, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("downloading artifact %q of run %s: %w", path, runID, err)
	}
	return data, nil
}

func (c *Client) download(ctx context.Context, runID, path string, maxBytes int64) ([]byte, error) {
	query := url.Values{"path": {path}, "run_uuid": {runID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.rootURL+downloadPath+"?"+query.Encode(), nil)
	if err != nil {
		return nil, err
	}
	c.authorize(req)

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxDownloadErrorBytes))
		if err != nil {
			return nil, fmt.Errorf("reading error response: %w", err)
		}
		return nil, decodeAPIError(resp, body)
	}
	if resp.ContentLength > maxBytes {
		return nil, fmt.Errorf("%w: artifact is %d bytes, more than maxBytes (%d)", ErrLimitExceeded, resp.ContentLength, maxBytes)
	}

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: artifact is more than maxBytes (%d) bytes", ErrLimitExceeded, maxBytes)
	}
	return data, nil
}

// checkRunPath validates a run ID and an artifact path before a request.
// With requirePath, an empty path is rejected too.
func checkRunPath(runID, path string, requirePath bool) error {
	if runID == "" {
		return invalidArgument("run ID is required")
	}
	if path == "" && requirePath {
		return invalidArgument("artifact path is required")
	}
	return validateArtifactPath(path)
}

// validateArtifactPath rejects an artifact path that is absolute or
// contains a backslash, a ".." segment or a control character, so such a
// path is never sent, whatever check the server applies.
func validateArtifactPath(path string) error {
	if strings.HasPrefix(path, "/") {
		return invalidArgument("invalid artifact path %q: it must be relative to the run's artifact root", path)
	}
	if strings.Contains(path, `\`) {
		return invalidArgument(`invalid artifact path %q: use "/" as the separator, not "\"`, path)
	}
	for _, segment := range strings.Split(path, "/") {
		if segment == ".." {
			return invalidArgument("invalid artifact path %q: it must not contain a \"..\" segment", path)
		}
	}
	for _, r := range path {
		if r < 0x20 || r == 0x7f {
			return invalidArgument("invalid artifact path %q: it contains a control character", path)
		}
	}
	return nil
}

// ModelArtifactPath returns the run and the artifact path within that run
// that mv was registered from, parsed from mv.Source.
//
// A "runs:/<run_id>/<path>" source gives that run ID. Any other URI must
// contain "/<mv.RunID>/artifacts" and gives mv.RunID, for example
// "mlflow-artifacts:/1/<run_id>/artifacts/model" or an s3:// run artifact
// URI. The path is "" when
// the source is the run's artifact root. It returns false for other
// sources, such as a logged model stored outside a run's artifacts, and for
// a path that DownloadArtifact would reject.
func ModelArtifactPath(mv ModelVersion) (runID, path string, ok bool) {
	if rest, isRunsURI := strings.CutPrefix(mv.Source, "runs:/"); isRunsURI {
		runID, path, _ = strings.Cut(rest, "/")
		return checkedModelPath(runID, path)
	}
	if mv.RunID == "" {
		return "", "", false
	}

	marker := "/" + mv.RunID + "/artifacts"
	index := strings.Index(mv.Source, marker)
	if index < 0 {
		return "", "", false
	}
	rest := mv.Source[index+len(marker):]
	if rest != "" && !strings.HasPrefix(rest, "/") {
		return "", "", false
	}
	return checkedModelPath(mv.RunID, strings.TrimPrefix(rest, "/"))
}

func checkedModelPath(runID, path string) (string, string, bool) {
	path = strings.TrimSuffix(path, "/")
	if runID == "" || validateArtifactPath(path) != nil {
		return "", "", false
	}
	return runID, path, true
}
