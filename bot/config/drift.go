package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/yaml"
)

// DriftCheck compares a model's current data with its reference on a
// schedule. A column drifts when any given threshold is crossed.
type DriftCheck struct {
	Model     string   `json:"model"`
	Reference string   `json:"reference"` // CSV or Parquet file
	Current   string   `json:"current"`   // CSV or Parquet file
	Columns   []string `json:"columns"`   // empty: every numeric column
	// Every is how often the check runs, as a Go duration; "24h" by
	// default.
	Every string `json:"every"`
	// PSI is the population stability index above which a column drifts.
	// Left out of the file it is 0.2. An explicit 0 makes every column
	// with a PSI above 0 drift.
	PSI float64 `json:"psi"`
	// KSPValue is the Kolmogorov-Smirnov p-value below which a column
	// drifts. Left out of the file it is 0.01. An explicit 0 turns the KS
	// test off, since no p-value is below 0.
	KSPValue float64 `json:"ksPValue"`
	// KL is the KL divergence above which a column drifts; 0 ignores it.
	KL float64 `json:"kl"`
	// SOP is the SOP a detected drift opens; "SOP-03" by default.
	SOP string `json:"sop"`

	// psiGiven and ksPValueGiven record that the config file sets psi or
	// ksPValue, so that WithDefaults keeps an explicit 0. In a DriftCheck
	// built in Go they are false, and a 0 takes the default.
	psiGiven, ksPValueGiven bool
}

// withDefaults returns d with its unset settings at their defaults.
func (d DriftCheck) withDefaults() DriftCheck {
	setDefault(&d.Every, "24h")
	setDefault(&d.SOP, "SOP-03")
	if d.PSI == 0 && !d.psiGiven {
		d.PSI = defaultPSI
	}
	if d.KSPValue == 0 && !d.ksPValueGiven {
		d.KSPValue = defaultKSPValue
	}
	return d
}

// Interval returns how often the check runs.
func (d DriftCheck) Interval() time.Duration {
	every, err := time.ParseDuration(d.Every)
	if err != nil || every <= 0 {
		return 24 * time.Hour
	}
	return every
}

func (c Config) validateDrift() []string {
	var problems []string
	for i, d := range c.Drift {
		setting := fmt.Sprintf("drift[%d]", i)
		if d.Model == "" || d.Reference == "" || d.Current == "" {
			problems = append(problems, setting+" needs model, reference and current")
		}
		if every, err := time.ParseDuration(d.Every); err != nil || every < time.Minute {
			problems = append(problems, fmt.Sprintf("%s.every %q is not a duration of at least 1m, such as 24h", setting, d.Every))
		}
		if d.PSI < 0 || d.KL < 0 || d.KSPValue < 0 || d.KSPValue > 1 {
			problems = append(problems, setting+" has a negative threshold or a ksPValue outside 0..1")
		}
		for _, file := range []struct{ key, path string }{{"reference", d.Reference}, {"current", d.Current}} {
			if file.path == "" {
				continue
			}
			problem := unreadableFileProblem(file.path)
			if file.key == "current" && errors.Is(statErr(file.path), fs.ErrNotExist) {
				// A pipeline often writes the current data only after the
				// bot starts, so its file may be missing as long as its
				// directory exists.
				problem = missingDirectoryProblem(file.path)
			}
			if problem != "" {
				problems = append(problems, fmt.Sprintf("%s.%s %q %s", setting, file.key, file.path, problem))
			}
		}
	}
	return problems
}

// unreadableFileProblem returns why the drift check cannot read the file
// at path, with what to do, or "" when the file opens for reading. The
// check reads it at each run, so a file found here can still go missing
// later.
func unreadableFileProblem(path string) string {
	// Stat comes first because opening a named pipe blocks until a writer
	// opens it too.
	info, err := os.Stat(path)
	if err != nil {
		return openProblem(path, err)
	}
	if info.IsDir() {
		return "is a directory: give a CSV or Parquet file"
	}
	if !info.Mode().IsRegular() {
		return fmt.Sprintf("is not a regular file (mode %s): give a CSV or Parquet file", info.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return openProblem(path, err)
	}
	f.Close()
	return ""
}

func statErr(path string) error {
	_, err := os.Stat(path)
	return err
}

// missingDirectoryProblem returns why the directory of a file that does
// not exist yet cannot hold it, or "" when it is a directory.
func missingDirectoryProblem(path string) string {
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		where := ""
		if abs, absErr := filepath.Abs(dir); absErr == nil && abs != dir {
			where = fmt.Sprintf(" (a relative path is resolved from the working directory, so this is %s)", abs)
		}
		return fmt.Sprintf("is in directory %q, which does not exist: create the directory or correct the path%s", dir, where)
	}
	if err != nil {
		return fmt.Sprintf("is in directory %q, which %s", dir, openProblem(dir, err))
	}
	if !info.IsDir() {
		return fmt.Sprintf("is in %q, which is not a directory: correct the path", dir)
	}
	return ""
}

// openProblem returns the problem of a failed stat or open of a drift
// check's file.
func openProblem(path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		where := ""
		if abs, absErr := filepath.Abs(path); absErr == nil && abs != path {
			where = fmt.Sprintf(" (a relative path is resolved from the working directory, so this is %s)", abs)
		}
		return "does not exist: create the file or correct the path" + where
	case errors.Is(err, fs.ErrPermission):
		return "cannot be read (permission denied): give the user that runs sopbot read access to the file and its directories"
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	return fmt.Sprintf("cannot be read (%v): correct the path", err)
}

// markGivenThresholds records which drift[] entries of a config file set
// psi or ksPValue, because the decoded 0 of a key left out and that of an
// explicit 0 are the same float64. A null value counts as left out.
func markGivenThresholds(data []byte, cfg *Config) error {
	var explicit struct {
		Drift []struct {
			PSI      *float64 `json:"psi"`
			KSPValue *float64 `json:"ksPValue"`
		} `json:"drift"`
	}
	if err := yaml.Unmarshal(data, &explicit); err != nil {
		return err
	}
	for i, d := range explicit.Drift {
		if i < len(cfg.Drift) {
			cfg.Drift[i].psiGiven = d.PSI != nil
			cfg.Drift[i].ksPValueGiven = d.KSPValue != nil
		}
	}
	return nil
}

// DriftWithoutRetraining returns, for each drift check that opens SOP-03
// requests for a model with no entry under retraining.models, a warning
// with what to do. Such a request opens, and its retraining actions fail.
func (c Config) DriftWithoutRetraining() []string {
	var warnings []string
	for i, d := range c.Drift {
		if d.SOP != "SOP-03" {
			continue
		}
		if _, ok := c.Retraining.Models[d.Model]; !ok {
			warnings = append(warnings, fmt.Sprintf("drift[%d] opens SOP-03 requests for model %q, which has no retraining policy, so their retraining actions fail: add it under retraining.models", i, d.Model))
		}
	}
	return warnings
}
