package main

import (
	"fmt"
	"strings"
	"time"

	"sbdeploy/deploy"
)

// report collects what the run did, for the job summary.
type report struct {
	cfg         *config
	started     time.Time
	bundleTime  time.Duration
	steps       []deploy.StepDone
	bundleBytes int
	gzipBytes   int
	uploadBytes int
	sha256      string
	migrationID string
	err         error
}

// markdown renders the job summary: what was deployed, how large, how long.
func (r *report) markdown() string {
	var b strings.Builder
	status := "Deployed migration"
	switch {
	case r.err != nil:
		status = "Deploy failed"
	case r.cfg.dryRun:
		status = "Dry run: nothing was sent"
	}
	fmt.Fprintf(&b, "### StateBacked: %s\n\n| | |\n|---|---|\n", status)
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	row("Machine", code(r.cfg.machine))
	row("Versions", code(r.cfg.from)+" → "+code(r.cfg.to))
	if r.migrationID != "" {
		row("Migration ID", code(r.migrationID))
	}
	if r.bundleBytes > 0 {
		row("Bundle", fmt.Sprintf("%s minified, %s gzipped, %s uploaded",
			bytesText(r.bundleBytes), bytesText(r.gzipBytes), bytesText(r.uploadBytes)))
		row("SHA-256", code(r.sha256))
	}
	times := []string{"bundle " + ms(r.bundleTime)}
	for _, s := range r.steps {
		times = append(times, fmt.Sprintf("%s %s", s.Step, ms(s.Duration)))
	}
	times = append(times, "total "+ms(time.Since(r.started)))
	row("Times", strings.Join(times, ", "))
	if r.err != nil {
		row("Error", cell(firstLine(r.err.Error())))
	}
	return b.String()
}

// writeSummary adds the report to the job summary, when there is one. A
// summary that cannot be written is a warning: the deploy itself happened.
func (r *report) writeSummary(log *logger) {
	if log.action.Getenv("GITHUB_STEP_SUMMARY") == "" {
		return
	}
	defer func() {
		if p := recover(); p != nil { // go-githubactions panics when the file cannot be written
			log.action.Warningf("could not write the job summary: %v", p)
		}
	}()
	md, _ := redact(r.markdown(), log.secrets)
	log.action.AddStepSummary(md)
}

// code formats s as inline code in a table cell.
func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(cell(s), "`", "'") + "`"
}

// cell keeps s on one line and inside its table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
