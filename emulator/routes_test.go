package emulator_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// routedCall is a request of one step, by its method and path alone.
type routedCall struct {
	step         emulator.Step
	method, path string
}

// routedCalls returns a request of every step.
func routedCalls() []routedCall {
	return []routedCall{
		{emulator.StepCreateMachine, "POST", "/machines"},
		{emulator.StepGetMachine, "GET", "/machines/door"},
		{emulator.StepDeleteMachine, "DELETE", "/machines/door"},
		{emulator.StepListVersions, "GET", "/machines/door/v"},
		{emulator.StepProvisionVersion, "POST", "/machines/door/v"},
		{emulator.StepFinalizeVersion, "PUT", "/machines/door/v/ver_x.sig"},
		{emulator.StepProvision, "POST", "/machines/door/migrations"},
		{emulator.StepFinalize, "PUT", "/machines/door/migrations/mvm_x.sig"},
		{emulator.StepListInstances, "GET", "/machines/door/i"},
		{emulator.StepDeleteInstance, "DELETE", "/machines/door/i/bulb"},
		{emulator.StepSetInstanceVersion, "PUT", "/machines/door/i/bulb/v"},
		{emulator.StepReadInstance, "GET", "/machines/door/i/bulb/admin"},
		{emulator.StepUpload, "POST", "/upload/some-bucket"},
	}
}

// routing is how the emulator took a request: the step it recorded, and
// the answer's status, Allow header, content type and error code.
type routing struct {
	Step   emulator.Step
	Status int
	Allow  string
	Type   string
	Code   string
}

// routeCase is a request and how the emulator should take it.
type routeCase struct {
	name, method, path string
	want               routing
}

// teapot is the status of the fault TestRoutes injects into every step.
const teapot = http.StatusTeapot

// routeCases returns the requests TestRoutes sends: one of every step, then
// those no route takes, and those with an empty last segment.
func routeCases() []routeCase {
	routed := func(step emulator.Step) routing { return routing{Step: step, Status: teapot} }
	notAllowed := func(step emulator.Step, allow string) routing {
		return routing{step, 405, allow, "application/json", "method-not-allowed"}
	}
	notFound := routing{"", 404, "", "application/json", "not-found"}
	var cases []routeCase
	for _, c := range routedCalls() {
		cases = append(cases, routeCase{string(c.step), c.method, c.path, routed(c.step)})
	}
	return append(cases, []routeCase{
		{"wrong method on a machine", "PUT", "/machines/door", notAllowed(emulator.StepDeleteMachine, "GET, DELETE")},
		{"HEAD on a machine", "HEAD", "/machines/door", routing{emulator.StepDeleteMachine, 405, "GET, DELETE", "application/json", ""}},
		{"HEAD on instances", "HEAD", "/machines/door/i", routing{emulator.StepListInstances, 405, "GET", "application/json", ""}},
		{"wrong method on versions", "PATCH", "/machines/door/v", notAllowed(emulator.StepProvisionVersion, "GET, POST")},
		{"wrong method on a version", "GET", "/machines/door/v/x", notAllowed(emulator.StepFinalizeVersion, "PUT")},
		{"wrong method on /machines", "GET", "/machines", notAllowed(emulator.StepCreateMachine, "POST")},
		{"wrong method on migrations", "GET", "/machines/door/migrations", notAllowed(emulator.StepProvision, "POST")},
		{"wrong method on a migration", "DELETE", "/machines/door/migrations/x", notAllowed(emulator.StepFinalize, "PUT")},
		{"wrong method on instances", "POST", "/machines/door/i", notAllowed(emulator.StepListInstances, "GET")},
		{"wrong method on an instance", "GET", "/machines/door/i/bulb", notAllowed(emulator.StepDeleteInstance, "DELETE")},
		{"wrong method on an instance's version", "GET", "/machines/door/i/bulb/v", notAllowed(emulator.StepSetInstanceVersion, "PUT")},
		{"wrong method on an instance's admin state", "PUT", "/machines/door/i/bulb/admin", notAllowed(emulator.StepReadInstance, "GET")},
		{"wrong method on the upload", "GET", "/upload/some-bucket", routing{emulator.StepUpload, 405, "POST", "application/xml", "MethodNotAllowed"}},
		{"wrong method, empty machine slug", "PUT", "/machines/", notAllowed(emulator.StepDeleteMachine, "GET, DELETE")},
		{"empty machine slug, GET", "GET", "/machines/", routed(emulator.StepGetMachine)},
		{"empty machine slug, DELETE", "DELETE", "/machines/", routed(emulator.StepDeleteMachine)},
		{"empty signed version id", "PUT", "/machines/door/v/", routed(emulator.StepFinalizeVersion)},
		{"empty signed migration id", "PUT", "/machines/door/migrations/", routed(emulator.StepFinalize)},
		{"empty instance slug", "DELETE", "/machines/door/i/", routed(emulator.StepDeleteInstance)},
		{"empty bucket", "POST", "/upload/", routed(emulator.StepUpload)},
		{"root", "GET", "/", notFound},
		{"unknown path", "GET", "/nothing", notFound},
		{"machine with a trailing slash", "GET", "/machines/door/", notFound},
		{"double slash, not a redirect", "GET", "/machines//door", notFound},
		{"dot segment, not a redirect", "GET", "/machines/door/i/../v", notFound},
		{"under an instance", "DELETE", "/machines/door/i/bulb/x", notFound},
		{"under a version", "PUT", "/machines/door/v/x/y", notFound},
		{"upload without bucket, not a redirect", "POST", "/upload", notFound},
		{"under a bucket", "POST", "/upload/some-bucket/key", notFound},
	}...)
}

// TestRoutes sends each request with a fault pending for every step: a
// routed request gets its step's fault, before any validation; a refused one
// gets its 404 or 405 and leaves every fault pending.
func TestRoutes(t *testing.T) {
	t.Parallel()
	for _, tc := range routeCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, emulator.Config{Instances: map[string][]string{"door": {"bulb"}}})
			for _, c := range routedCalls() {
				em.Inject(c.step, 1, testkit.Fault{Status: teapot})
			}
			r := mustSend(t, tc.method, srv.URL+tc.path, apiHeader(), nil)
			reqs := em.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests recorded, want 1: %+v", len(reqs), reqs)
			}
			got := routing{reqs[0].Step, r.status, r.header.Get("Allow"), r.header.Get("Content-Type"), errorCode(r)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s %s answered %s (-want +got):\n%s", tc.method, tc.path, r.body, diff)
			}
			if reqs[0].Status != r.status {
				t.Errorf("recorded status %d, answered %d", reqs[0].Status, r.status)
			}
			if tc.want.Status == teapot {
				return
			}
			for _, c := range routedCalls() { // the refusal used up no fault
				if r := mustSend(t, c.method, srv.URL+c.path, apiHeader(), nil); r.status != teapot {
					t.Errorf("afterwards, %s %s = %d %s, want the fault pending for %s", c.method, c.path, r.status, r.body, c.step)
				}
			}
		})
	}
}

// errorCode returns the code of a JSON API error or an S3 XML error, or "".
func errorCode(r response) string {
	var j struct{ Code string }
	if json.Unmarshal(r.body, &j) == nil {
		return j.Code
	}
	var x struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
	}
	if xml.Unmarshal(r.body, &x) == nil {
		return x.Code
	}
	return ""
}
