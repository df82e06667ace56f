package action

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"sbdeploy/bundle"
	"sbdeploy/deploy"
)

// advise adds to err what to do about it, after "\n  what to do: " (the
// job summary splits the hint off there), naming the inputs (or flags) to
// change: the deploy package reports facts, this layer turns them into
// advice in the caller's terms. ctx tells a time limit or a cancellation
// from a failure of the service.
func (c *config) advise(ctx context.Context, err error) error {
	var hints []string
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		hints = append(hints, fmt.Sprintf("the whole run is limited to %s by %s; raise it if the API is slow", c.timeout, c.names.input("timeout")))
	case errors.Is(ctx.Err(), context.Canceled):
		err = fmt.Errorf("cancelled: %w", err)
	default:
		hints = append(hints, c.causeHint(err))
	}
	if partial, ok := errors.AsType[*partialReleaseError](err); ok {
		hints = append(hints, c.rerunHint(partial, ctx.Err() == nil && permanent(err)))
	}
	hints = slices.DeleteFunc(hints, func(h string) bool { return h == "" })
	if len(hints) == 0 {
		return err
	}
	return fmt.Errorf("%w\n  what to do: %s", err, strings.Join(hints, "\n  "))
}

// causeHint says what to do about the cause of a failure.
func (c *config) causeHint(err error) string {
	var apiErr *deploy.APIError
	var be *bundle.BuildError
	switch {
	case errors.As(err, &apiErr):
		return c.apiHint(apiErr)
	case errors.As(err, new(*deploy.BadResponseError)):
		return fmt.Sprintf("the answer is not what the StateBacked API sends: check that %s points at it", c.names.input("api-url"))
	case errors.Is(err, deploy.ErrMachineVanished):
		return "someone else deleted the machine while this run listed its instances: check what else manages it, then run again"
	case errors.As(err, &be):
		return unresolvedHint(be)
	}
	return ""
}

// unresolvedHint says what to do about the imports esbuild could not
// resolve, by what each names: a Node built-in (which no install can
// provide), a package, or a file of the app.
func unresolvedHint(be *bundle.BuildError) string {
	var hints []string
	add := func(h string) {
		if !slices.Contains(hints, h) {
			hints = append(hints, h)
		}
	}
	for _, m := range be.Messages {
		if m.Unresolved == "" {
			continue
		}
		switch bundle.KindOfImport(m.Unresolved) {
		case bundle.NodeImport:
			name, _ := bundle.NodeBuiltin(m.Unresolved)
			add(fmt.Sprintf("%q is a Node.js built-in module, and StateBacked runs code in a web-standards runtime without "+
				"Node's built-ins, so installing packages cannot fix this: %s", m.Unresolved, webInstead(name)))
		case bundle.PathImport:
			add(fmt.Sprintf("no file %q: check the import's path and spelling", m.Unresolved))
		default:
			add("install the app's packages before this step (`npm ci`, or your package manager's install), " +
				"so that node_modules is inside the workspace; check the import's spelling")
		}
	}
	return strings.Join(hints, "\n  ")
}

// webInstead says what a web-standards runtime offers in place of a Node
// built-in module.
func webInstead(module string) string {
	switch module {
	case "crypto":
		return "use globalThis.crypto instead: crypto.randomUUID(), crypto.getRandomValues() and crypto.subtle"
	case "buffer", "string_decoder":
		return "use Uint8Array with TextEncoder and TextDecoder (and atob and btoa for base64) instead of Buffer"
	case "util":
		return "use TextEncoder, TextDecoder and structuredClone instead, or the package's own code"
	case "url", "querystring":
		return "use the global URL and URLSearchParams instead"
	case "events":
		return "use the global EventTarget instead, or keep the machine's events in XState"
	case "stream", "stream/web":
		return "use web streams (ReadableStream, WritableStream) instead"
	}
	return "there is no file system, process or socket there: remove the import, or use a package written for the web"
}

