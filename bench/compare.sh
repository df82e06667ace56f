#!/usr/bin/env bash
# compare.sh times sbdeploy side by side with what a user would run instead,
# against the same local emulator of the StateBacked API, and checks the
# performance budgets of BENCHMARKS.md. It exits non-zero if one is missed.
#
#   bash bench/compare.sh            # from a clean clone; about 2-3 minutes
#   RUNS=20 bash bench/compare.sh    # more runs per command (default 10)
#   BENCH_OUT=bench bash bench/compare.sh   # also rewrite bench/bundle-time.png
#
# It installs what it needs: hyperfine and gnuplot (Debian packages, if
# missing), and in a scratch directory, with npm, the node project in bench/:
# esbuild@0.28.2 (the JS API for the official toolchain, and its native CLI
# binary, the same engine as go.mod's), @statebacked/client, and the real
# libraries the realistic app imports. Every request goes to 127.0.0.1.
#
# Environment: RUNS, BENCH_WORK (a directory to reuse between runs instead of
# a new scratch one), BENCH_OUT (where results.txt and bundle-time.png go;
# default BENCH_WORK), BENCH_DOCKER=1 (build the image and measure it rather
# than adding up its two layers).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${RUNS:-10}
work=${BENCH_WORK:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
out=${BENCH_OUT:-$work}
mkdir -p "$out"
out=$(cd "$out" && pwd)
started=$(date +%s)
say() { printf '== %s\n' "$*" >&2; }

# Budgets (BENCHMARKS.md).
max_deploy_ratio=0.07   # sbdeploy / official toolchain, whole deploy of a small app
max_bundle_ratio=1.15   # sbdeploy / native esbuild CLI, bundling the realistic app
max_rss_kb=58593        # 60 MB (60,000,000 bytes) peak RSS, small deploy
max_binary=12000000     # bytes
max_image=15000000      # bytes
max_first_ms=20         # process start to first request, small deploy

say "tools"
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
for t in go node npm hyperfine gnuplot; do
  command -v "$t" >/dev/null || { echo "compare.sh: $t is required" >&2; exit 2; }
done

say "node project (official toolchain, native esbuild, realistic app) in $work"
cp bench/package.json bench/package-lock.json bench/official.mjs "$work/"
rm -rf "$work/app" "$work/small"
cp -r bench/app "$work/app"
cp -r testdata/example "$work/small"
if [ ! -d "$work/node_modules/@statebacked/client" ] || ! cmp -s bench/package-lock.json "$work/node_modules/.package-lock.json.src" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp bench/package-lock.json "$work/node_modules/.package-lock.json.src"
fi
esbuild=$(cd "$work" && node -p 'require.resolve(`@esbuild/${process.platform}-${process.arch}/bin/esbuild`)')
want_version=$(awk '$1 == "github.com/evanw/esbuild" {sub(/^v/, "", $2); print $2}' go.mod)
have_version=$("$esbuild" --version)
if [ "$have_version" != "$want_version" ]; then
  echo "compare.sh: native esbuild is $have_version, go.mod has $want_version: update bench/package.json" >&2
  exit 2
fi

say "build sbdeploy as the Dockerfile does, and the probe"
build=$(grep -m1 -E '^RUN .*go build' Dockerfile | sed -e 's/^RUN //' -e "s# -o /sbdeploy # -o $work/sbdeploy #")
case "$build" in
*"-o $work/sbdeploy "*) ;;
*) build="CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w\" -o $work/sbdeploy ." ;;
esac
echo "   $build" >&2
eval "$build"
go build -o "$work/probe" ./bench/probe
for n in 1 50 250 500 1000 2000; do
  [ -f "$work/gen$n/entry.ts" ] || go run ./testdata/genapp/cmd -n "$n" -o "$work/gen$n" >/dev/null
done

say "emulator on 127.0.0.1 (lenient: the official client sends extra provision keys)"
export STATEBACKED_TOKEN="bench_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"$work/sbdeploy" emulator --listen 127.0.0.1:0 --lenient >"$work/emulator.log" 2>&1 &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true' EXIT
api=""
for _ in $(seq 100); do
  api=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/emulator.log" | head -1 || true)
  [ -n "$api" ] && break
  sleep 0.05
done
[ -n "$api" ] || { cat "$work/emulator.log" >&2; exit 2; }

