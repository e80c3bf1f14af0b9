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

work=$(mktemp -d)
touch "$work/output" "$work/state" "$work/summary"
echo '{}' >"$work/event.json"
set +e
env -i PATH="$PATH" HOME="$HOME" RUNNER_TEMP="$work" \
  GITHUB_ACTIONS=true GITHUB_EVENT_NAME=workflow_dispatch GITHUB_EVENT_PATH="$work/event.json" \
  GITHUB_REPOSITORY=octo-org/octo-repo GITHUB_RUN_ID=1 GITHUB_RUN_ATTEMPT=1 \
  GITHUB_OUTPUT="$work/output" GITHUB_STATE="$work/state" GITHUB_STEP_SUMMARY="$work/summary" \
  INPUT_BACKEND=local INPUT_IMAGE=amt-demo:1 \
  INPUT_DOCKERFILE="$root/examples/demo/Dockerfile" INPUT_BUILD_CONTEXT="$root/examples/demo" \
  INPUT_PROMPT="Run the test suite and fix any failures" INPUT_ENV="DEMO_EXIT=${1:-0}" \
  INPUT_WAIT_TIMEOUT=120 INPUT_LOG_TAIL_LINES=10 \
  node "$root/dist/index.js"
code=$?
set -e
echo
echo "── step exit code: $code"
echo "── outputs ($work/output):"
sed -n 's/^\([a-z_]*\)<<.*/\1/p' "$work/output" | while read -r name; do
  printf '   %-18s %s\n' "$name" "$(sed -n "/^$name<</{n;p;}" "$work/output")"
done
echo "── job summary: $work/summary"
