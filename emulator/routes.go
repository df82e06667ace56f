package emulator

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// route is one kind of request the emulator serves.
type route struct {
	pattern string // a ServeMux pattern: method and path, e.g. "PUT /machines/{machine}/v/{signedID}"
	step    Step
	// serve answers a request of the step once it is recorded, its body read
	// and Config.Intercept did not answer it.
	serve func(w http.ResponseWriter, r *http.Request, body []byte)
}

// routes is every request the emulator serves. An API request needs the
// scope named, answers the status named when it succeeds, and is paced as
// Config says (Latency, Capacity, RateLimit); the upload is not. Paths name
// the machine {machine} and the instance {instance}, which checkCaller
// checks. A request with a method its path does not take is recorded with
// the step of the path's last route here: reads come first, so on a shared
// path that is the write.
func (e *Emulator) routes() []route {
	p := newPacer(e.cfg)
	api := func(pattern string, step Step, scope string, ok int, f apiFunc) route {
		return route{pattern, step, p.pace(e.api(step, scope, ok, f))}
	}
	return []route{
		api("POST /machines", StepCreateMachine, "machines.write", http.StatusCreated, e.createMachine),
		api("GET /machines/{machine}", StepGetMachine, "machines.read", http.StatusOK, e.withMachine(e.getMachine)),
		api("DELETE /machines/{machine}", StepDeleteMachine, "machines.admin", http.StatusNoContent, e.withMachine(e.deleteMachine)),
		api("GET /machines/{machine}/v", StepListVersions, "machine-versions.read", http.StatusOK, e.withMachine(e.listVersions)),
		api("POST /machines/{machine}/v", StepProvisionVersion, scopeWrite, http.StatusOK, e.provisionVersion),
		api("PUT /machines/{machine}/v/{signedID}", StepFinalizeVersion, scopeWrite, http.StatusOK, e.finalizeVersion),
		api("POST /machines/{machine}/migrations", StepProvision, scopeWrite, http.StatusOK, e.provision),
		api("PUT /machines/{machine}/migrations/{signedID}", StepFinalize, scopeWrite, http.StatusOK, e.finalize),
		api("GET /machines/{machine}/i", StepListInstances, "instances.read", http.StatusOK, e.withMachine(e.listInstances)),
		api("DELETE /machines/{machine}/i/{instance}", StepDeleteInstance, "instances.admin", http.StatusNoContent, e.withMachine(e.deleteInstance)),
		api("PUT /machines/{machine}/i/{instance}/v", StepSetInstanceVersion, "instances.write", http.StatusCreated, e.withMachine(e.setInstanceVersion)),
		api("GET /machines/{machine}/i/{instance}/admin", StepReadInstance, "instances.admin", http.StatusOK, e.withMachine(e.readInstance)),
		{"POST /upload/{bucket}", StepUpload, e.upload},
	}
}

// endpoint is a path the emulator serves, with its routes by method.
type endpoint struct {
	e       *Emulator
	methods map[string]route
	allow   string // the methods it takes, e.g. "GET, DELETE"
	last    Step   // the step of its last route
}

// newMux returns the mux that routes each path of e.routes() to its
// endpoint, whatever the method. A ServeMux wildcard matches no empty
// segment, so a path that ends in a wildcard is also routed with that
// segment empty: an empty slug or ID is then answered as an invalid
// parameter that names what to fix, rather than as an unknown path.
func (e *Emulator) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	endpoints := map[string]*endpoint{}
	for _, rt := range e.routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		ep := endpoints[path]
		if ep == nil {
			ep = &endpoint{e: e, methods: map[string]route{}}
			endpoints[path] = ep
			mux.Handle(path, ep)
			if i := strings.LastIndex(path, "/{"); i >= 0 && strings.HasSuffix(path, "}") {
				mux.Handle(path[:i+1]+"{$}", ep)
			}
		}
		ep.methods[method] = rt
		ep.allow = strings.TrimPrefix(ep.allow+", "+method, ", ")
		ep.last = rt.step
	}
	return mux
}

// ServeHTTP records the request under its step, then answers it through
// Config.Intercept or by its route; a request no route takes is answered 405
// (a known path) or 404, without Config.Intercept.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Only a path the mux routes to an endpoint is served through it, which
	// sets the path values: one it would redirect, as with "//" or "..", is
	// no path the API has.
	h, _ := e.mux.Handler(r)
	if _, ok := h.(*endpoint); ok {
		e.mux.ServeHTTP(w, r)
		return
	}
	e.serve(w, r, route{serve: pathNotFound}, false)
}

// ServeHTTP serves a request e.mux routed here. A method no route takes,
// HEAD included, is refused.
func (ep *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt, ok := ep.methods[r.Method]; ok {
		ep.e.serve(w, r, rt, true)
		return
	}
	ep.e.serve(w, r, route{step: ep.last, serve: ep.refuse}, false)
}

// serve records r under rt's step, reads its body, and answers it: 400 if
// the body cannot be read, else through Config.Intercept if routed and it
// answers, else rt.serve.
func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, rt route, routed bool) {
	i := e.record(rt.step, r)
	// Reading one byte past the cap lets handlers see an oversized body as too large.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRecorded+1))
	e.update(i, func(req *Request) { req.Body = body[:min(len(body), maxRecorded)] })
	sw := &statusWriter{ResponseWriter: w, e: e, i: i}
	defer func() {
		if sw.status == 0 && !sw.cut {
			e.update(i, func(req *Request) { req.Status = http.StatusOK }) // what net/http sends for no answer
		}
	}()
	switch {
	case err != nil:
		http.Error(sw, "cannot read request body", http.StatusBadRequest)
	case routed && e.cfg.Intercept != nil && e.cfg.Intercept(sw, r, rt.step):
	default:
		rt.serve(sw, r, body)
	}
}

// refuse answers a method the path does not take: 405, naming those it takes.
func (ep *endpoint) refuse(w http.ResponseWriter, r *http.Request, _ []byte) {
	w.Header().Set("Allow", ep.allow)
	msg := fmt.Sprintf("%s takes %s, not %s", r.URL.Path, ep.allow, r.Method)
	if ep.last == StepUpload { // the upload host is S3, which answers in XML
		writeS3(w, s3err(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s", msg))
		return
	}
	writeJSON(w, http.StatusMethodNotAllowed, &apiError{Message: msg, Code: "method-not-allowed"})
}

// pathNotFound answers a path no route has.
func pathNotFound(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, http.StatusNotFound, &apiError{Message: "no such path: " + r.URL.Path, Code: "not-found"})
}