# A plain CLI run: nothing may reach a real workflow's outputs or summary.
unset GITHUB_ACTIONS GITHUB_OUTPUT GITHUB_STEP_SUMMARY GITHUB_WORKSPACE
cd "$work"
rm -f plot.dat.new
sb=(./sbdeploy --machine toggle --from-version ver_toggle_1 --to-version ver_toggle_2)
official=(node official.mjs --machine toggle --from ver_toggle_1 --to ver_toggle_2)
esbuild_opts=(--bundle --platform=browser --format=esm --target=es2022 --minify --keep-names --legal-comments=none
  '--define:process.env.NODE_ENV="production"' --drop:debugger --alias:xstate=npm:xstate
  --external:npm:xstate '--external:npm:xstate/*' --log-level=warning)
q() { printf '%q ' "$@"; }
hf() { # hf NAME CMD...: hyperfine one command, JSON to $work/hf-NAME.json
  local name=$1
  shift
  hyperfine -N --style none --warmup 2 --runs "$runs" --export-json "$work/hf-$name.json" "$(q "$@")" >/dev/null
}
median() { node -e 'const r = require(process.argv[1]).results[0]; console.log((r.median * 1000).toFixed(1))' "$work/hf-$1.json"; }

say "whole deploy of the small app: official toolchain vs sbdeploy ($runs runs each)"
hf deploy-official "${official[@]}" --dir small --file migrations/toggle-v1-to-v2.ts --api-url "$api"
hf deploy-sbdeploy "${sb[@]}" --working-directory small --file migrations/toggle-v1-to-v2.ts --api-url "$api"

say "bundling the realistic app: native esbuild CLI vs sbdeploy --dry-run (and esbuild's JS API)"
hf bundle-esbuild "$esbuild" app/migrations/orders-v1-to-v2.ts "${esbuild_opts[@]}" --outfile="$work/esbuild-out.js"
hf bundle-sbdeploy "${sb[@]}" --working-directory app --file migrations/orders-v1-to-v2.ts --dry-run true
hf bundle-jsapi node official.mjs --dir app --file migrations/orders-v1-to-v2.ts --bundle-only

say "bundling synthetic apps of 1 to 2,000 modules (testdata/genapp)"
for n in 1 50 250 500 1000 2000; do
  hf "gen$n-esbuild" "$esbuild" "gen$n/entry.ts" "${esbuild_opts[@]}" --outfile="$work/gen-out.js"
  hf "gen$n-sbdeploy" "${sb[@]}" --working-directory "gen$n" --file entry.ts --dry-run true
done

say "start-up to first request, connections and peak RSS (probe, in-process emulator)"
probe_sb=$(./probe -runs "$((runs * 2))" -- "${sb[@]}" --working-directory small --file migrations/toggle-v1-to-v2.ts --api-url '{api}')
probe_official=$(./probe -runs 3 -warmup 1 -- "${official[@]}" --dir small --file migrations/toggle-v1-to-v2.ts --api-url '{api}')
probe_esbuild=$(./probe -runs "$((runs * 2))" -requests 0 -- "$esbuild" small/migrations/toggle-v1-to-v2.ts "${esbuild_opts[@]}" --outfile="$work/small-out.js")
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

# The same bytes: sbdeploy's bundle is the native CLI's.
sb_sha=$("${sb[@]}" --working-directory app --file migrations/orders-v1-to-v2.ts --dry-run true | awk -F= '$1 == "bundle-sha256" {print $2}')
cli_sha=$(sha256sum "$work/esbuild-out.js" | cut -d' ' -f1)

binary=$(stat -c %s sbdeploy)
ca=/etc/ssl/certs/ca-certificates.crt
image=$((binary + $(stat -c %s "$ca")))
image_how="binary + CA bundle: the image's only two layers"
if [ "${BENCH_DOCKER:-}" = 1 ] && docker info >/dev/null 2>&1; then
  (cd "$root" && docker build -q -t sbdeploy-bench "$root" >/dev/null)
  image=$(docker image inspect -f '{{.Size}}' sbdeploy-bench)
  image_how="docker image inspect"
fi
nohttp2=$(cd "$root" && CGO_ENABLED=0 go build -tags nethttpomithttp2 -trimpath -ldflags="-s -w" -o "$work/sbdeploy-nohttp2" . && stat -c %s "$work/sbdeploy-nohttp2")

