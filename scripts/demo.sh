#!/usr/bin/env bash
# Runs the action's main job on the local backend exactly as the GitHub runner would
# (dist/index.js, INPUT_* variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files), with a
# small stand-in agent image built here. Usage: npm run demo [-- EXIT_CODE]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! docker image inspect amt-demo-base:1 >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in sh echo sleep cat; do ln -s busybox "$rootfs/bin/$applet"; done
  tar -C "$rootfs" -c . | docker import --change 'ENV PATH=/bin' - amt-demo-base:1 >/dev/null
  rm -rf "$rootfs"
fi

# The step runs through the same runner helper as the tests (scripts/demo.ts): compiled, not
# type-checked, into the ignored .tmp/ (inside the repository, where the helper finds its root).
out="$root/.tmp/demo"
rm -rf "$out"
npx --no-install tsc --outDir "$out" --rootDir "$root" --module nodenext --target es2022 --types node --skipLibCheck --noCheck scripts/demo.ts
node "$out/scripts/demo.js" "${1:-0}"
