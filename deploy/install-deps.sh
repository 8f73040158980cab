#!/usr/bin/env bash
# Installs the Debian 12 packages OpenHAC builds and tests with. Idempotent: when every package
# is already installed it changes nothing and touches no network.
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsqlite3-dev prometheus-cpp-dev catch2 libssl-dev
  # Integration tests: a real Prometheus server and an independent gRPC client.
  prometheus python3-grpcio python3-protobuf
  # Test certificates for TLS / mutual TLS.
  openssl
  # The GEMM benchmark's reference (benchmarks only; nothing we ship links it).
  libopenblas-dev
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# The prometheus package starts a service on install; tests run their own server instead.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
  $sudo chmod 755 $policy
  created_policy=1
fi
cleanup() { if [[ $created_policy -eq 1 ]]; then $sudo rm -f $policy; fi; }
trap cleanup EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
