package action

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sbdeploy/bundle"
	"sbdeploy/deploy"
)

// report collects what the run did, for the job summary.
type report struct {
	cfg            *config
	started        time.Time
	now            func() time.Time
	bundles        []*built
	machineCreated bool
	versionID      string
	versionReused  bool
	migrationID    string
	rollout        *deploy.RolloutResult // when instances were asked to move
	rolloutTo      string
	teardown       *deploy.TeardownResult // teardown mode only
	err            error
	checks         []string    // what a dry run's read-only requests found
	plan           *planReport // what the migration check found, if it ran
	confinement    string      // what confines the worker that bundled the code
	commit         string      // GITHUB_SHA
	runURL         string      // the workflow run's page, or ""
	fromBundle     *built      // the old machine's bundle (from-machine-file), to compare sizes
}

// runURL is the address of the workflow run's page, from the variables the
// runner sets, or "" when one of them is missing or not what GitHub sets.
func runURL(getenv func(string) string) string {
	server, err := url.Parse(getenv("GITHUB_SERVER_URL"))
	repo, id, attempt := getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"), getenv("GITHUB_RUN_ATTEMPT")
	if err != nil || (server.Scheme != "https" && server.Scheme != "http") || server.Host == "" || server.User != nil ||
		!repoPattern.MatchString(repo) || !digits.MatchString(id) {
		return ""
	}
	u := server.Scheme + "://" + server.Host + strings.TrimSuffix(server.EscapedPath(), "/") + "/" + repo + "/actions/runs/" + id
	if digits.MatchString(attempt) {
		u += "/attempts/" + attempt
	}
	return u
}

var (
	repoPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	digits      = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// row is one row of the summary's table: a label, and a cell already in
// Markdown.
type row [2]string

// table is the summary's title and table: what was done, how large, how
// long. Every text from a server or an input goes through text or code,
// which redact it and then escape it for Markdown.
func (r *report) table(redact func(string) string) string {
	rows := append([]row{{"Machine", code(redact, r.cfg.machine)}}, r.cfg.mode.rows(r, redact)...)
	rows = append(rows, row{"Total time", ms(r.now().Sub(r.started))})
	if r.commit != "" {
		rows = append(rows, row{"Commit", code(redact, r.commit)})
	}
	if r.runURL != "" {
		rows = append(rows, row{"Run", "[workflow run](" + r.runURL + ")"})
	}
	rows = append(rows, r.errorRows(redact)...)
	var b strings.Builder
	fmt.Fprintf(&b, "### StateBacked: %s\n\n| | |\n|---|---|\n", r.title())
	for _, kv := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], kv[1])
	}
	return b.String()
}

// title is what the summary calls the run: the mode's title for how it
// ended; a dry run that failed changed nothing, in any mode.
func (r *report) title() string {
	t := r.cfg.mode.titles
	switch {
	case r.err != nil && r.cfg.dryRun:
		return "Dry run failed: nothing was changed"
	case r.err != nil:
		return t.failed
	case r.cfg.dryRun:
		return t.dryRun
	}
	return t.done
}

