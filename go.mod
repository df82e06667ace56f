module sbdeploy

go 1.25.0

require (
	github.com/evanw/esbuild v0.28.2
	github.com/google/go-cmp v0.7.0
	github.com/klauspost/compress v1.20.3
	github.com/sethvargo/go-githubactions v1.4.0
)

require (
	github.com/cenkalti/backoff/v5 v5.0.3 // indirect
	golang.org/x/sys v0.0.0-20220715151400-c0bba94af5f8 // indirect
)
