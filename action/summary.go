package action

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"sbdeploy/deploy"
)

// report collects what the run did, for the job summary.
type report struct {
	cfg            *config
	started        time.Time
	now            func() time.Time
	bundles        []*built
	steps          []deploy.StepDone
	machineCreated bool
	versionID      string
	versionReused  bool
	migrationID    string
	rollout        *deploy.RolloutResult // when instances were asked to move
	rolloutTo      string
	teardown       *deploy.TeardownResult // teardown mode only
	err            error
}

// row is one row of the summary's table: a label, and a cell already in
// Markdown.
type row [2]string

// markdown renders the job summary: what was done, how large, how long.
// Every text from a server or an input goes through text or code, which
// redact it and then escape it for Markdown.
func (r *report) markdown(redact func(string) string) string {
	var rows []row
	switch r.cfg.mode {
	case modeTeardown:
		rows = append(r.teardownRows(redact), row{"Time", ms(r.now().Sub(r.started))})
	case modeUpgrade:
		rows = append([]row{{"Machine", code(redact, r.cfg.machine)}}, r.rolloutRows(redact)...)
		rows = append(rows, row{"Time", ms(r.now().Sub(r.started))})
	default:
		rows = append(r.codeRows(redact), r.rolloutRows(redact)...)
	}
	if r.err != nil {
		// Inline code: server text there cannot link, mention or render.
		rows = append(rows, row{"Error", code(redact, firstLine(r.err.Error()))})
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
	case r.cfg.dryRun && r.cfg.mode == modeUpgrade:
		return "Upgrade dry run: no instance was asked to move"
	case r.cfg.dryRun:
		return "Dry run: nothing was sent"
	case r.cfg.mode == modeUpgrade:
		return "Upgraded instances"
	case teardown:
		return "Teardown"
	case r.cfg.mode == modeVersion:
		return "Deployed machine version"
	case r.cfg.mode == modeRelease:
		return "Released"
	}
	return "Deployed migration"
}

func (r *report) codeRows(redact func(string) string) []row {
	rows := []row{{"Machine", code(redact, r.cfg.machine)}}
	if r.machineCreated {
		rows = append(rows, row{"Machine created", "yes, with indexes " + code(redact, strings.Join(r.cfg.indexes, ","))})
	}
	if r.versionID != "" {
		cell := code(redact, r.versionID)
		if r.versionReused {
			cell += " (reused: deployed before with client info " + code(redact, r.cfg.clientInfo) + "; nothing was uploaded)"
		}
		rows = append(rows, row{"Version ID", cell})
	}
	if r.cfg.deploysMigration() {
		to := code(redact, r.cfg.to)
		if r.cfg.mode == modeRelease {
			to = code(redact, r.versionID)
			if r.versionID == "" {
				to = "the new version"
			}
		}
		rows = append(rows, row{"Migration", code(redact, r.cfg.from) + " → " + to})
	}
	if r.migrationID != "" {
		rows = append(rows, row{"Migration ID", code(redact, r.migrationID)})
	}
	var times []string
	for _, b := range r.bundles {
		rows = append(rows, row{"Bundle (" + b.kind.String() + ")", fmt.Sprintf("%s minified, %s gzipped, %s uploaded; SHA-256 %s",
			bytesText(b.raw), bytesText(b.gzipped), bytesText(len(b.upload)), code(redact, b.sha256))})
		times = append(times, "bundle "+b.took)
		if b.checked != "" {
			rows = append(rows, row{"Validation (" + b.kind.String() + ")", text(redact, b.checked)})
		}
	}
	for _, s := range r.steps {
		times = append(times, fmt.Sprintf("%s %s", s.Step, ms(s.Duration)))
	}
	times = append(times, "total "+ms(r.now().Sub(r.started)))
	return append(rows, row{"Times", strings.Join(times, ", ")})
}

// rolloutRows are the rows for instances asked to move to a version: how
// many, and the instances by version before and after (after: the version
// each will run once the next event reaches it).
func (r *report) rolloutRows(redact func(string) string) []row {
	res := r.rollout
	if res == nil {
		return nil
	}
	asked := fmt.Sprintf("%d asked to move to %s, %d on it already, %d stranded (no migration path)",
		res.Asked, code(redact, r.rolloutTo), res.OnTarget, res.Stranded)
	if r.cfg.dryRun {
		asked = fmt.Sprintf("%d would be asked to move to %s (dry run: none was), %d on it already", res.Asked, code(redact, r.rolloutTo), res.OnTarget)
	}
	rows := []row{{"Instances", fmt.Sprintf("%d listed: %s", res.Instances, asked)}}
	label, versions := "Instances by version (before → after)", maps.Clone(res.Before)
	maps.Copy(versions, res.After)
	if r.cfg.dryRun {
		label = "Instances by version"
	}
	var cells []string
	for _, v := range slices.Sorted(maps.Keys(versions)) {
		name := code(redact, v)
		if v == "" {
			name = "(not given)"
		}
		cell := fmt.Sprintf("%s: %d", name, res.Before[v])
		if !r.cfg.dryRun {
			cell += fmt.Sprintf(" → %d", res.After[v])
		}
		cells = append(cells, cell)
	}
	if len(cells) > 0 {
		rows = append(rows, row{label, strings.Join(cells, ", ")})
	}
	return rows
}

// teardownRows are the job summary's rows for a teardown.
func (r *report) teardownRows(redact func(string) string) []row {
	rows := []row{{"Machine", code(redact, r.cfg.machine)}}
	switch res := r.teardown; {
	case res == nil:
	case res.AlreadyGone:
		rows = append(rows, row{"Result", "the machine did not exist: nothing was deleted"})
	case r.cfg.dryRun:
		rows = append(rows, row{"Instances", fmt.Sprintf("%d (dry run: nothing was deleted)", res.Instances)})
	default:
		deleted := "no"
		if res.Deleted {
			deleted = "yes, with all its versions and migrations"
		}
		rows = append(rows,
			row{"Instances deleted", strconv.Itoa(res.DeletedInstances)},
			row{"Machine deleted", deleted})
	}
	return rows
}

// writeSummary adds the report to the job summary, when there is one. A
// summary that cannot be written is a warning: the deploy itself happened.
func (r *report) writeSummary(l *logger, getenv func(string) string) {
	if getenv("GITHUB_STEP_SUMMARY") == "" {
		return
	}
	md := l.redact(r.markdown(l.redact)) // each cell was redacted before escaping; this catches the rest
	if err := catch("could not write the job summary", func() { l.gh.AddStepSummary(md) }); err != nil {
		l.warnf("%v", err)
	}
}

// markdownText escapes what Markdown would read as markup in a table cell:
// links, images, emphasis, HTML and comments, and the cell's own pipe.
var markdownText = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
	"!", `\!`, "#", `\#`, "~", `\~`, "<", "&lt;", ">", "&gt;", "&", "&amp;", "\n", " ", "\r", " ")

// text is s, redacted, then escaped for a table cell.
func text(redact func(string) string, s string) string {
	return markdownText.Replace(redact(s))
}

// code is s, redacted, as inline code in a table cell: only the pipe and the
// backtick need care there.
func code(redact func(string) string, s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.NewReplacer("|", `\|`, "`", "'", "\n", " ", "\r", " ").Replace(redact(s)) + "`"
}
