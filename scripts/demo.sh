#!/usr/bin/env bash
# Runs the action's main job on the local backend exactly as the GitHub runner would
# (dist/index.js, INPUT_* variables, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files), with the bundled
# image and the real Claude Code CLI against a scripted model. Usage: npm run demo [-- fail]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# The step runs through the same runner helper as the tests (scripts/demo.ts): compiled, not
# type-checked, into the ignored .tmp/ (inside the repository, where the helper finds its root).
out="$root/.tmp/demo"
rm -rf "$out"
npx --no-install tsc --outDir "$out" --rootDir "$root" --module nodenext --target es2022 --types node --skipLibCheck --noCheck scripts/demo.ts
node "$out/scripts/demo.js" "${1:-}"