// rerunHint says how to finish a release whose version was deployed and
// whose migration was not: a rerun of the job, after fixing the cause when a
// rerun would meet it again, that reuses the version instead of deploying a
// second one.
func (c *config) rerunHint(p *partialReleaseError, permanent bool) string {
	then := "run the job again"
	if permanent {
		then = "the API refused the migration, so a rerun as it is would fail the same way: fix what the error names first, then run the job again"
	}
	switch {
	case c.version.reuseVersion && c.version.clientInfo != "":
		return fmt.Sprintf("%s: with %s it finds version %s by its client info %q and deploys only the migration",
			then, c.names.input("reuse-version"), p.versionID, c.version.clientInfo)
	case c.version.reuseVersion:
		return fmt.Sprintf("%s, with %s set to name the code: %s matches no version by an empty client info, so the rerun would deploy a second version",
			then, c.names.input("client-info"), c.names.input("reuse-version"))
	}
	return fmt.Sprintf("%s with %s: it finds version %s by its client info and deploys only the migration, instead of a second version",
		then, c.names.setting("reuse-version", "true"), p.versionID)
}

// permanent reports an error that the same request meets again: the API's
// refusal of the request itself, not a failure of the network or the
// service.
func permanent(err error) bool {
	if apiErr, ok := errors.AsType[*deploy.APIError](err); ok {
		return apiErr.Status >= 400 && apiErr.Status < 500 && apiErr.Status != http.StatusRequestTimeout && apiErr.Status != http.StatusTooManyRequests
	}
	return errors.As(err, new(*deploy.BadResponseError))
}

// parameterInputs are the inputs that the API's request parameters come
// from.
var parameterInputs = map[string]string{
	"fromMachineVersionId": "from-version",
	"toMachineVersionId":   "to-version",
	"machineSlug":          "machine",
	"clientInfo":           "client-info",
	"indexSelectors":       "index-selectors",
	"makeCurrent":          "make-current",
}

// apiHint says what to do about an answer of the API or the upload host.
func (c *config) apiHint(e *deploy.APIError) string {
	in := c.names.input
	switch {
	case e.Code == "missing-scope":
		return c.scopeHint(e)
	case e.Code == "specify-org":
		return fmt.Sprintf("your user belongs to several organizations: set %s to the org_... ID to deploy to", in("org-id"))
	case e.Code == "missing-org":
		return fmt.Sprintf("the token's user is not in the organization that %s names: check it", in("org-id"))
	case e.Code == "missing-user":
		return "the token is not linked to a StateBacked user: create a new key or token"
	case e.Code == "rejected-by-machine-authorizer":
		return "the machine's authorizer refused this request"
	case e.Code == "no-migration-path":
		return fmt.Sprintf("the API found no migration path between the versions: check %s and %s", in("from-version"), in("to-version"))
	case e.Code == "invalid-state" && e.Step == deploy.StepDeleteMachine:
		return "the machine still has instances, and the API deletes only a machine without any. " +
			"Set " + c.names.setting("delete-instances", "true") + " to delete every instance first: " +
			"that destroys each instance's state and history for good"
	case e.Code == "invalid-parameter" && parameterInputs[e.Parameter] != "":
		return fmt.Sprintf("the API rejected %s: check %s", e.Parameter, in(parameterInputs[e.Parameter]))
	case e.Code == "invalid-parameter" && e.Parameter != "":
		return fmt.Sprintf("the API rejected %s: check the input it comes from", e.Parameter)
	case e.Status == http.StatusUnauthorized:
		return c.tokenHint()
	case e.Step == deploy.StepUpload && e.Status == http.StatusForbidden:
		return "the upload host refused the presigned upload, also after provisioning again: " +
			"its message above says why (an expired policy, or an upload that does not match it)"
	case e.Code == "EntityTooLarge":
		return "the code is over the service's size limit"
	case e.HTML:
		return fmt.Sprintf("an HTML page came back instead of the API's JSON: a proxy failed, or %s is not the StateBacked API", in("api-url"))
	case e.Status == http.StatusNotFound && e.Step != deploy.StepUpload:
		return fmt.Sprintf("the machine does not exist (or %s is wrong): check %s, or create the machine first", in("api-url"), in("machine"))
	case e.RetryAfter > time.Minute:
		return "the service asked to wait longer than a run waits: run the step again later"
	case e.Status >= 500:
		return "the service failed; run the step again later"
	}
	return ""
}

