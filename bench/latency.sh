#!/usr/bin/env bash
# latency.sh measures the round trips a deploy pays on a real network. It
# serves the emulator over TLS, the API and the upload host on two ports,
# each behind a proxy that delays both directions (bench/latency), once with
# no added delay and once with an RTT_MS round trip. It times sbdeploy and
# the official toolchain (esbuild's JS API and @statebacked/client) deploying
# the small example and the realistic app against both, and reports
#
#   round trips paid = (time at RTT_MS - time at 0) / RTT_MS
#
# where the difference is taken between the two runs of each round (they
# run one after the other) and its median over the rounds is reported,
# and, for one deploy of each at RTT_MS, the TCP connections, TLS
# handshakes and requests each host saw.
#
#   bash bench/latency.sh                  # about 3 minutes, npm included
#   ROUNDS=20 RTT_MS=100 bash bench/latency.sh
#   SBDEPLOY_SRC="before=/path/to/old/tree after=." bash bench/latency.sh
#
# Environment: ROUNDS (interleaved rounds, one run of every command each;
# default 20), RTT_MS (default 50), SBDEPLOY_SRC (space-separated
# label=source-tree pairs, each built as the Dockerfile builds it; default
# "sbdeploy=" this tree), BENCH_WORK (a directory to reuse instead of a new
# scratch one). It installs hyperfine (a Debian package) when missing, and
# the node project in bench/ with npm ci. Every request goes to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=${ROUNDS:-20}
rtt_ms=${RTT_MS:-50}
work=${BENCH_WORK:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
say() { printf '== %s\n' "$*" >&2; }

say "tools"
if ! command -v hyperfine >/dev/null; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi
for t in go node npm hyperfine; do
  command -v "$t" >/dev/null || { echo "latency.sh: $t is required" >&2; exit 2; }
done

say "node project (official toolchain, realistic app) in $work"
cp bench/package.json bench/package-lock.json bench/official.mjs "$work/"
rm -rf "$work/app" "$work/small"
cp -r bench/app "$work/app"
cp -r testdata/example "$work/small"
if [ ! -d "$work/node_modules/@statebacked/client" ] || ! cmp -s bench/package-lock.json "$work/node_modules/.package-lock.json.src" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp bench/package-lock.json "$work/node_modules/.package-lock.json.src"
fi

say "build sbdeploy as the Dockerfile does, and the latency server"
labels=()
for pair in ${SBDEPLOY_SRC:-sbdeploy=$root}; do
  label=${pair%%=*} src=${pair#*=}
  (cd "$src" && CGO_ENABLED=0 go build -tags nethttpomithttp2 -trimpath -ldflags="-s -w" -o "$work/sbdeploy-$label" .)
  labels+=("$label")
done
go build -o "$work/latency" ./bench/latency

say "emulator over TLS behind delaying proxies: 0 and $rtt_ms ms round trip"
export STATEBACKED_TOKEN="bench_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
declare -A api stats
for rtt in 0 "$rtt_ms"; do
  rm -f "$work/latency-$rtt.log" # a stale one would be read before the new one is written
  "$work/latency" -rtt "${rtt}ms" -cert "$work/ca-$rtt.pem" >"$work/latency-$rtt.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    grep -qs '^cert=' "$work/latency-$rtt.log" && break
    sleep 0.05
  done
  api[$rtt]=$(sed -n 's/^api=//p' "$work/latency-$rtt.log")
  stats[$rtt]=$(sed -n 's/^stats=//p' "$work/latency-$rtt.log")
  [ -n "${api[$rtt]}" ] || { cat "$work/latency-$rtt.log" >&2; exit 2; }
done
# One bundle that trusts both servers' throwaway CAs, for Go and for Node.
cat "$work/ca-0.pem" "$work/ca-$rtt_ms.pem" >"$work/ca.pem"
export SSL_CERT_FILE="$work/ca.pem" NODE_EXTRA_CA_CERTS="$work/ca.pem"

# A plain CLI run: nothing may reach a real workflow's outputs or summary.
unset GITHUB_ACTIONS GITHUB_OUTPUT GITHUB_STEP_SUMMARY GITHUB_WORKSPACE
cd "$work"
apps=(small app)
declare -A entry=([small]=migrations/toggle-v1-to-v2.ts [app]=migrations/orders-v1-to-v2.ts)
tools=("${labels[@]}" official)
q() { printf '%q ' "$@"; }
cmd() { # cmd TOOL APP RTT|bundle: one deploy (or, for "bundle", sbdeploy's dry run) as a command line
  local tool=$1 app=$2 rtt=$3
  if [ "$tool" = official ]; then
    q node official.mjs --machine toggle --from ver_toggle_1 --to ver_toggle_2 --dir "$app" --file "${entry[$app]}" --api-url "${api[$rtt]}"
    return
  fi
  local run=("./sbdeploy-$tool" --machine toggle --from-version ver_toggle_1 --to-version ver_toggle_2 --working-directory "$app" --file "${entry[$app]}")
  if [ "$rtt" = bundle ]; then
    # Offline: with the token, a dry run would ask the default API about
    # the machine.
    q env -u STATEBACKED_TOKEN "${run[@]}" --dry-run=true
  else
    q "${run[@]}" --api-url "${api[$rtt]}"
  fi
}
cmds=()
for tool in "${tools[@]}"; do
  for app in "${apps[@]}"; do
    for rtt in 0 "$rtt_ms" bundle; do
      [ "$tool:$rtt" = official:bundle ] && continue
      cmds+=("$(cmd "$tool" "$app" "$rtt")")
    done
  done
done
for c in "${cmds[@]}"; do eval "$c" >/dev/null 2>&1 || { echo "latency.sh: failed: $c" >&2; eval "$c" >&2; exit 1; }; done

say "$rounds interleaved rounds of ${#cmds[@]} commands"
rm -f "$work"/round-*.json
for r in $(seq "$rounds"); do
  hyperfine -N --style none --runs 1 --export-json "$work/round-$r.json" "${cmds[@]}" >/dev/null 2>&1
done
# times.tsv: "command<TAB>ms ms ...", one time per round, in the same round
# order for every command, so that two commands' times pair up by round.
node -e '
  const fs = require("fs"), times = new Map();
  for (const f of process.argv.slice(1)) for (const r of JSON.parse(fs.readFileSync(f)).results)
    times.set(r.command.trim(), [...(times.get(r.command.trim()) || []), ...r.times.map((t) => (t * 1000).toFixed(1))]);
  for (const [c, t] of times) console.log(c + "\t" + t.join(" "));' "$work"/round-*.json >"$work/times.tsv"
times() { # times TOOL APP RTT|bundle: its times, one a line
  local c
  c=$(cmd "$@")
  awk -F'\t' -v c="${c% }" '$1 == c {print $2}' "$work/times.tsv" | tr ' ' '\n'
}
med() { sort -g | awk '{a[NR] = $1} END {printf "%.1f\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
median() { times "$@" | med; }
# paired TOOL APP: the median, over rounds, of the RTT_MS run less the 0 ms
# run of the same round. The two ran one after the other, so a load that
# comes and goes on the machine mostly cancels out.
paired() { paste -d' ' <(times "$1" "$2" 0) <(times "$1" "$2" "$rtt_ms") | awk '{print $2 - $1}' | med; }

# What one deploy costs. A POST to stats reads and resets what the hosts
# saw; run TOOL APP RTT deploys once and writes it to stats-TOOL-APP-RTT-N.json.
observe() { # observe TOOL APP RTT N
  local file="$work/stats-${1//\//_}-$2-$3-$4.json"
  curl -fsS -X POST "${stats[$3]}" >/dev/null
  eval "$(cmd "$1" "$2" "$3")" >/dev/null 2>&1
  curl -fsS -X POST "${stats[$3]}" >"$file"
  echo "$file"
}
# counts TOOL APP: "SET-UP REQUESTS API UPLOAD": the round trips of a deploy
# read from the servers' timelines, and the TCP connections/TLS
# handshakes/requests of one at RTT_MS on each host. Both round trip counts
# are medians over 5 deploys at RTT_MS less medians over 5 at 0, over
# RTT_MS, so they leave out the process's start, the bundling and most of
# the machine's load. REQUESTS runs from the first request leaving the
# client to the last answer reaching it. SET-UP runs from the start of the
# first connection to the first request leaving, when the request waited
# for the connection; when the connection was ready first, by more than
# half a round trip, its set-up was off the path, and SET-UP is "off:" and
# how long it was ready (median, at RTT_MS).
counts() {
  local zero=() slow=()
  for n in 1 2 3 4 5; do
    zero+=("$(observe "$1" "$2" 0 "$n")")
    slow+=("$(observe "$1" "$2" "$rtt_ms" "$n")")
  done
  node -e '
    const fs = require("fs"), rtt = Number(process.argv[1]);
    const read = (f) => JSON.parse(fs.readFileSync(f));
    const med = (xs) => { xs.sort((a, b) => a - b); return xs.length % 2 ? xs[(xs.length - 1) / 2] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2; };
    // [set-up, requests, ready] in ms, as the client saw them: a request
    // left half a round trip before the server saw it, and an answer or
    // the server'"'"'s handshake flight arrived half a round trip after.
    const parts = (f, r) => {
      const t = read(f).timeline, at = (re) => t.find((e) => re.test(e.what)).at_ms;
      const sent = at(/ \//) - r / 2, ready = at(/^api tls/) + r / 2;
      return [sent - t[0].at_ms, t[t.length - 1].at_ms + r / 2 - sent, sent - ready];
    };
    const all = (from, r, i) => med(process.argv.slice(from, from + 5).map((f) => parts(f, r)[i]));
    const paid = (i) => ((all(7, rtt, i) - all(2, 0, i)) / rtt).toFixed(2);
    const ready = all(7, rtt, 2);
    const setup = ready > rtt / 2 ? `off:${ready.toFixed(0)}ms` : paid(0);
    const s = read(process.argv[7]);
    const f = (h) => `${h.tcp}/${h.tls}/${h.requests}` + (h.tls13 === h.tls ? "" : `(${h.tls13}x1.3)`);
    console.log(`${setup} ${paid(1)} ${f(s.api)} ${f(s.upload)}`);' "$rtt_ms" "${zero[@]}" "${slow[@]}"
}

{
  echo "deploy over TLS, API and upload on two hosts, behind proxies adding 0 and $rtt_ms ms of round trip"
  echo "medians of $rounds interleaved runs ($(date -u +%Y-%m-%dT%H:%MZ)); $(nproc) cores, $(uname -sr), $(go version | cut -d' ' -f3), node $(node --version)"
  echo
  printf '%-18s %7s %7s %7s %7s %6s %5s %11s %8s   %-15s %s\n' "tool / app" "bundle" "0 ms" "$rtt_ms ms" "paired" "RTs" "goal" "set-up RTs" "req. RTs" "API tcp/tls/req" "upload tcp/tls/req"
  for tool in "${tools[@]}"; do
    for app in "${apps[@]}"; do
      zero=$(median "$tool" "$app" 0) slow=$(median "$tool" "$app" "$rtt_ms") diff=$(paired "$tool" "$app")
      paid=$(awk -v d="$diff" -v r="$rtt_ms" 'BEGIN {printf "%.2f", d / r}')
      bundle=- goal=-
      if [ "$tool" != official ]; then
        bundle=$(median "$tool" "$app" bundle)
        goal=$(awk -v b="$bundle" -v r="$rtt_ms" 'BEGIN {m = b > 2 * r ? b : 2 * r; printf "%.2f", (m + 5 * r - b) / r}')
      fi
      read -r setup requests api_c upload_c <<<"$(counts "$tool" "$app")"
      printf '%-18s %7s %7s %7s %7s %6s %5s %11s %8s   %-15s %s\n' "$tool / $app" "$bundle" "$zero" "$slow" "$diff" "$paid" "$goal" "$setup" "$requests" "$api_c" "$upload_c"
    done
  done
  echo
  echo "times in ms, medians; bundle: sbdeploy --dry-run; paired: median over rounds of ($rtt_ms ms run - 0 ms run)"
  echo "RTs (round trips paid) = paired / $rtt_ms ms; goal = (max(bundle, 2 RTT) + 5 RTT - bundle) / RTT, the most the issue allows"
  echo "set-up RTs, req. RTs: round trips from the servers' timelines (median of 5 deploys at $rtt_ms ms less 5 at 0), from connecting"
  echo "  to the first request leaving, and from then to the last answer; off:N ms = the API connection was ready N ms before it was needed"
  echo "tcp/tls/req: of one deploy at $rtt_ms ms, TCP connections/TLS handshakes/requests each host saw"
  echo "timelines (ms, servers' side) of one deploy each at $rtt_ms ms: $work/stats-*-$rtt_ms-1.json"
  echo "commands (at $rtt_ms ms; the 0 ms server differs only in its port):"
  for tool in "${tools[@]}"; do
    for app in "${apps[@]}"; do echo "  $(cmd "$tool" "$app" "$rtt_ms")"; done
  done
} | tee "$work/latency.txt"
say "results in $work/latency.txt"
