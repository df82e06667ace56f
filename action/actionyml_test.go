package action

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// actionYAML is what action.yml declares.
type actionYAML struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Author      string `yaml:"author"`
	Branding    struct {
		Icon  string `yaml:"icon"`
		Color string `yaml:"color"`
	} `yaml:"branding"`
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
	} `yaml:"runs"`
}

func readActionYAML(t *testing.T) actionYAML {
	t.Helper()
	data, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionYAML
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// programOutputs are the outputs the program writes, in any mode: those
// the modes' table lists (deployer.writeOutputs refuses any other).
func programOutputs() []string {
	var all []string
	for _, m := range modeTable {
		for _, o := range m.outputs {
			if !slices.Contains(all, o) {
				all = append(all, o)
			}
		}
	}
	return all
}

// TestActionYAML checks that action.yml declares exactly the inputs the
// program reads, with the same defaults, and the outputs it writes, so that
// a workflow gets what the program expects; and that main runs the image
// built from the Dockerfile (a release pins a prebuilt one).
func TestActionYAML(t *testing.T) {
	t.Parallel()
	a := readActionYAML(t)
	want, got := map[string]string{}, map[string]string{}
	// action.yml's defaults that are expressions GitHub evaluates; the
	// program's default is then the CLI's.
	expressions := map[string]string{"github-token": "${{ github.token }}"}
	for _, in := range inputs {
		want[in.name] = in.def
		if e, ok := expressions[in.name]; ok {
			want[in.name] = e
		}
	}
	for name, in := range a.Inputs {
		if in.Default != nil {
			got[name] = *in.Default
		} else {
			got[name] = ""
		}
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
		if in.Required && name != "machine" {
			t.Errorf("input %s is required: only machine is, in every mode", name)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("action.yml inputs and defaults differ from the program's (-program +action.yml):\n%s", diff)
	}
	var outputs []string
	for name := range a.Outputs {
		outputs = append(outputs, name)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(programOutputs())), slices.Sorted(slices.Values(outputs))); diff != "" {
		t.Errorf("action.yml outputs (-program +action.yml):\n%s", diff)
	}
	if a.Runs.Using != "docker" || a.Runs.Image != "Dockerfile" {
		t.Errorf("runs = %+v, want using: docker, image: Dockerfile", a.Runs)
	}
}

// TestActionYAMLMarketplace checks the GitHub Marketplace's rules for an
// action's metadata: a name, a description of at most 125 characters, an
// author, branding from the allowed icons and colors; and a name that does
// not pass for the vendor's own.
func TestActionYAMLMarketplace(t *testing.T) {
	t.Parallel()
	a := readActionYAML(t)
	colors := []string{"white", "black", "yellow", "blue", "green", "orange", "red", "purple", "gray-dark"}
	switch {
	case a.Name == "":
		t.Error("no name")
	case strings.Contains(strings.ToLower(a.Name), "statebacked"):
		t.Errorf("name %q looks like the vendor's own action", a.Name)
	}
	if n := utf8.RuneCountInString(a.Description); n == 0 || n > 125 {
		t.Errorf("description is %d characters, want 1 to 125", n)
	}
	if a.Author == "" || a.Author == a.Name {
		t.Errorf("author %q: want who maintains the action", a.Author)
	}
	if !slices.Contains(colors, a.Branding.Color) {
		t.Errorf("branding color %q is not one of %v", a.Branding.Color, colors)
	}
	if !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(a.Branding.Icon) {
		t.Errorf("branding icon %q is not a Feather icon name", a.Branding.Icon)
	}
}

// TestReadmeTables checks that the README's inputs and outputs tables list
// exactly what action.yml declares, so the page users read stays true.
func TestReadmeTables(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	a := readActionYAML(t)
	var wantIn, wantOut []string
	for name := range a.Inputs {
		wantIn = append(wantIn, name)
	}
	for name := range a.Outputs {
		wantOut = append(wantOut, name)
	}
	for _, tt := range []struct {
		section, header string
		want            []string
	}{
		{"## Inputs", "| input | default | meaning |", wantIn},
		{"## Outputs", "| output | meaning |", wantOut},
	} {
		names := readmeTable(t, string(data), tt.section, tt.header)
		if diff := cmp.Diff(slices.Sorted(slices.Values(tt.want)), slices.Sorted(slices.Values(names))); diff != "" {
			t.Errorf("README %s table (-action.yml +README):\n%s", tt.section, diff)
		}
	}
}

// readmeTable returns the names in the first column of the table that
// follows header in section: every `name` in that cell.
func readmeTable(t *testing.T, readme, section, header string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "\n"+section+"\n")
	if !ok {
		t.Fatalf("README has no %q section", section)
	}
	_, rest, ok = strings.Cut(rest, header+"\n")
	if !ok {
		t.Fatalf("README's %s section has no table %q", section, header)
	}
	var names []string
	code := regexp.MustCompile("`([a-z0-9-]+)`")
	for _, line := range strings.Split(rest, "\n")[1:] { // after the |---| line
		if !strings.HasPrefix(line, "|") {
			break
		}
		first := strings.Split(line, "|")[1]
		for _, m := range code.FindAllStringSubmatch(first, -1) {
			names = append(names, m[1])
		}
	}
	return names
}