// scopeHint names the scope a token lacks and how to get a key with it.
func (c *config) scopeHint(e *deploy.APIError) string {
	scope := e.MissingScope()
	switch e.Step {
	case deploy.StepReadInstance:
		return fmt.Sprintf("the token lacks the instances.admin scope that %s needs to read each instance's state and context: "+
			"keys made with `smply keys create` cannot have admin scopes, so use the token of a user who is an admin of the organization "+
			"(%s, or STATEBACKED_TOKEN) for this step, or set %s", c.names.input("replay-instances"), c.names.input("token"), c.names.setting("replay-instances", "0"))
	case deploy.StepListInstances, deploy.StepSetInstanceVersion:
		if e.Step == deploy.StepListInstances && c.code.replay > 0 && !c.upgrade {
			return fmt.Sprintf("the token lacks the %s scope that %s needs to find the instances on from-version; "+
				"it also needs instances.admin, which keys made with `smply keys create` cannot have: use an organization admin's token, or set %s",
				scope, c.names.input("replay-instances"), c.names.setting("replay-instances", "0"))
		}
		if c.upgrade {
			return fmt.Sprintf("the token lacks the %s scope: a rollout needs instances.read (to list instances) and "+
				"instances.write (to ask them to move), which keys made with `smply keys create --use ci` do not have: "+
				"use a key with both, for instance in a step of its own (mode upgrade)", scope)
		}
	}
	switch scope {
	case "machine-versions.write", "machines.read", "machines.write":
		return fmt.Sprintf("the token lacks the %s scope. Create a CI key with `smply keys create --use ci` "+
			"(it has that scope) and pass it as %s and %s, or a token made from it, from repository secrets",
			scope, c.names.input("key-id"), c.names.input("secret-key"))
	}
	return fmt.Sprintf("the token lacks the %s scope that %s needs; keys made with `smply keys create --use ci` "+
		"do not have it: use a key with that scope for this step", scope, e.Step)
}

// tokenHint says where to look when the API rejects the token: wherever
// this run took it from.
func (c *config) tokenHint() string {
	const why = "the token was rejected: it may have expired or be for another environment"
	switch c.auth.source {
	case tokenEnv:
		return why + ". Check the STATEBACKED_TOKEN environment variable (or the secret it comes from)"
	case tokenKey:
		return fmt.Sprintf("the token minted from the key was rejected: check that %s and %s belong to the same key, "+
			"and that the key was not deleted", c.names.input("key-id"), c.names.input("secret-key"))
	}
	return why + ". Check " + c.names.input("token") + " (or the secret it comes from)"
}

// ExitCode is the process's exit status for the error Run returned: 0 done
// (or help and version shown), 2 a usage or input error (nothing was sent),
// 3 a release that deployed its version but not its migration, 1 any other
// failure.
func ExitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp), errors.Is(err, errVersion):
		return 0
	case errors.As(err, new(*usageError)):
		return 2
	case errors.As(err, new(*partialReleaseError)):
		return 3
	}
	return 1
}

// partialReleaseError is a release whose version was deployed and whose
// migration was not.
type partialReleaseError struct {
	versionID string
	reused    bool // the version was found by reuse-version, not deployed by this run
	err       error
}

func (e *partialReleaseError) Error() string {
	if e.reused {
		return fmt.Sprintf("version %s was reused, but the migration to it was not deployed: %v", e.versionID, e.err)
	}
	return fmt.Sprintf("version %s was deployed, but the migration to it was not: %v", e.versionID, e.err)
}
func (e *partialReleaseError) Unwrap() error { return e.err }
