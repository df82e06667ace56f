package main

import (
	"fmt"
	"strings"
	"time"

	"sbdeploy/deploy"
)

// report collects what the run did, for the job summary.
type report struct {
	cfg            *config
	started        time.Time
	bundles        []*built
	steps          []deploy.StepDone
	machineCreated bool
	versionID      string
	migrationID    string
	teardown       *deploy.TeardownResult // teardown mode only
	err            error
}

// markdown renders the job summary: what was done, how large, how long.
func (r *report) markdown() string {
	var rows [][2]string
	if r.cfg.mode == modeTeardown {
		rows = append(teardownRows(r.cfg, r.teardown), [2]string{"Time", ms(time.Since(r.started))})
	} else {
		rows = r.codeRows()
	}
	if r.err != nil {
		rows = append(rows, [2]string{"Error", cell(firstLine(r.err.Error()))})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### StateBacked: %s\n\n| | |\n|---|---|\n", r.title())
	for _, kv := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], kv[1])
	}
	return b.String()
}

func (r *report) title() string {
	teardown := r.cfg.mode == modeTeardown
	switch {
	case r.err != nil && teardown:
		return "Teardown failed"
	case r.err != nil:
		return "Deploy failed"
	case r.cfg.dryRun && teardown:
		return "Teardown dry run: nothing was deleted"
	case r.cfg.dryRun:
		return "Dry run: nothing was sent"
	case teardown:
		return "Teardown"
	case r.cfg.mode == modeVersion:
		return "Deployed machine version"
	case r.cfg.mode == modeRelease:
		return "Released"
	}
	return "Deployed migration"
}

func (r *report) codeRows() [][2]string {
	rows := [][2]string{{"Machine", code(r.cfg.machine)}}
	if r.machineCreated {
		rows = append(rows, [2]string{"Machine created", "yes, with indexes " + code(strings.Join(r.cfg.indexes, ","))})
	}
	if r.versionID != "" {
		rows = append(rows, [2]string{"Version ID", code(r.versionID)})
	}
	if r.cfg.deploysMigration() {
		to := r.cfg.to
		if r.cfg.mode == modeRelease {
			to = r.versionID
			if to == "" {
				to = "the new version"
			}
		}
		rows = append(rows, [2]string{"Migration", code(r.cfg.from) + " → " + code(to)})
	}
	if r.migrationID != "" {
		rows = append(rows, [2]string{"Migration ID", code(r.migrationID)})
	}
	times := []string{}
	for _, b := range r.bundles {
		rows = append(rows,
			[2]string{"Bundle (" + b.what + ")", fmt.Sprintf("%s minified, %s gzipped, %s uploaded; SHA-256 %s",
				bytesText(b.raw), bytesText(b.gzipped), bytesText(len(b.upload)), code(b.sha256))})
		times = append(times, "bundle "+ms(b.took))
	}
	for _, s := range r.steps {
		times = append(times, fmt.Sprintf("%s %s", s.Step, ms(s.Duration)))
	}
	times = append(times, "total "+ms(time.Since(r.started)))
	return append(rows, [2]string{"Times", strings.Join(times, ", ")})
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
