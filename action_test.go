package main

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestActionYAML checks that action.yml declares exactly the inputs the
// program reads, with the same defaults, and the outputs it writes, so that
// a workflow gets what the program expects.
func TestActionYAML(t *testing.T) {
	t.Parallel()
	f, err := os.Open("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		section  string
		current  string
		defaults = map[string]string{}
		outputs  []string
		runs     []string
		key      = regexp.MustCompile(`^  ([a-z0-9-]+):$`)
		def      = regexp.MustCompile(`^    default: "(.*)"$`)
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
			section = strings.TrimSuffix(line, ":")
			continue
		}
		switch m := key.FindStringSubmatch(line); {
		case section == "runs":
			runs = append(runs, strings.TrimSpace(line))
		case m != nil && section == "inputs":
			current = m[1]
			defaults[current] = ""
		case m != nil && section == "outputs":
			outputs = append(outputs, m[1])
		case section == "inputs" && def.MatchString(line):
			defaults[current] = def.FindStringSubmatch(line)[1]
		}
	}
	want := map[string]string{}
	for _, in := range inputs {
		want[in.name] = in.def
	}
	if diff := cmp.Diff(want, defaults); diff != "" {
		t.Errorf("action.yml inputs and defaults differ from the program's (-program +action.yml):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"migration-id", "version-id", "bundle-bytes", "upload-bytes", "bundle-sha256", "deleted", "deleted-instances"}, outputs); diff != "" {
		t.Errorf("action.yml outputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"using: docker", "image: Dockerfile"}, runs); diff != "" {
		t.Errorf("action.yml runs (-want +got):\n%s", diff)
	}
}
