#!/usr/bin/env bash
# compare.sh times sbdeploy side by side with what a user would run instead,
# and checks the performance budgets of BENCHMARKS.md. It prints every
# budget with pass or MISS, and exits 1 if one is missed.
#
#   bash bench/compare.sh                   # from a clean clone; about 3 minutes
#   RUNS=30 bash bench/compare.sh           # more runs per command (default 20)
#   BENCH_OUT=bench bash bench/compare.sh   # also rewrite bench/results.txt and bench/bundle-time.png
#   BENCH_GC=1 bash bench/compare.sh        # also compare garbage collector settings
#
# Bundling is compared with the native esbuild CLI, the same version as
# go.mod's, with the same options and input: sbdeploy --dry-run
# --validate=false (bundle, exports check, gzip, SHA-256), on synthetic apps
# of 1 to 2,000 modules (testdata/genapp) and on realistic apps that import
# real npm packages (bench/app, bench/apps). Every comparison runs whole
# processes, one run of each command per round (bench/interleave), and
# compares medians. Validation is timed on its own: the dry run with it,
# against the dry run without.
#
# It installs what it needs: gnuplot (a Debian package, if missing), and in
# a scratch directory, with npm ci, the node project in bench/: esbuild
# (the JS API for the official toolchain, and the native CLI), the client
# @statebacked/client, and the libraries the realistic apps import, xstate
# among them. Every request goes to 127.0.0.1.
#
# Environment: RUNS; SIZES (the synthetic apps' sizes); BENCH_WORK (a
# directory to reuse between runs instead of a new scratch one); BENCH_OUT
# (where results.txt and bundle-time.png go; default BENCH_WORK);
# BENCH_DOCKER=1 (build the image and measure it rather than adding up its
# two layers); BENCH_GC=1 (time the dry run under each garbage collector
# setting, through GOGC and GOMEMLIMIT, which override main's).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${RUNS:-20}
sizes=${SIZES:-1 10 50 100 250 500 1000 2000}
work=${BENCH_WORK:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
out=${BENCH_OUT:-$work}
mkdir -p "$out"
out=$(cd "$out" && pwd)
started=$(date +%s)
say() { printf '== %s\n' "$*" >&2; }

# Budgets (BENCHMARKS.md).
max_bundle_ratio=1.12   # sbdeploy --dry-run --validate=false / native esbuild CLI, the realistic apps
max_deploy_ratio=0.08   # sbdeploy / official toolchain, whole deploy of a small app
max_rss_kb=58593        # 60 MB (60,000,000 bytes) peak RSS of the process tree (sbdeploy and its worker), small deploy
max_image=20971520      # bytes: 20 MiB, as docker_test.go's TestDockerImage
max_first_ms=20         # process start to first request, small deploy

# The realistic apps: name, directory (in bench/), entry point, kind.
apps=(
  "signup apps/signup migrations/signup-v1-to-v2.ts migration"
  "reminders apps/reminders machines/reminders.ts version"
  "ledger apps/ledger migrations/ledger-v1-to-v2.ts migration"
  "orders app migrations/orders-v1-to-v2.ts migration"
)

say "tools"
if ! command -v gnuplot >/dev/null; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
fi
for t in go node npm gnuplot; do
  command -v "$t" >/dev/null || { echo "compare.sh: $t is required" >&2; exit 2; }
done

say "node project (official toolchain, native esbuild, realistic apps) in $work"
cp bench/package.json bench/package-lock.json bench/official.mjs "$work/"
rm -rf "$work/app" "$work/apps" "$work/small"
cp -r bench/app bench/apps "$work/"
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

say "build sbdeploy as the Dockerfile does, and the tools"
# The Dockerfile sets GOFLAGS (tags, -trimpath) in an ENV line and builds
# with -ldflags="-s -w -X main.version=...".
goflags=$(sed -n 's/^ENV .*GOFLAGS="\([^"]*\)".*/\1/p' Dockerfile | head -1)
echo "   CGO_ENABLED=0 GOFLAGS=\"$goflags\" go build -ldflags=\"-s -w\" -o $work/sbdeploy ." >&2
CGO_ENABLED=0 GOFLAGS="$goflags" go build -ldflags="-s -w" -o "$work/sbdeploy" .
go build -o "$work/emulator" . # the image leaves "sbdeploy emulator" out (noemulator)
go build -o "$work/probe" ./bench/probe
go build -o "$work/interleave" ./bench/interleave
for n in $sizes; do
  [ -f "$work/gen$n/entry.ts" ] || go run ./testdata/genapp/cmd -n "$n" -o "$work/gen$n" >/dev/null
done

say "emulator on 127.0.0.1 (lenient: the official client sends extra provision keys)"
# The token goes only to the emulator and to the runs that deploy: a dry run
# with credentials would ask the API (by default api.statebacked.dev) about
# the machine, and the bundling runs must stay offline.
token="bench_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
STATEBACKED_TOKEN=$token "$work/emulator" emulator --listen 127.0.0.1:0 --lenient >"$work/emulator.log" 2>&1 &
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
# The workspace is $work, the working directory: it holds node_modules.
unset GITHUB_ACTIONS GITHUB_OUTPUT GITHUB_STEP_SUMMARY GITHUB_WORKSPACE GOGC GOMEMLIMIT STATEBACKED_TOKEN
cd "$work"
esbuild_opts=(--bundle --platform=browser --format=esm --target=es2022 --minify --keep-names --legal-comments=none
  '--define:process.env.NODE_ENV="production"' --drop:debugger --alias:xstate=npm:xstate
  --external:npm:xstate '--external:npm:xstate/*' --log-level=warning)
migration=(--machine toggle --from-version ver_toggle_1 --to-version ver_toggle_2)
version=(--mode version --machine toggle)
official=(node official.mjs --machine toggle --from ver_toggle_1 --to ver_toggle_2)
# il NAME -- CMD... --- CMD...: interleaved runs, one line of medians per command in il-NAME.txt
il() {
  local name=$1
  shift
  ./interleave -runs "$runs" -warmup 1 "$@" >"il-$name.txt"
}
get() { awk -v n="$2" -v k="$3" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } if (f["name"] == n) print f[k] }' "il-$1.txt"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