d_off=$(median deploy-official) d_sb=$(median deploy-sbdeploy)
b_cli=$(median bundle-esbuild) b_sb=$(median bundle-sbdeploy) b_js=$(median bundle-jsapi)
first=$(field "$probe_sb" first_request_ms)
rss=$(field "$probe_sb" peak_rss_kb)
{
  echo "sbdeploy vs the alternatives: medians of $runs runs ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr), $(go version | cut -d' ' -f3), node $(node --version), esbuild $have_version"
  echo
  printf '%-58s %10s\n' "command" "median ms"
  printf '%-58s %10s\n' "deploy small app: official (esbuild JS API + client)" "$d_off"
  printf '%-58s %10s\n' "deploy small app: sbdeploy" "$d_sb"
  printf '%-58s %10s\n' "bundle realistic app: native esbuild CLI" "$b_cli"
  printf '%-58s %10s\n' "bundle realistic app: sbdeploy --dry-run (+gzip, checks)" "$b_sb"
  printf '%-58s %10s\n' "bundle realistic app: esbuild JS API under node" "$b_js"
  echo
  printf '%-10s %16s %16s %8s\n' modules "esbuild CLI ms" "sbdeploy ms" ratio
  for n in 1 50 250 500 1000 2000; do
    e=$(median "gen$n-esbuild") s=$(median "gen$n-sbdeploy")
    printf '%-10s %16s %16s %8s\n' "$n" "$e" "$s" "$(awk -v a="$s" -v b="$e" 'BEGIN {printf "%.2f", a / b}')"
    echo "$n $e $s" >>"$work/plot.dat.new"
  done
  echo
  echo "probe, sbdeploy small deploy:   $probe_sb"
  echo "probe, official small deploy:   $probe_official"
  echo "probe, native esbuild, small:   $probe_esbuild"
  echo "realistic bundle sha256: sbdeploy $sb_sha, native CLI $cli_sha"
  echo "binary: $binary bytes; with -tags nethttpomithttp2: $nohttp2 bytes; image: $image bytes ($image_how)"
} >"$out/results.txt.new"
mv "$work/plot.dat.new" "$work/plot.dat"

gnuplot <<EOF
set terminal pngcairo size 900,560 font ",11"
set output "$out/bundle-time.png"
set title "Bundling a synthetic TypeScript app (testdata/genapp), whole process, median of $runs runs"
set xlabel "modules"
set ylabel "wall time (ms)"
set key top left
set grid
plot "$work/plot.dat" using 1:3 with linespoints lw 2 pt 7 title "sbdeploy --dry-run (esbuild Go API, gzip, checks)", \
     "$work/plot.dat" using 1:2 with linespoints lw 2 pt 5 title "native esbuild CLI $have_version, same options"
EOF

# Budgets.
fail=0
check() { # check NAME MEASURED OP LIMIT UNIT
  local ok
  ok=$(awk -v m="$2" -v l="$4" -v op="$3" 'BEGIN {print (op == "<=" ? m <= l : m < l) ? "pass" : "FAIL"}')
  [ "$ok" = pass ] || fail=1
  printf '%-52s %14s %3s %-12s %s\n' "$1" "$2" "$3" "$4 $5" "$ok"
}
{
  echo
  printf '%-52s %14s %3s %-12s %s\n' budget measured "" limit result
  check "deploy, small app: sbdeploy / official" "$(awk -v a="$d_sb" -v b="$d_off" 'BEGIN {printf "%.3f", a / b}')" "<=" "$max_deploy_ratio" ""
  check "bundle, realistic app: sbdeploy / esbuild CLI" "$(awk -v a="$b_sb" -v b="$b_cli" 'BEGIN {printf "%.3f", a / b}')" "<=" "$max_bundle_ratio" ""
  check "peak RSS, small deploy" "$rss" "<" "$max_rss_kb" KiB
  check "binary size" "$binary" "<" "$max_binary" bytes
  check "image size" "$image" "<" "$max_image" bytes
  check "start-up to first request, small deploy" "$first" "<" "$max_first_ms" ms
  check "requests per deploy (exactly 3)" "$(field "$probe_sb" requests)" "<=" 3 ""
  check "connections per deploy (reused)" "$(field "$probe_sb" connections)" "<=" 1 ""
  [ "$sb_sha" = "$cli_sha" ] || {
    echo "FAIL: sbdeploy's bundle differs from the native CLI's with the same options"
    fail=1
  }
  echo
  echo "compare.sh took $(($(date +%s) - started)) s"
} >>"$out/results.txt.new"
mv "$out/results.txt.new" "$out/results.txt"
cat "$out/results.txt"
say "results.txt and bundle-time.png are in $out"
exit "$fail"
