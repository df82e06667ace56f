package action

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"sbdeploy/bundle"
)

// TestReadmeWorkflows checks that every workflow in the README runs as
// written: users copy them whole. Each step that uses this action must give
// only inputs that action.yml declares, credentials only from secrets, and
// a set of inputs that loadConfig accepts for the step's mode, in a job or
// workflow with concurrency; when the mode bundles code, it must come after
// a checkout and, after that, a package install in its working-directory or
// a parent of it.
func TestReadmeWorkflows(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	declared := declaredInputs(t)
	workflows := readmeWorkflows(string(data))
	if len(workflows) == 0 {
		t.Fatal("README has no ```yaml block with jobs:")
	}
	steps := 0
	for _, wf := range workflows {
		problems, n := checkWorkflow(t, declared, wf)
		steps += n
		for _, p := range problems {
			t.Error(p)
		}
	}
	if steps == 0 {
		t.Errorf("no step of the README's %d workflows uses %s", len(workflows), actionRef)
	}
}

// TestReadmeWorkflowChecks checks the checks of TestReadmeWorkflows: a
// workflow a user could run passes, and each way of breaking it is found
// and named by its workflow and step.
func TestReadmeWorkflowChecks(t *testing.T) {
	t.Parallel()
	const good = "## Deploy\n\n```yaml\n" + `name: deploy
on: push
concurrency:
  group: statebacked-toggle
env:
  MACHINE: toggle-pr-${{ github.event.number }}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci
        working-directory: app
      - uses: sbdeploy/sbdeploy@v1
        id: deploy
        with:
          mode: version
          machine: ${{ env.MACHINE }}
          working-directory: app
          file: machines/toggle.ts
          key-id: ${{ secrets.STATEBACKED_KEY_ID }}
          secret-key: ${{ secrets.STATEBACKED_SECRET_KEY }}
` + "```\n\nA fragment, not a workflow:\n\n```yaml\n- uses: sbdeploy/sbdeploy@v1\n  with: { dry_run: true }\n```\n"
	const workflow, step = `README.md:4 (workflow "deploy" under "## Deploy"): job deploy, step `, ` (sbdeploy/sbdeploy@v1, id deploy): `
	for _, tt := range []struct {
		name, old, new string
		want           string // in a problem, after step
	}{
		{name: "as written"},
		{"no package install", "      - run: npm ci\n        working-directory: app\n", "", "needs the app's packages"},
		{"install elsewhere", "npm ci\n        working-directory: app", "npm ci\n        working-directory: web", "needs the app's packages"},
		{"no checkout", "      - uses: actions/checkout@v4\n", "", "needs the code checked out"},
		{"install before checkout", "      - uses: actions/checkout@v4\n      - run: npm ci\n        working-directory: app\n",
			"      - run: npm ci\n        working-directory: app\n      - uses: actions/checkout@v4\n", "needs the app's packages"},
		{"misspelt input", "          mode: version\n", "          mode: version\n          dry_run: true\n", "input dry_run is not declared in action.yml"},
		{"input of another mode", "          mode: version\n", "          mode: version\n          confirm-delete: toggle\n", "confirm-delete"},
		{"missing file", "          file: machines/toggle.ts\n", "", "input file: required"},
		{"secret in the open", "${{ secrets.STATEBACKED_SECRET_KEY }}", "sbsec_0123456789abcdef0123456789abcdef", "secret-key must come from secrets"},
		{"no concurrency", "concurrency:\n  group: statebacked-toggle\n", "", "no concurrency"},
		{"unknown matrix", "${{ env.MACHINE }}", "${{ matrix.machine }}", "matrix.machine"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			readme := strings.Replace(good, tt.old, tt.new, 1)
			if readme == good && tt.old != "" {
				t.Fatalf("the workflow has no %q to replace", tt.old)
			}
			declared := declaredInputs(t)
			workflows := readmeWorkflows(readme)
			if len(workflows) != 1 {
				t.Fatalf("found %d workflows, want 1 (the fragment is not one)", len(workflows))
			}
			problems, _ := checkWorkflow(t, declared, workflows[0])
			if tt.want == "" {
				if len(problems) > 0 {
					t.Errorf("problems in a workflow that runs:\n%s", strings.Join(problems, "\n"))
				}
				return
			}
			if !slices.ContainsFunc(problems, func(p string) bool {
				_, rest, ok := strings.Cut(p, step)
				return strings.HasPrefix(p, workflow) && ok && strings.Contains(rest, tt.want)
			}) {
				t.Errorf("no problem names the step and says %q; got:\n%s", tt.want, strings.Join(problems, "\n"))
			}
		})
	}
}

