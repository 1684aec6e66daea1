package main

import (
	"context"
	"fmt"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/evidence/scan"
)

// artifactScanner adapts the pickle and secret scanner to the engine's
// ArtifactScanner.
type artifactScanner struct{ scanner scan.Scanner }

// Scan scans one downloaded artifact file.
func (a *artifactScanner) Scan(_ context.Context, name string, data []byte) ([]bot.ScanFinding, error) {
	report, err := a.scanner.ScanBytes(name, data)
	if err != nil {
		return nil, fmt.Errorf("scanning %s: %w", name, err)
	}
	findings := make([]bot.ScanFinding, 0, len(report.Findings))
	for _, f := range report.Findings {
		findings = append(findings, bot.ScanFinding{
			Severity: f.Severity.String(), Kind: string(f.Kind), Subject: f.Target(),
			File: f.File, Member: f.Member, Offset: f.Offset, Detail: f.Detail,
		})
	}
	return findings, nil
}
