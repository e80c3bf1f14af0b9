#!/bin/sh
# git as the entrypoint calls it: logs each call's arguments, and marks when each clone starts and
# ends (holding it a second, so clones that overlap show they ran in parallel); then the real git.
printf '%s\n' "$*" >>"$FAKE_RECORD/git-calls"
[ "$1" = clone ] || exec "$REAL_GIT" "$@"
echo start >>"$FAKE_RECORD/clones"
sleep 1
status=0
"$REAL_GIT" "$@" || status=$?
echo end >>"$FAKE_RECORD/clones"
exit $status