say "bundling: native esbuild CLI vs sbdeploy --dry-run --validate=false ($runs interleaved runs each)"
rows=()
for n in $sizes; do
  say "  gen$n"
  il "gen$n" -- cli "$esbuild" "gen$n/entry.ts" "${esbuild_opts[@]}" --outfile="$work/out-gen$n.js" \
    --- sbdeploy ./sbdeploy --dry-run --validate=false "${migration[@]}" --working-directory "gen$n" --file entry.ts
  rows+=("gen$n $n")
done
for a in "${apps[@]}"; do
  read -r name dir entry kind <<<"$a"
  say "  $name"
  flags=("${migration[@]}")
  [ "$kind" = version ] && flags=("${version[@]}")
  il "$name" -- cli "$esbuild" "$dir/$entry" "${esbuild_opts[@]}" --outfile="$work/out-$name.js" \
    --- sbdeploy ./sbdeploy --dry-run --validate=false "${flags[@]}" --working-directory "$dir" --file "$entry"
  modules=$("$esbuild" "$dir/$entry" "${esbuild_opts[@]}" --outfile="$work/meta-$name.js" --metafile="$work/meta-$name.json" &&
    node -p 'Object.keys(require(process.argv[1]).inputs).length' "$work/meta-$name.json")
  rows+=("$name $modules")
done

