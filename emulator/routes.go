package emulator

import (
	"fmt"
	"net/http"
	"strings"
)

// route is one kind of request the emulator serves.
type route struct {
	pattern string // a ServeMux pattern: method and path, e.g. "PUT /machines/{machine}/v/{signedID}"
	step    Step
	// serve answers a request of the step once it is recorded, its body read
	// and no fault applies.
	serve func(w http.ResponseWriter, r *http.Request, body []byte)
}

// apiFunc answers an API request that passed checkCaller: the JSON to answer
// (nil for no body), or the error.
type apiFunc func(r *http.Request, body []byte) (any, *apiError)

// routes is every request the emulator serves, with the status of each API
// answer that succeeds. API requests are paced as Config says (Latency,
// Capacity, RateLimit); uploads are not. Paths name the machine {machine}, so checkCaller can
// check it. A request with a method its path does not take is recorded with
// the step of the path's last route here: reads come first, so on a shared
// path that is the write, as it was before routing used a ServeMux.
func (e *Emulator) routes() []route {
	p := newPacer(e.cfg)
	api := func(pattern string, step Step, ok int, f apiFunc) route {
		return route{pattern, step, p.pace(e.api(step, ok, f))}
	}
	return []route{
		api("POST /machines", StepCreateMachine, http.StatusCreated, e.createMachine),
		api("GET /machines/{machine}", StepGetMachine, http.StatusOK, e.getMachine),
		api("DELETE /machines/{machine}", StepDeleteMachine, http.StatusNoContent, e.deleteMachine),
		api("GET /machines/{machine}/v", StepListVersions, http.StatusOK, e.listVersions),
		api("POST /machines/{machine}/v", StepProvisionVersion, http.StatusOK, e.provisionVersion),
		api("PUT /machines/{machine}/v/{signedID}", StepFinalizeVersion, http.StatusOK, e.finalizeVersion),
		api("POST /machines/{machine}/migrations", StepProvision, http.StatusOK, e.provision),
		api("PUT /machines/{machine}/migrations/{signedID}", StepFinalize, http.StatusOK, e.finalize),
		api("GET /machines/{machine}/i", StepListInstances, http.StatusOK, e.listInstances),
		api("DELETE /machines/{machine}/i/{instance}", StepDeleteInstance, http.StatusNoContent, e.deleteInstance),
		api("PUT /machines/{machine}/i/{instance}/v", StepSetInstanceVersion, http.StatusCreated, e.setInstanceVersion),
		api("GET /machines/{machine}/i/{instance}/admin", StepReadInstance, http.StatusOK, e.readInstance),
		{"POST /upload/{bucket}", StepUpload, e.upload},
	}
}

// muxes returns the mux that routes requests to their routes, and the one
// that finds, by path alone, the refusal of a request with another method.
func (e *Emulator) muxes() (routed, paths *http.ServeMux) {
	routed, paths = http.NewServeMux(), http.NewServeMux()
	refusals := map[string]*refusal{}
	for _, rt := range e.routes() {
		for _, pattern := range withEmptyLast(rt.pattern) {
			routed.Handle(pattern, &rt)
			method, path, _ := strings.Cut(pattern, " ")
			f, ok := refusals[path]
			if !ok {
				f = &refusal{}
				refusals[path] = f
				paths.Handle(path, f)
			}
			f.step = rt.step
			f.allow = strings.TrimPrefix(f.allow+", "+method, ", ")
		}
	}
	return routed, paths
}

// withEmptyLast returns pattern and, if its path ends in a wildcard, the
// pattern with that last segment empty. A ServeMux wildcard matches no empty
// segment; routed, an empty slug or ID is answered as an invalid parameter
// that names what to fix, rather than as an unknown path.
func withEmptyLast(pattern string) []string {
	if i := strings.LastIndex(pattern, "/{"); i >= 0 && strings.HasSuffix(pattern, "}") {
		return []string{pattern, pattern[:i+1] + "{$}"}
	}
	return []string{pattern}
}

// match returns the step of r, and nil if a route takes it, or else the
// refusal that answers it.
func (e *Emulator) match(r *http.Request) (Step, *refusal) {
	h, _ := e.mux.Handler(r)
	// A redirect or the mux's own 404 or 405 is no *route. ServeMux serves
	// HEAD with a GET pattern; no API client sends HEAD, so it stays a wrong
	// method here.
	if rt, ok := h.(*route); ok && r.Method != http.MethodHead {
		return rt.step, nil
	}
	h, _ = e.paths.Handler(r)
	if f, ok := h.(*refusal); ok {
		return f.step, f
	}
	return "", &refusal{}
}

// bodyKey keys, in the context of a routed request, the body ServeHTTP read.
type bodyKey struct{}

// ServeHTTP serves a request the mux routed to rt, with its path values set.
func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := r.Context().Value(bodyKey{}).([]byte)
	rt.serve(w, r, body)
}

// refusal answers a request no route takes: 405 for a known path, naming the
// methods it takes, or 404.
type refusal struct {
	step  Step   // of the path's last route; "" for an unknown path
	allow string // the methods the path takes, e.g. "GET, DELETE"; "" for an unknown path
}

func (f *refusal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.allow == "" {
		writeJSON(w, http.StatusNotFound, &apiError{Message: "no such path: " + r.URL.Path, Code: "not-found"})
		return
	}
	w.Header().Set("Allow", f.allow)
	msg := fmt.Sprintf("%s takes %s, not %s", r.URL.Path, f.allow, r.Method)
	if f.step == StepUpload { // the upload host is S3, which answers in XML
		writeS3(w, s3err(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s", msg))
		return
	}
	writeJSON(w, http.StatusMethodNotAllowed, &apiError{Message: msg, Code: "method-not-allowed"})
}