// codeRows are the summary's rows of the modes that deploy code: what was
// deployed, and the rollout after it.
func (r *report) codeRows(redact func(string) string) []row {
	var rows []row
	if r.machineCreated {
		rows = append(rows, row{"Machine created", "yes, with indexes " + code(redact, strings.Join(r.cfg.version.indexes, ","))})
	}
	if r.versionID != "" {
		cell := code(redact, r.versionID)
		if r.versionReused {
			cell += " (reused: deployed before with client info " + code(redact, r.cfg.version.clientInfo) + "; nothing was uploaded)"
		}
		rows = append(rows, row{"Version ID", cell})
	}
	if r.cfg.deploysVersion() {
		rows = append(rows, row{"Client info", cmp.Or(code(redact, r.cfg.version.clientInfo), "(empty)")})
	}
	if r.cfg.deploysMigration() {
		to := code(redact, r.cfg.to)
		if r.cfg.deploysVersion() { // to the version this run deploys
			to = cmp.Or(code(redact, r.versionID), "the new version")
		}
		rows = append(rows, row{"Migration", code(redact, r.cfg.from) + " → " + to})
	}
	if r.migrationID != "" {
		rows = append(rows, row{"Migration ID", code(redact, r.migrationID)})
	}
	for _, b := range r.bundles {
		kind := " (" + b.kind.String() + ")"
		rows = append(rows, row{"Bundle" + kind, fmt.Sprintf("%s: %s minified, %s gzipped, %s; SHA-256 %s",
			code(redact, r.cfg.code.paths.relative(b.entry)), bytesText(b.raw), bytesText(b.gzipped), r.uploadText(b), code(redact, b.sha256))})
		if b.checked != "" {
			rows = append(rows, row{"Validation" + kind, text(redact, b.checked)})
		}
		times := []string{"bundle " + b.took}
		for _, s := range b.steps {
			times = append(times, fmt.Sprintf("%s %s", s.Step, ms(s.Duration)))
		}
		rows = append(rows, row{"Times" + kind, strings.Join(times, ", ")})
	}
	if r.confinement != "" {
		rows = append(rows, row{"Worker", "no secret; " + text(redact, r.confinement)})
	}
	if len(r.checks) > 0 {
		rows = append(rows, row{"Checked (read-only)", text(redact, strings.Join(r.checks, "; "))})
	}
	return append(rows, r.rolloutRows(redact)...)
}

// uploadText says whether b was uploaded, and if not, why.
func (r *report) uploadText(b *built) string {
	switch {
	case slices.ContainsFunc(b.steps, func(s deploy.StepDone) bool { return s.Step == deploy.StepUpload }): // the upload host accepted it
		return bytesText(len(b.upload)) + " uploaded"
	case r.cfg.dryRun:
		return bytesText(len(b.upload)) + " to upload (dry run: not sent)"
	case b.kind == bundle.MachineVersion && r.versionReused:
		return "not uploaded (the version was reused)"
	}
	return "not uploaded"
}

// errorRows are the rows of a failed run: the error, the build errors that
// were annotated at their place, and what to do.
func (r *report) errorRows(redact func(string) string) []row {
	if r.err == nil {
		return nil
	}
	msg, hint, _ := strings.Cut(r.err.Error(), "\n  what to do: ")
	// Inline code: server text there cannot link, mention or render.
	rows := []row{{"Error", code(redact, firstLine(msg))}}
	if be, ok := errors.AsType[*bundle.BuildError](r.err); ok {
		const most = 10
		for i, m := range be.Messages {
			if i == most {
				rows = append(rows, row{"", fmt.Sprintf("and %d more", len(be.Messages)-most)})
				break
			}
			place := ""
			if m.File != "" {
				place = fmt.Sprintf("%s:%d:%d: ", r.cfg.code.paths.relative(m.File), m.Line, m.Column)
			}
			rows = append(rows, row{"", code(redact, place+m.Text)})
		}
	}
	label := "What to do"
	for h := range strings.SplitSeq(hint, "\n  ") {
		if h != "" {
			rows = append(rows, row{label, text(redact, h)})
			label = ""
		}
	}
	return rows
}