say "validation: sbdeploy --dry-run with and without it"
il validate-small -- off ./sbdeploy --dry-run --validate=false "${migration[@]}" --working-directory small --file migrations/toggle-v1-to-v2.ts \
  --- on ./sbdeploy --dry-run "${migration[@]}" --working-directory small --file migrations/toggle-v1-to-v2.ts
il validate-small-version -- off ./sbdeploy --dry-run --validate=false "${version[@]}" --working-directory small --file machines/toggle.ts \
  --- on ./sbdeploy --dry-run "${version[@]}" --working-directory small --file machines/toggle.ts
il validate-reminders -- off ./sbdeploy --dry-run --validate=false "${version[@]}" --working-directory apps/reminders --file machines/reminders.ts \
  --- on ./sbdeploy --dry-run "${version[@]}" --working-directory apps/reminders --file machines/reminders.ts

gc_rows=()
if [ "${BENCH_GC:-}" = 1 ]; then
  say "garbage collector settings: sbdeploy --dry-run under each"
  # main's choice (the collector off, a 1 GiB limit) is "default".
  settings=("default X=1" "off GOGC=off" "gogc100 GOGC=100" "gogc200 GOGC=200" "gogc400 GOGC=400" "gogc800 GOGC=800")
  for w in "gen500 gen500 entry.ts migration" "gen2000 gen2000 entry.ts migration" "${apps[@]}" "reminders+validation apps/reminders machines/reminders.ts version+"; do
    read -r name dir entry kind <<<"$w"
    [ -d "$dir" ] || continue
    flags=(--dry-run --validate=false "${migration[@]}")
    case $kind in
    version) flags=(--dry-run --validate=false "${version[@]}") ;;
    version+) flags=(--dry-run "${version[@]}") ;;
    esac
    args=()
    for st in "${settings[@]}"; do
      read -r label env <<<"$st"
      args+=(--- "$label" env "$env" ./sbdeploy "${flags[@]}" --working-directory "$dir" --file "$entry")
    done
    say "  $name"
    il "gc-$name" -- "${args[@]:1}"
    gc_rows+=("$name")
  done
fi

say "whole deploy of the small app: official toolchain vs sbdeploy"
STATEBACKED_TOKEN=$token il deploy -- official "${official[@]}" --dir small --file migrations/toggle-v1-to-v2.ts --api-url "$api" \
  --- sbdeploy ./sbdeploy "${migration[@]}" --working-directory small --file migrations/toggle-v1-to-v2.ts --api-url "$api"
il bundle-jsapi -- jsapi node official.mjs --dir app --file migrations/orders-v1-to-v2.ts --bundle-only

say "start-up to first request, connections and peak RSS (probe, in-process emulator)"
probe_sb=$(STATEBACKED_TOKEN=$token ./probe -runs "$((runs * 2))" -- ./sbdeploy "${migration[@]}" --working-directory small --file migrations/toggle-v1-to-v2.ts --api-url '{api}')
probe_official=$(STATEBACKED_TOKEN=$token ./probe -runs 3 -warmup 1 -- "${official[@]}" --dir small --file migrations/toggle-v1-to-v2.ts --api-url '{api}')
probe_esbuild=$(STATEBACKED_TOKEN=$token ./probe -runs "$((runs * 2))" -requests 0 -- "$esbuild" small/migrations/toggle-v1-to-v2.ts "${esbuild_opts[@]}" --outfile="$work/small-out.js")
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

# The same bytes: sbdeploy's bundle is the native CLI's.
sb_sha=$(./sbdeploy --dry-run --validate=false "${migration[@]}" --working-directory app --file migrations/orders-v1-to-v2.ts | awk -F= '$1 == "bundle-sha256" {print $2}')
cli_sha=$(sha256sum "$work/out-orders.js" | cut -d' ' -f1)

