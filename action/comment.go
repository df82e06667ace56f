package action

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"sbdeploy/bundle"
	"sbdeploy/internal/github"
	"sbdeploy/validate"
)

// The pull request comment's bounds: a diagram of more states than
// maxDiagram is left out, and a table of more rows than foldRows is folded.
const (
	maxDiagram = 200
	foldRows   = 20
)

// commentMarker is the comment's hidden first line, by which later runs
// find it: one comment per machine and mode. A machine name holds only
// letters, digits, _ and -, so it cannot end the HTML comment early.
func (r *report) commentMarker() string {
	return "<!-- sbdeploy " + r.cfg.mode.name + " " + r.cfg.machine + " -->"
}

// comment is the pull request comment: the job summary's table, the
// bundle's change, where instances go, and a diagram of the new machine;
// within GitHub's limit. Long tables are folded, and cut with a count when
// the whole would pass the limit.
func (r *report) comment(redact func(string) string) string {
	marker := r.commentMarker()
	head := marker + "\n" + r.table(redact) + r.bundleChange(redact)
	diagram, diagramOut := r.diagram(), false
	rows := 0 // every row of where instances go, then halved while the comment is over the limit
	if r.plan != nil && r.plan.Migration != nil {
		rows = len(r.plan.Migration.Mappings)
	}
	for {
		body := head + r.planMarkdown(redact, rows, true) + diagram
		// Mentions would notify whoever the code or a server names; a
		// zero-width space after @ keeps the text and drops the mention.
		body = strings.ReplaceAll(body, "@", "@\u200b")
		switch {
		case utf8.RuneCountInString(body) <= github.MaxComment:
			return body
		case diagram != "" && !diagramOut:
			diagram, diagramOut = "\n_The state diagram is left out: the comment would pass GitHub's size limit._\n", true
		case rows != 0:
			rows /= 2
		default:
			// Cut to 500 runes under the limit, at a line's end. The body is
			// over the limit, so what follows the marker is longer than that.
			cut := string([]rune(body[len(marker)+1:])[:github.MaxComment-500])
			if i := strings.LastIndexByte(cut, '\n'); i > 0 {
				cut = cut[:i]
			}
			return marker + "\n" + cut + "\n\n_Cut at GitHub's size limit: the job summary has it all._\n"
		}
	}
}

// bundleChange is how the version's bundle differs in size from the old
// machine's (from-machine-file), when both were built.
func (r *report) bundleChange(redact func(string) string) string {
	if r.fromBundle == nil || len(r.bundles) == 0 {
		return ""
	}
	old, b := r.fromBundle, r.bundles[0]
	return fmt.Sprintf("\nBundle against %s: %s minified, %s gzipped.\n", code(redact, r.plan.from),
		signedBytes(b.raw-old.raw), signedBytes(b.gzipped-old.gzipped))
}

// signedBytes is a change in bytes, with its sign.
func signedBytes(n int) string {
	if n >= 0 {
		return "+" + bytesText(n)
	}
	return "-" + bytesText(-n)
}

// diagram is a Mermaid state diagram of the new machine's states, with the
// old machine's that it lacks, marked removed, and its own that the old
// lacks, marked added; "" without a migration check.
func (r *report) diagram() string {
	if r.plan == nil || r.plan.To == nil || r.plan.From == nil {
		return ""
	}
	class := map[string]string{} // by a state's name, its class in the diagram
	for _, n := range r.plan.Diff.StatesAdded {
		class[n] = "added"
	}
	for _, n := range r.plan.Diff.StatesRemoved {
		class[n] = "removed"
	}
	// The new machine, with the old machine's removed states in it.
	both := &validate.Machine{Root: r.plan.To.Root, States: slices.Clone(r.plan.To.States)}
	for _, s := range r.plan.From.States {
		if class[validate.Name(s.Path)] == "removed" {
			both.States = append(both.States, s)
		}
	}
	if len(both.States) > maxDiagram {
		return fmt.Sprintf("\n_The state diagram is left out: %d states, over %d._\n", len(both.States), maxDiagram)
	}
	// IDs by path, joined with a byte no key holds: keys may hold dots, so
	// "a.b" and a's child b are two states.
	key := func(path []string) string { return strings.Join(path, "\x00") }
	ids := map[string]string{}
	for i, s := range both.States {
		ids[key(s.Path)] = fmt.Sprintf("s%d", i)
	}
	var b strings.Builder
	b.WriteString("\n<details><summary>State diagram of the new machine</summary>\n\n```mermaid\nstateDiagram-v2\n")
	b.WriteString("  classDef added fill:#d4f7d4,stroke:#2a7a2a\n  classDef removed fill:#f7d4d4,stroke:#a02a2a,stroke-dasharray:4\n")
	// node writes the children of the state at parent, whose initial child
	// is initial, and theirs.
	var node func(parent []string, initial string, depth int)
	node = func(parent []string, initial string, depth int) {
		indent := strings.Repeat("  ", depth)
		for _, s := range both.Children(parent) {
			name, id := validate.Name(s.Path), ids[key(s.Path)]
			fmt.Fprintf(&b, "%sstate \"%s\" as %s\n", indent, mermaidLabel(s.Path[len(s.Path)-1]), id)
			if len(both.Children(s.Path)) > 0 {
				fmt.Fprintf(&b, "%sstate %s {\n", indent, id)
				node(s.Path, s.Initial, depth+1)
				fmt.Fprintf(&b, "%s}\n", indent)
			}
			if c := class[name]; c != "" {
				fmt.Fprintf(&b, "%sclass %s %s\n", indent, id, c)
			}
			if s.Type == "final" {
				fmt.Fprintf(&b, "%s%s --> [*]\n", indent, id)
			}
		}
		if initial != "" {
			if id, ok := ids[key(append(slices.Clone(parent), initial))]; ok {
				fmt.Fprintf(&b, "%s[*] --> %s\n", indent, id)
			}
		}
	}
	node(nil, r.plan.To.Root.Initial, 1)
	b.WriteString("```\n\n</details>\n")
	return b.String()
}

// mermaidLabel is a state's key as a Mermaid label: letters, digits and
// _ . - $ and spaces as they are, anything else as an entity code, so that
// no key can end the label, the diagram or the code block.
func mermaidLabel(key string) string {
	var b strings.Builder
	for _, c := range key {
		if c == ' ' || c == '_' || c == '.' || c == '-' || c == '$' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			b.WriteRune(c)
		} else {
			fmt.Fprintf(&b, "#%d;", c)
		}
	}
	return b.String()
}

// compareBundle builds the old machine (from-machine-file) as a version is
// built, when a pull request comment will say how the version's bundle
// changed. A failure leaves the comparison out, and nothing else.
func (d *deployer) compareBundle(ctx context.Context) {
	from, _, _ := d.cfg.planned()
	if from == "" || !d.cfg.deploysVersion() || d.cfg.github.pr == 0 {
		return
	}
	p := d.cfg.code.paths
	b, err := d.worker.Build(ctx, bundle.Options{Dir: p.dir, Entry: from, Kind: bundle.MachineVersion, Root: p.workspace, Limits: d.tune.limits})
	if err != nil {
		d.log.debugf("the old machine was not bundled to compare: %v", err)
		return
	}
	d.rep.fromBundle = &built{raw: len(b.Code), gzipped: len(b.Gzipped)}
}
