# The sbdeploy container action: a static Go binary on an empty image.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, in their own layer: it stays cached until go.mod or go.sum
# change, whatever happens to the source.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo) so it runs on scratch; -trimpath and -s -w keep build paths
# and symbols out of the binary.
# nethttpomithttp2 leaves HTTP/2 out of net/http (533 KB): three sequential
# requests on one reused HTTP/1.1 connection need nothing more.
RUN CGO_ENABLED=0 go build -tags nethttpomithttp2 -trimpath -ldflags="-s -w" -o /sbdeploy .

FROM scratch
# The API is reached over HTTPS: the binary needs the CA roots.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /sbdeploy /sbdeploy
# No USER: the runner starts container actions as root and mounts the file
# commands (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) writable by root only.
# Absolute exec form: the runner sets its own working directory and passes the
# action's args after the entrypoint.
ENTRYPOINT ["/sbdeploy"]
