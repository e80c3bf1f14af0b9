#!/bin/sh
# Fake claude for the entrypoint tests: records how it was called (argv, stdin), edits the tree, exits FAKE_EXIT.
printf '%s\0' "$@" >"$FAKE_RECORD/argv"
cat >"$FAKE_RECORD/stdin"
pwd >"$FAKE_RECORD/cwd"
id -un >"$FAKE_RECORD/user"
if [ -n "${FAKE_EDIT:-}" ]; then echo "$FAKE_EDIT" >>agent-edit.txt; fi
# exec: a stop signal reaches the sleeping process itself, with no orphan left holding the output.
if [ -n "${FAKE_SLEEP:-}" ]; then echo "fake claude sleeping"; exec sleep "$FAKE_SLEEP"; fi
exit "${FAKE_EXIT:-0}"
