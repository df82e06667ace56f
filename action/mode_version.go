package action

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"sbdeploy/deploy"
)

// versionInputs are the inputs of the modes that deploy a machine version.
var versionInputs = []string{"client-info", "make-current", "index-selectors", "create-machine", "indexes", "reuse-version"}

// versionMode deploys a machine version.
func modeVersion() *mode {
	return &mode{
		name:    "version",
		usage:   "deploy a machine version (file)",
		inputs:  slices.Concat([]string{"from-machine-file"}, versionInputs, deploymentInputs, codeInputs),
		version: true,
		load: func(c *config, l loading) {
			c.loadVersion(l)
			c.loadCode(l)
		},
		run:     (*deployer).deployCode,
		titles:  titles{done: "Deployed machine version", dryRun: "Dry run: nothing was changed", failed: "Deploy failed"},
		rows:    (*report).codeRows,
		outputs: slices.Concat([]string{"version-id", "version-reused"}, bundleOutputs),
	}
}

// loadVersion checks the inputs of a machine version deploy.
func (c *config) loadVersion(l loading) {
	src, errs, v := l.src, l.errs, &c.version
	v.makeCurrent = c.bool(src, "make-current", errs)
	v.createMachine = c.bool(src, "create-machine", errs)
	v.reuseVersion = c.bool(src, "reuse-version", errs)
	if raw := src.get("index-selectors"); raw != "" {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &obj) != nil || obj == nil {
			errs.add("index-selectors", "%s is not a JSON object, such as {\"email\": \"$.user.email\"}", quote(raw))
		} else {
			v.indexSelectors = json.RawMessage(raw)
		}
	}
	for _, name := range strings.Split(src.get("indexes"), ",") {
		switch name = strings.TrimSpace(name); {
		case name == "":
		case !deploy.ValidSlug(name):
			errs.add("indexes", "%s is not an index name: use 1-128 letters, digits, _ or -", quote(name))
		default:
			v.indexes = append(v.indexes, name)
		}
	}
	if len(v.indexes) > 0 && !v.createMachine {
		errs.add("indexes", "used only when create-machine is true")
	}
	v.clientInfo = cmp.Or(src.get("client-info"), src.getenv("GITHUB_SHA"))
	if v.clientInfo == "" && src.gitHead != nil {
		v.clientInfo = src.gitHead()
	}
	if strings.ContainsAny(v.clientInfo, "\r\n") {
		errs.add("client-info", "must be one line")
	}
}
