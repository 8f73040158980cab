#!/usr/bin/env bash
# A local OpenHAC on this machine, from a fresh database:
#   deploy/local-cluster.sh          install packages, build, start hacd, create a demo tenant,
#                                    submit demo jobs and list them
#   deploy/local-cluster.sh stop     stop it
# Settings (environment): HAC_STATE_DIR (default ./.hac-local), HAC_BUILD_DIR (./build-release),
# HAC_PORT (7070; metrics on HAC_PORT+1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=${HAC_STATE_DIR:-$root/.hac-local}
build=${HAC_BUILD_DIR:-$root/build-release}
port=${HAC_PORT:-7070}

stop() {
  if [[ -f $state/hacd.pid ]]; then
    pid=$(cat "$state/hacd.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "stopped hacd (pid $pid)"
    fi
    rm -f "$state/hacd.pid"
  fi
}

if [[ "${1:-}" == "stop" ]]; then
  stop
  exit 0
fi

deploy/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHAC_BUILD_TESTS=OFF \
  -DHAC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target hacd hacctl

stop
rm -rf "$state"
mkdir -p "$state"
hacctl=("$build/bin/hacctl" --server "127.0.0.1:$port")

# setsid: hacd outlives this script; its pid is the daemon's own.
setsid "$build/bin/hacd" --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$((port + 1))" \
  --db "$state/hacd.db" --admin-token-file "$state/admin.token" \
  >"$state/hacd.out" 2>"$state/hacd.log" </dev/null &
echo $! >"$state/hacd.pid"
for _ in $(seq 300); do
  grep -q '^hacd ready' "$state/hacd.out" 2>/dev/null && break
  if ! kill -0 "$(cat "$state/hacd.pid")" 2>/dev/null; then
    echo "hacd failed to start:" >&2
    cat "$state/hacd.log" >&2
    exit 1
  fi
  sleep 0.1
done
grep '^hacd ready' "$state/hacd.out"

admin=$(cat "$state/admin.token")
"${hacctl[@]}" --token "$admin" tenant create demo >"$state/demo.tenant"
sed -n 's/^token: //p' "$state/demo.tenant" >"$state/demo.token"
chmod 600 "$state/demo.token"
demo=(--token-file "$state/demo.token")

echo
echo "== demo submissions (tenant demo)"
"${hacctl[@]}" "${demo[@]}" submit --name train-npu --device npu:1 --workload train-mlp \
  --label demo=yes --max-runtime 10m
"${hacctl[@]}" "${demo[@]}" submit --name train-gpu --device gpu:1 --workload train-mlp \
  --label demo=yes --max-runtime 10m
"${hacctl[@]}" "${demo[@]}" submit --name gemm-any --device npu:2 --device gpu:1 \
  --optimize cost --workload gemm
echo
echo "== hacctl jobs"
"${hacctl[@]}" "${demo[@]}" jobs

cat <<TXT

hacd is running on 127.0.0.1:$port (metrics: http://127.0.0.1:$((port + 1))/metrics).
Its database, log and tokens are in $state.
No node agent runs yet in this release, so jobs stay PENDING with the reason shown.

Use it:
  export HAC_SERVER=127.0.0.1:$port
  export HAC_TOKEN_FILE=$state/demo.token          # the demo tenant
  $build/bin/hacctl jobs
  $build/bin/hacctl submit --name hello --device gpu:1 -- echo hello
  $build/bin/hacctl --token-file $state/admin.token tenant list   # as admin

Stop it:
  deploy/local-cluster.sh stop
TXT
