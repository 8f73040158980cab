#!/usr/bin/env bash
# A local OpenHAC on this machine, from a fresh database:
#   deploy/local-cluster.sh          install packages, build, start hacd and two node agents (one
#                                    with emu-gpu devices, one with sim-npu devices), create a demo
#                                    tenant, train an MLP on each device class, show the results
#   deploy/local-cluster.sh stop     stop it
# Settings (environment): HAC_STATE_DIR (default ./.hac-local), HAC_BUILD_DIR (./build-release),
# HAC_PORT (7070; metrics on HAC_PORT+1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=${HAC_STATE_DIR:-$root/.hac-local}
build=${HAC_BUILD_DIR:-$root/build-release}
port=${HAC_PORT:-7070}

stop_one() {  # NAME: stops the daemon whose pid is in $state/NAME.pid
  local f=$state/$1.pid
  [[ -f $f ]] || return 0
  local pid
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "stopped $1 (pid $pid)"
  fi
  rm -f "$f"
}

stop() {
  stop_one agent-gpu-1
  stop_one agent-npu-1
  stop_one hacd
}

if [[ "${1:-}" == "stop" ]]; then
  stop
  exit 0
fi

deploy/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHAC_BUILD_TESTS=OFF \
  -DHAC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target hacd hacctl hac-agent hac-train-mlp hac-gemm hac-infer

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

admin_flags=(--token-file "$state/admin.token")
"${hacctl[@]}" "${admin_flags[@]}" join-token create | sed -n 's/^token: //p' >"$state/join.token"
chmod 600 "$state/join.token"

start_agent() {  # NODE POOL DEVICE
  setsid "$build/bin/hac-agent" --server "127.0.0.1:$port" --join-token-file "$state/join.token" \
    --node "$1" --pool "$2" --device "$3" --state-dir "$state/agent-$1" \
    >"$state/agent-$1.out" 2>"$state/agent-$1.log" </dev/null &
  echo $! >"$state/agent-$1.pid"
}
start_agent gpu-1 gpu emu-gpu:2
start_agent npu-1 npu sim-npu:2
for node in gpu-1 npu-1; do
  for _ in $(seq 300); do
    grep -q 'ready' "$state/agent-$node.out" 2>/dev/null && break
    sleep 0.1
  done
done
echo
echo "== hacctl nodes"
"${hacctl[@]}" "${admin_flags[@]}" nodes

echo
echo "== prices (KRW per device-second held / busy), in force from this minute"
minute=$(date -u +%Y-%m-%dT%H:%M:00Z)
"${hacctl[@]}" "${admin_flags[@]}" price set --class gpu --allocated 2.5 --active 1.5 --from "$minute" >/dev/null
"${hacctl[@]}" "${admin_flags[@]}" price set --class npu --allocated 1.2 --active 0.8 --from "$minute" >/dev/null
"${hacctl[@]}" "${admin_flags[@]}" prices

"${hacctl[@]}" "${admin_flags[@]}" tenant create demo >"$state/demo.tenant"
sed -n 's/^token: //p' "$state/demo.tenant" >"$state/demo.token"
chmod 600 "$state/demo.token"
demo=(--token-file "$state/demo.token")

echo
echo "== what a job could cost at most (hacctl submit --dry-run)"
"${hacctl[@]}" "${demo[@]}" submit --dry-run --name train-npu --device npu:1 --workload train-mlp \
  --max-runtime 10m || true

echo
echo "== demo submissions (tenant demo): the same training job on each device class"
npu_job=$("${hacctl[@]}" "${demo[@]}" submit --name train-npu --device npu:1 \
  --workload train-mlp --label demo=yes --max-runtime 10m | head -n 1)
gpu_job=$("${hacctl[@]}" "${demo[@]}" submit --name train-gpu --device gpu:1 \
  --workload train-mlp --label demo=yes --max-runtime 10m | head -n 1)
any_job=$("${hacctl[@]}" "${demo[@]}" submit --name infer-any --device npu:1 --device gpu:1 \
  --workload infer --max-runtime 10m | head -n 1)
for j in "$npu_job" "$gpu_job" "$any_job"; do
  "${hacctl[@]}" "${demo[@]}" watch "$j" || true
done
echo
echo "== hacctl jobs"
"${hacctl[@]}" "${demo[@]}" jobs
for j in "$npu_job" "$gpu_job" "$any_job"; do
  echo
  echo "== hacctl logs $j (last lines)"
  "${hacctl[@]}" "${demo[@]}" logs "$j" | tail -n 3 | cut -c 1-200
  echo "== usage of $j (hacctl job $j)"
  "${hacctl[@]}" "${demo[@]}" job "$j" | sed -n '/DEVICE/,$p'
done
echo
echo "== hacctl usage --by job (this month)"
"${hacctl[@]}" "${demo[@]}" usage --by job
echo
echo "== hacctl bill (this month, exact to the micro-unit)"
"${hacctl[@]}" "${demo[@]}" bill

cat <<TXT

hacd is running on 127.0.0.1:$port (metrics: http://127.0.0.1:$((port + 1))/metrics), with two
node agents: gpu-1 (2 emu-gpu devices) and npu-1 (2 sim-npu devices).
The database, logs, tokens and agents' state are in $state.

Use it:
  export HAC_SERVER=127.0.0.1:$port
  export HAC_TOKEN_FILE=$state/demo.token          # the demo tenant
  $build/bin/hacctl jobs
  $build/bin/hacctl submit --name hello --device gpu:1 --wait -- echo hello
  $build/bin/hacctl logs <job id>
  $build/bin/hacctl usage --by day; $build/bin/hacctl bill -o csv
  $build/bin/hacctl --token-file $state/admin.token tenant list   # as admin

Stop it:
  deploy/local-cluster.sh stop
TXT