// rolloutRows are the rows for instances asked to move to a version: how
// many, and the instances by version before and after (after: the version
// each will run once the next event reaches it); unless it was a dry run,
// the instances that failed, and the rate and the throttling met.
func (r *report) rolloutRows(redact func(string) string) []row {
	res := r.rollout
	if res == nil {
		return nil
	}
	asked := fmt.Sprintf("%d asked to move to %s, %d on it already, %d stranded (no migration path)",
		res.Asked, code(redact, r.rolloutTo), res.OnTarget, res.Stranded)
	label := "Instances by version (before → after)"
	if r.cfg.dryRun {
		asked = fmt.Sprintf("%d would be asked to move to %s (dry run: none was), %d on it already", res.Asked, code(redact, r.rolloutTo), res.OnTarget)
		label = "Instances by version"
	}
	rows := []row{{"Instances", fmt.Sprintf("%d listed: %s", res.Instances, asked)}}
	versions := maps.Clone(res.Before)
	maps.Copy(versions, res.After)
	var cells []string
	for _, v := range slices.Sorted(maps.Keys(versions)) {
		cell := fmt.Sprintf("%s: %d", cmp.Or(code(redact, v), "(not given)"), res.Before[v])
		if !r.cfg.dryRun {
			cell += fmt.Sprintf(" → %d", res.After[v])
		}
		cells = append(cells, cell)
	}
	if len(cells) > 0 {
		rows = append(rows, row{label, strings.Join(cells, ", ")})
	}
	if r.cfg.dryRun {
		return rows
	}
	if res.Failed > 0 {
		rows = append(rows, row{"Failed (every attempt)", fmt.Sprintf("%d: %s", res.Failed, named(res.FailedNames, res.Failed))})
	}
	return append(rows, row{"Rate", rate(res, " over "+ms(res.Took))})
}

// teardownRows are the job summary's rows for a teardown.
func (r *report) teardownRows(_ func(string) string) []row {
	res := r.teardown
	switch {
	case res == nil:
		return nil
	case res.AlreadyGone:
		return []row{{"Result", "the machine did not exist: nothing was deleted"}}
	case r.cfg.dryRun:
		return []row{{"Instances", fmt.Sprintf("%d (dry run: nothing was deleted)", res.Instances)}}
	}
	deleted := "no"
	if res.Deleted {
		deleted = "yes, with all its versions and migrations"
	}
	return []row{{"Instances deleted", strconv.Itoa(res.DeletedInstances)}, {"Machine deleted", deleted}}
}

// writeSummary adds the report to the job summary, when there is one: the
// table, and the migration check's section whole. A summary that cannot be
// written is a warning: the deploy itself happened.
func (r *report) writeSummary(l *logger, getenv func(string) string) {
	if getenv("GITHUB_STEP_SUMMARY") == "" {
		return
	}
	md := l.redact(r.table(l.redact) + r.planMarkdown(l.redact, -1, false)) // each cell was redacted before escaping; this catches the rest
	if err := catch("could not write the job summary", func() { l.gh.AddStepSummary(md) }); err != nil {
		l.warnf("%v", err)
	}
}

// markdownText escapes what Markdown would read as markup in a table cell:
// links, images, emphasis, HTML and comments, and the cell's own pipe.
// A zero-width space after "://" and "www." keeps a URL's text and stops
// GitHub from making it a link; "$" would start math.
var markdownText = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
	"!", `\!`, "#", `\#`, "~", `\~`, "<", "&lt;", ">", "&gt;", "&", "&amp;", "\n", " ", "\r", " ",
	"$", `\$`, "://", ":\u200b//", "www.", "www\u200b.")

// maxCell bounds the characters of one text or code cell: a message of any
// length from the code or a server keeps the table, and the comment, whole.
const maxCell = 1000

// text is s, redacted, cut to maxCell, then escaped for a table cell.
func text(redact func(string) string, s string) string {
	return markdownText.Replace(cutCell(redact(s)))
}

// code is s, redacted and cut to maxCell, as inline code in a table cell:
// only the pipe and the backtick need care there.
func code(redact func(string) string, s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.NewReplacer("|", `\|`, "`", "'", "\n", " ", "\r", " ").Replace(cutCell(redact(s))) + "`"
}

// cutCell is s, cut to maxCell characters with an ellipsis.
func cutCell(s string) string {
	if utf8.RuneCountInString(s) <= maxCell {
		return s
	}
	return string([]rune(s)[:maxCell-1]) + "…"
}
