package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// checkArtifacts downloads every file of the version's model artifacts
// through MLflow and scans it. Only a scan with no error or warning passes.
func (w *Workers) checkArtifacts(ctx context.Context, req store.Request) (CheckFinished, error) {
	model, version := req.Params["model"], req.Params["version"]
	result := CheckFinished{RequestID: req.ID}
	if w.Scanner == nil {
		result.NotApplicable = true
		result.Evidence = "this sopbot has no artifact scanner."
		return result, nil
	}
	mv, err := w.Registry.GetModelVersion(ctx, model, version)
	if errors.Is(err, mlflow.ErrNotFound) {
		result.Evidence = fmt.Sprintf("version %s of `%s` is not in MLflow.", version, model)
		return result, nil
	}
	if err != nil {
		return result, err
	}
	runID, root, ok := mlflow.ModelArtifactPath(mv)
	if !ok {
		result.Evidence = fmt.Sprintf("the artifact location of %s v%s (`%s`) is not a run artifact sopbot can download, so it was not scanned.", model, version, clip(mv.Source, 120))
		return result, nil
	}
	files, err := w.Registry.WalkArtifacts(ctx, runID, root, w.Evidence.ScanMaxFiles)
	if err != nil {
		if mlflow.IsPermanent(err) || errors.Is(err, mlflow.ErrLimitExceeded) {
			result.Evidence = fmt.Sprintf("listing the artifacts under `%s` failed: %v", root, err)
			return result, nil
		}
		return result, err
	}

	var findings []ScanFinding
	scanned := 0
	for _, f := range files {
		if f.IsDir {
			continue
		}
		found, err := w.scanFile(ctx, runID, f)
		if err != nil {
			return result, err
		}
		findings = append(findings, found...)
		scanned++
	}
	result.Report = findingsTable(findings)
	blocking := countBlocking(findings)
	switch {
	case scanned == 0:
		result.Evidence = fmt.Sprintf("no artifact files under `%s` of run `%s`.", root, runID)
	case blocking == 0:
		result.Passed = true
		result.Evidence = fmt.Sprintf("scanned %d file(s) under `%s` of run `%s`: no pickle exploit, unknown import or embedded secret.", scanned, root, runID)
		if len(findings) == 0 {
			result.Report = ""
		}
	default:
		result.Evidence = fmt.Sprintf("scanned %d file(s) under `%s` of run `%s`: %d finding(s) block the review.", scanned, root, runID, blocking)
	}
	return result, nil
}

// scanFile downloads and scans one file. A file over the size bound, or one
// the download refuses, is itself a finding, so the scan cannot pass by
// skipping it.
func (w *Workers) scanFile(ctx context.Context, runID string, f mlflow.FileInfo) ([]ScanFinding, error) {
	limit := w.Evidence.ScanMaxFileBytes
	if f.FileSize > limit {
		return []ScanFinding{{Severity: "error", Kind: "not-scanned", File: f.Path,
			Detail: fmt.Sprintf("%d bytes, above the scan limit of %d (evidence.scanMaxFileBytes)", f.FileSize, limit)}}, nil
	}
	data, err := w.Registry.DownloadArtifact(ctx, runID, f.Path, limit)
	if err != nil {
		if mlflow.IsPermanent(err) || errors.Is(err, mlflow.ErrLimitExceeded) {
			return []ScanFinding{{Severity: "error", Kind: "not-scanned", File: f.Path, Detail: "download failed: " + err.Error()}}, nil
		}
		return nil, err
	}
	found, err := w.Scanner.Scan(ctx, f.Path, data)
	if err != nil {
		return []ScanFinding{{Severity: "error", Kind: "not-scanned", File: f.Path, Detail: "scan failed: " + err.Error()}}, nil
	}
	return found, nil
}

func countBlocking(findings []ScanFinding) int {
	n := 0
	for _, f := range findings {
		if f.Severity == "error" || f.Severity == "warning" {
			n++
		}
	}
	return n
}

// findingsTable renders findings as a Markdown table.
func findingsTable(findings []ScanFinding) string {
	if len(findings) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| severity | kind | what | file | member | offset | detail |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, f := range findings {
		fmt.Fprintf(&b, "| %s | %s | `%s` | `%s` | %s | %d | %s |\n", f.Severity, f.Kind, tableText(f.Subject),
			tableText(f.File), tableText(f.Member), f.Offset, tableText(f.Detail))
	}
	return b.String()
}

// tableText keeps a value on one table line and out of the Markdown.
func tableText(s string) string {
	s = strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "`", "'").Replace(s)
	return clip(s, 160)
}