binary=$(stat -c %s sbdeploy)
ca=/etc/ssl/certs/ca-certificates.crt
image=$((binary + $(stat -c %s "$ca")))
image_how="binary + CA bundle: the image's only two layers"
if [ "${BENCH_DOCKER:-}" = 1 ] && docker info >/dev/null 2>&1; then
  (cd "$root" && docker build -q -t sbdeploy-bench "$root" >/dev/null)
  image=$(docker image inspect -f '{{.Size}}' sbdeploy-bench)
  image_how="docker image inspect"
fi

fail=0
budgets=()
check() { # check NAME MEASURED OP LIMIT UNIT
  local ok
  ok=$(awk -v m="$2" -v l="$4" -v op="$3" 'BEGIN {print (op == "<=" ? m <= l : m < l) ? "pass" : "MISS"}')
  [ "$ok" = pass ] || fail=1
  budgets+=("$(printf '%-54s %14s %3s %-14s %s' "$1" "$2" "$3" "$4 $5" "$ok")")
}
rm -f "$work/plot-gen.dat" "$work/plot-apps.dat"
{
  echo "sbdeploy against the native esbuild CLI and the official toolchain: medians of $runs interleaved runs ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr), $(go version | cut -d' ' -f3), node $(node --version), esbuild $have_version; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "bundling, whole process: native esbuild CLI vs sbdeploy --dry-run --validate=false"
  printf '%-10s %8s %10s %10s %7s %10s %10s %10s %10s\n' app modules "CLI ms" "sbd ms" ratio "CLI cpu" "sbd cpu" "CLI RSS" "sbd RSS"
  for r in "${rows[@]}"; do
    read -r name modules <<<"$r"
    e=$(get "$name" cli wall_ms) s=$(get "$name" sbdeploy wall_ms)
    printf '%-10s %8s %10s %10s %7s %10s %10s %9sK %9sK\n' "$name" "$modules" "$e" "$s" "$(ratio "$s" "$e")" \
      "$(get "$name" cli cpu_ms)" "$(get "$name" sbdeploy cpu_ms)" "$(get "$name" cli peak_rss_kb)" "$(get "$name" sbdeploy peak_rss_kb)"
    case $name in
    gen*) echo "$modules $e $s" >>"$work/plot-gen.dat" ;;
    *) echo "$modules $e $s $name" >>"$work/plot-apps.dat" ;;
    esac
    # The synthetic apps are reported, not budgeted: at 1-10 modules the
    # ratio is the worker's start-up, which no realistic app sees alone.
    case $name in
    gen*) ;;
    *) check "bundle, $name ($modules modules): sbdeploy / CLI" "$(ratio "$s" "$e")" "<=" "$max_bundle_ratio" "" ;;
    esac
  done
  echo
  echo "validation (goja): sbdeploy --dry-run, without and with it"
  printf '%-44s %12s %16s %12s\n' app "dry run ms" "+validation ms" "validation"
  for v in "validate-small small migration" "validate-small-version small machine version" "validate-reminders reminders machine version (xstate from npm)"; do
    read -r name label <<<"$v"
    off=$(get "$name" off wall_ms) on=$(get "$name" on wall_ms)
    printf '%-44s %12s %16s %12s\n' "$label" "$off" "$on" "$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.1f", a - b}')"
  done
  if ((${#gc_rows[@]})); then
    echo
    echo "garbage collector settings, sbdeploy --dry-run: median wall ms / peak RSS MB (default: off, with a 1 GiB limit)"
    printf '%-22s' app
    for st in "${settings[@]}"; do printf ' %15s' "${st%% *}"; done
    echo
    for name in "${gc_rows[@]}"; do
      printf '%-22s' "$name"
      for st in "${settings[@]}"; do
        printf ' %15s' "$(get "gc-$name" "${st%% *}" wall_ms) / $(awk -v k="$(get "gc-$name" "${st%% *}" peak_rss_kb)" 'BEGIN {printf "%.0f", k / 1024}')"
      done
      echo
    done
  fi
  echo
  d_off=$(get deploy official wall_ms) d_sb=$(get deploy sbdeploy wall_ms)
  printf '%-58s %10s\n' "command" "median ms"
  printf '%-58s %10s\n' "deploy small app: official (esbuild JS API + client)" "$d_off"
  printf '%-58s %10s\n' "deploy small app: sbdeploy" "$d_sb"
  printf '%-58s %10s\n' "bundle orders app: esbuild JS API under node" "$(get bundle-jsapi jsapi wall_ms)"
  echo
  echo "probe, sbdeploy small deploy:   $probe_sb"
  echo "probe, official small deploy:   $probe_official"
  echo "probe, native esbuild, small:   $probe_esbuild"
  echo "orders bundle sha256: sbdeploy $sb_sha, native CLI $cli_sha"
  echo "binary: $binary bytes; image: $image bytes ($image_how)"

  check "deploy, small app: sbdeploy / official" "$(ratio "$d_sb" "$d_off")" "<=" "$max_deploy_ratio" ""
  check "peak RSS, small deploy" "$(field "$probe_sb" peak_rss_kb)" "<" "$max_rss_kb" KiB
  check "image size" "$image" "<" "$max_image" bytes
  check "start-up to first request, small deploy" "$(field "$probe_sb" first_request_ms)" "<" "$max_first_ms" ms
  check "requests per deploy (exactly 3)" "$(field "$probe_sb" requests)" "<=" 3 ""
  check "connections per deploy (reused)" "$(field "$probe_sb" connections)" "<=" 1 ""
  same=$([ "$sb_sha" = "$cli_sha" ] && echo 0 || echo 1)
  check "orders bundle differs from the native CLI's (0: same)" "$same" "<=" 0 ""
  echo
  printf '%-54s %14s %3s %-14s %s\n' budget measured "" limit result
  printf '%s\n' "${budgets[@]}"
  echo
  echo "compare.sh took $(($(date +%s) - started)) s"
} >"$out/results.txt.new"
mv "$out/results.txt.new" "$out/results.txt"

gnuplot <<EOF
set terminal pngcairo size 1100,520 font ",10"
set output "$out/bundle-time.png"
set multiplot layout 1,2 title "Bundling, whole process: sbdeploy --dry-run --validate=false and the native esbuild CLI $have_version (same options), median of $runs interleaved runs"
set xlabel "modules bundled"
set logscale x
set xrange [0.8:3000]
set grid
set key top left
set ylabel "wall time (ms)"
set logscale y
plot "$work/plot-gen.dat" using 1:3 with linespoints lw 2 pt 7 lc rgb "#d95f02" title "sbdeploy, synthetic apps", \
     "$work/plot-gen.dat" using 1:2 with linespoints lw 2 pt 5 lc rgb "#1b9e77" title "native CLI, synthetic apps", \
     "$work/plot-apps.dat" using 1:3 with points pt 9 ps 1.5 lc rgb "#d95f02" title "sbdeploy, realistic apps", \
     "$work/plot-apps.dat" using 1:2 with points pt 11 ps 1.5 lc rgb "#1b9e77" title "native CLI, realistic apps"
unset logscale y
set ylabel "sbdeploy / native CLI"
set yrange [0.8:1.4]
plot "$work/plot-gen.dat" using 1:(\$3/\$2) with linespoints lw 2 pt 7 lc rgb "#d95f02" title "synthetic apps", \
     "$work/plot-apps.dat" using 1:(\$3/\$2) with points pt 9 ps 1.5 lc rgb "#7570b3" title "realistic apps", \
     "$work/plot-apps.dat" using 1:(\$3/\$2):4 with labels offset 0,0.9 font ",9" notitle, \
     $max_bundle_ratio with lines dt 2 lw 2 lc rgb "#e7298a" title "budget ($max_bundle_ratio)"
unset multiplot
EOF
cat "$out/results.txt"
say "results.txt and bundle-time.png are in $out"
exit "$fail"
