package action

import (
	"fmt"
	"slices"
	"strings"
)

// checkUnknownInputs refuses each INPUT_ variable that names no input.
// GitHub passes an input the action does not declare (a misspelt dry_run)
// with only a warning, and a run that ignored it would do what the workflow
// did not ask: deploy for real.
func checkUnknownInputs(environ []string, names namer, errs *problems) {
	var unknown []string
	for _, kv := range environ {
		key, _, _ := strings.Cut(kv, "=")
		name, ok := strings.CutPrefix(key, "INPUT_")
		if !ok || slices.ContainsFunc(inputs, func(in input) bool { return strings.EqualFold(in.name, name) }) {
			continue
		}
		unknown = append(unknown, name)
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		what := fmt.Sprintf("input %s", strings.ToLower(name))
		if names.flags {
			what = "the environment variable INPUT_" + name
		}
		msg := fmt.Sprintf("%s: not an input of sbdeploy, so this run would ignore it", what)
		if s := suggest(name); s != "" && names.flags {
			msg += fmt.Sprintf(": did you mean INPUT_%s (%s)?", strings.ToUpper(s), names.input(s))
		} else if s != "" {
			msg += fmt.Sprintf(": did you mean %s?", s)
		} else {
			msg += ": remove it (the inputs are listed in action.yml)"
		}
		errs.errs = append(errs.errs, fmt.Errorf("%s", msg))
	}
}

// unknownFlag explains a flag that names no input, with the one it most
// likely means.
func unknownFlag(name string) error {
	if s := suggest(name); s != "" {
		return fmt.Errorf("--%s is not a flag of sbdeploy: did you mean --%s? (see --help)", name, s)
	}
	return fmt.Errorf("--%s is not a flag of sbdeploy (see --help)", name)
}

// suggest returns the input that a misspelt name most likely means, or "":
// the same name with _ for - or in another case, or one a typo or two away.
func suggest(name string) string {
	name = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	best, bestDist := "", 3
	if len(name) < 5 {
		bestDist = 2
	}
	for _, in := range inputs {
		if d := editDistance(name, in.name); d < bestDist {
			best, bestDist = in.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b: the fewest
// insertions, deletions and substitutions of bytes that turn a into b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