// declaredInputs are the inputs action.yml declares, with their defaults.
func declaredInputs(t *testing.T) map[string]string {
	t.Helper()
	declared := map[string]string{}
	for name, in := range readActionYAML(t).Inputs {
		declared[name] = ""
		if in.Default != nil {
			declared[name] = *in.Default
		}
	}
	return declared
}

// actionRef begins the uses: of a step that runs this action.
const actionRef = "sbdeploy/sbdeploy@"

// readmeWorkflow is a ```yaml block of the README that is a workflow.
type readmeWorkflow struct {
	line    int    // of the block's first line, from 1
	heading string // the section it is under
	text    string
}

// readmeWorkflows returns the README's ```yaml blocks that have jobs:.
// Other blocks are fragments (a step, a with: list) that cannot run on their
// own; a block that is not YAML at all is returned, to fail its check.
func readmeWorkflows(readme string) []readmeWorkflow {
	var (
		found   []readmeWorkflow
		heading string
		block   *readmeWorkflow
	)
	for i, line := range strings.Split(readme, "\n") {
		switch {
		case block != nil && strings.TrimSpace(line) == "```":
			var top any
			err := yaml.Unmarshal([]byte(block.text), &top)
			if m, ok := top.(map[string]any); err != nil || ok && m["jobs"] != nil {
				found = append(found, *block)
			}
			block = nil
		case block != nil:
			block.text += line + "\n"
		case strings.TrimSpace(line) == "```yaml":
			block = &readmeWorkflow{line: i + 2, heading: heading}
		case strings.HasPrefix(line, "#"):
			heading = line
		}
	}
	return found
}

// workflowFile is what these checks read of a GitHub Actions workflow.
type workflowFile struct {
	Name        string                 `yaml:"name"`
	On          any                    `yaml:"on"`
	Concurrency any                    `yaml:"concurrency"`
	Env         map[string]string      `yaml:"env"`
	Defaults    runDefaults            `yaml:"defaults"`
	Jobs        map[string]workflowJob `yaml:"jobs"`
}

type runDefaults struct {
	Run struct {
		WorkingDirectory string `yaml:"working-directory"`
	} `yaml:"run"`
}

