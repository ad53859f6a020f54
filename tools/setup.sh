#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test FastSeg: the C++ toolchain, Debian's libtorch 1.13
# (and Gloo for distributed training), OpenCV for image I/O, and python3-torch, the reference engine that the
# fixture scripts in tools/ and the round-trip tests use. Idempotent; prints nothing when everything is present.
set -euo pipefail

packages=(cmake g++ make libtorch-dev libopencv-dev libgloo-dev python3-torch)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required but 'dotnet' is not on PATH" >&2
  exit 1
fi
