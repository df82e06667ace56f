# The sbdeploy container action: a static Go binary on an empty image.
#
# The layers go from what changes least to what changes most: the modules
# (go.mod, go.sum), then the compiled dependencies (the standard library with
# this build's tags, esbuild and the rest), then the project's own source. A
# change to the source recompiles only the project's packages and links.
#
# The build stages run on the builder's platform and cross-compile for the
# target one (GOOS/GOARCH from TARGETOS/TARGETARCH), so a multi-platform
# build needs no emulator. BuildKit sets these platform arguments; the classic
# builder (act builds a local action's image with it) does not: there the
# stages run on linux/amd64 and Go builds for it.

FROM --platform=${BUILDPLATFORM:-linux/amd64} golang:1.26 AS modules
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
ARG TARGETOS
ARG TARGETARCH
# The same environment and flags for every go command below, so the packages
# compiled in the dependency layer are the ones the final build reuses.
# Static (no cgo) so it runs on scratch; -trimpath keeps build paths out.
# nethttpomithttp2 leaves HTTP/2 out of net/http: a deploy's few sequential
# requests on reused HTTP/1.1 connections need nothing more. noemulator
# leaves out the demo and the emulator, which the action's users never run.
ENV CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOFLAGS="-tags=nethttpomithttp2,noemulator -trimpath"

# The packages the binary imports from outside the module (standard library
# included), read from the source. This stage reruns on every source change,
# but it only lists; the next stage is rebuilt only when the list changes.
FROM modules AS dependencies
COPY . .
RUN go list -deps -f '{{if or .Standard (not .Module.Main)}}{{.ImportPath}}{{end}}' . >/dependencies.txt

FROM modules AS build
COPY --from=dependencies /dependencies.txt /dependencies.txt
RUN go build $(cat /dependencies.txt)
# The release passes its tag (v1.2.3); -s -w keep symbols and DWARF out.
ARG VERSION=dev
COPY . .
RUN go build -ldflags="-s -w -X main.version=${VERSION}" -o /sbdeploy .

FROM scratch
# The API is reached over HTTPS: the binary needs the CA roots.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /sbdeploy /sbdeploy
# No USER: the runner starts container actions as root and mounts the file
# commands (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) writable by root only.
# Absolute exec form: the runner sets its own working directory and passes the
# action's args after the entrypoint.
ENTRYPOINT ["/sbdeploy"]