type workflowJob struct {
	RunsOn      any               `yaml:"runs-on"`
	Concurrency any               `yaml:"concurrency"`
	Env         map[string]string `yaml:"env"`
	Defaults    runDefaults       `yaml:"defaults"`
	Strategy    struct {
		Matrix map[string]any `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []workflowStep `yaml:"steps"`
}

type workflowStep struct {
	Name             string            `yaml:"name"`
	ID               string            `yaml:"id"`
	Uses             string            `yaml:"uses"`
	Run              string            `yaml:"run"`
	WorkingDirectory string            `yaml:"working-directory"`
	With             map[string]string `yaml:"with"`
	Env              map[string]string `yaml:"env"`
}

// installCommand is a step that installs an app's packages.
var installCommand = regexp.MustCompile(`\b(npm ci|npm install|pnpm install|yarn install)\b`)

// checkWorkflow returns what is wrong with wf, each problem naming the
// workflow and, where it is in one, the job and step; and how many steps use
// this action.
func checkWorkflow(t *testing.T, declared map[string]string, wf readmeWorkflow) (problems []string, actionSteps int) {
	t.Helper()
	where := fmt.Sprintf("README.md:%d (under %q)", wf.line, wf.heading)
	var file workflowFile
	if err := yaml.Unmarshal([]byte(wf.text), &file); err != nil {
		return []string{fmt.Sprintf("%s: not a workflow: %v", where, err)}, 0
	}
	if file.Name != "" {
		where = fmt.Sprintf("README.md:%d (workflow %q under %q)", wf.line, file.Name, wf.heading)
	}
	fail := func(format string, args ...any) {
		problems = append(problems, where+": "+fmt.Sprintf(format, args...))
	}
	if file.On == nil {
		fail("no on: the workflow never runs")
	}
	for _, jobName := range slices.Sorted(maps.Keys(file.Jobs)) {
		job := file.Jobs[jobName]
		if job.RunsOn == nil {
			fail("job %s has no runs-on", jobName)
		}
		checkedOut := false
		var installed []string // the directories packages were installed in
		for i, st := range job.Steps {
			ctx := exprContext{env: mergeWorkflowEnv(file.Env, job.Env, st.Env), matrix: firstMatrixEntry(job.Strategy.Matrix)}
			label := fmt.Sprintf("job %s, step %d", jobName, i+1)
			switch {
			case st.Name != "":
				label += fmt.Sprintf(" %q", st.Name)
			case st.Uses != "" && st.ID != "":
				label += fmt.Sprintf(" (%s, id %s)", st.Uses, st.ID)
			case st.Uses != "":
				label += fmt.Sprintf(" (%s)", st.Uses)
			}
			stepFail := func(format string, args ...any) { fail("%s: %s", label, fmt.Sprintf(format, args...)) }
			switch {
			case strings.HasPrefix(st.Uses, "actions/checkout@"):
				checkedOut = true
			case st.Run != "" && installCommand.MatchString(st.Run) && checkedOut: // before it, there is no package.json
				dir := cmp.Or(st.WorkingDirectory, job.Defaults.Run.WorkingDirectory, file.Defaults.Run.WorkingDirectory, ".")
				dir, err := ctx.expand(dir, "working-directory")
				if err != nil {
					stepFail("working-directory: %v", err)
				}
				installed = append(installed, path.Clean(dir))
			case strings.HasPrefix(st.Uses, actionRef):
				actionSteps++
				if job.Concurrency == nil && file.Concurrency == nil {
					stepFail("no concurrency on the workflow or the job: two runs could deploy to the machine at once")
				}
				mode, wd, err := checkActionStep(t, declared, st.With, ctx)
				for _, e := range err {
					stepFail("%v", e)
				}
				if m := modeNamed(mode); m == nil || !slices.Contains(m.inputs, "file") { // a mode that deploys code
					continue
				}
				if !checkedOut {
					stepFail("mode %s bundles code and needs the code checked out: add actions/checkout before it", mode)
				}
				if !slices.ContainsFunc(installed, func(dir string) bool { return dir == "." || within("/"+dir, "/"+wd) }) {
					stepFail("mode %s bundles code from %s and needs the app's packages (xstate to validate, and what the code imports): "+
						"add `npm ci` (working-directory: %s, or a parent) after the checkout and before this step", mode, wd, wd)
				}
			}
		}
	}
	return problems, actionSteps
}

// checkActionStep checks the with: of a step that uses this action: its
// inputs are declared, they carry no secret in the open, and loadConfig,
// given them as the runner gives them, accepts them. It returns the step's
// mode and working directory.
func checkActionStep(t *testing.T, declared map[string]string, with map[string]string, ctx exprContext) (mode, wd string, errs []error) {
	t.Helper()
	e := env{"GITHUB_ACTIONS": "true", "GITHUB_SHA": githubValues["github.sha"], "GITHUB_REPOSITORY": "octo/app"}
	for name, def := range declared { // the runner passes every input
		e["INPUT_"+strings.ToUpper(name)] = def
	}
	for _, name := range slices.Sorted(maps.Keys(with)) {
		raw := with[name]
		if _, ok := declared[name]; !ok {
			errs = append(errs, fmt.Errorf("input %s is not declared in action.yml", name))
			continue
		}
		if secretInput(name) && !fromSecrets.MatchString(raw) {
			errs = append(errs, fmt.Errorf("input %s must come from secrets (${{ secrets.NAME }}), not be written in the workflow", name))
		}
		v, err := ctx.expand(raw, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("input %s: %w", name, err))
			continue
		}
		e["INPUT_"+strings.ToUpper(name)] = v
	}
	mode = cmp.Or(e["INPUT_MODE"], modeTable[0].name)
	wd = path.Clean(cmp.Or(e["INPUT_WORKING-DIRECTORY"], "."))

	// A workspace with the files the step names, so that loadConfig checks
	// everything else about them.
	ws, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e["GITHUB_WORKSPACE"] = ws
	for _, name := range []string{"file", "migration-file", "from-machine-file", "to-machine-file"} {
		if f := e["INPUT_"+strings.ToUpper(name)]; filepath.IsLocal(wd) && filepath.IsLocal(f) {
			full := filepath.Join(ws, wd, f)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte("export {};\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if filepath.IsLocal(wd) {
		if err := os.MkdirAll(filepath.Join(ws, wd), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := loadConfig(source{getenv: e.get}, namer{}, func() (string, error) { return ws, nil }); err != nil {
		errs = append(errs, fmt.Errorf("the action refuses these inputs: %w", err))
	}
	return mode, wd, errs
}

// fromSecrets is a value that is one secret.
var fromSecrets = regexp.MustCompile(`^\$\{\{\s*secrets\.\w+\s*\}\}$`)

// secretInput reports an input that holds a secret.
func secretInput(name string) bool {
	return name == "token" || name == "key-id" || name == "secret-key"
}

// exprContext is what a step's ${{ }} expressions can read.
type exprContext struct {
	env    map[string]string // unexpanded: the step's over the job's over the workflow's
	matrix map[string]string // the first entry of the job's matrix
}

// githubValues are the github context's values the README uses.
var githubValues = map[string]string{
	"github.event.number":              "42",
	"github.event.pull_request.number": "42",
	"github.ref_name":                  "v1.2.3",
	"github.sha":                       "0123456789abcdef0123456789abcdef01234567",
}

// plausibleValues stand for what secrets, variables and other steps'
// outputs hold, by the input they are given to.
var plausibleValues = map[string]string{
	"machine":      "toggle",
	"from-version": "ver_1",
	"to-version":   "ver_2",
	"key-id":       "sbk_0123456789abcdef",
	"secret-key":   "sbsec_0123456789abcdef0123456789abcdef",
	"token":        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl",
	"org-id":       "org_0123456789",
	"client-info":  "v1.2.3",
}

// workflowExpr is a ${{ }} expression; its group is what is inside.
var workflowExpr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// expand replaces each ${{ }} in v, the value of input, by what it would be
// in a run.
func (x exprContext) expand(v, input string) (string, error) {
	return x.expandDepth(v, input, 0)
}

func (x exprContext) expandDepth(v, input string, depth int) (string, error) {
	if depth > 5 {
		return "", fmt.Errorf("%q: env refers to itself", v)
	}
	var err error
	out := workflowExpr.ReplaceAllStringFunc(v, func(m string) string {
		e := workflowExpr.FindStringSubmatch(m)[1]
		context, name, _ := strings.Cut(e, ".")
		var r string
		var ok bool
		switch {
		case githubValues[e] != "":
			r, ok = githubValues[e], true
		case context == "matrix":
			r, ok = x.matrix[name]
		case context == "env":
			if raw, found := x.env[name]; found {
				r, err = x.expandDepth(raw, input, depth+1)
				ok = err == nil
			}
		case slices.Contains([]string{"secrets", "vars", "steps", "needs", "inputs", "github"}, context):
			r, ok = plausibleValues[input]
		}
		if !ok && err == nil {
			err = fmt.Errorf("%s: no value for it in a run of this workflow", m)
		}
		return r
	})
	return out, err
}

// mergeWorkflowEnv merges env maps, later ones winning.
func mergeWorkflowEnv(envs ...map[string]string) map[string]string {
	m := map[string]string{}
	for _, e := range envs {
		maps.Copy(m, e)
	}
	return m
}

// firstMatrixEntry is the first job a matrix makes: each key's first value.
func firstMatrixEntry(matrix map[string]any) map[string]string {
	entry := map[string]string{}
	for k, v := range matrix {
		if list, ok := v.([]any); ok && len(list) > 0 {
			entry[k] = fmt.Sprint(list[0])
		}
	}
	return entry
}

func within(dir, path string) bool {
	_, ok := bundle.Within(dir, path)
	return ok
}
