#!/usr/bin/env bash
# The image protocol (design.md, "Inside the machine"): check the inputs, clone FLAUDE_REPOS,
# run the agent as a non-root user, commit and push its work when asked, and end with
# [flaude:exit:N] as the very last line, whatever happened.
#
# Beyond the design's table: AGENT_COMMAND (JSON argv run instead of claude), FLAUDE_PUSH_BRANCH,
# GIT_AUTHOR_*/GIT_COMMITTER_* (default agent-machine-action[bot]), GITHUB_SERVER_URL (the one
# server the token goes to), FLAUDE_WORKSPACE (/workspace), FLAUDE_AGENT_USER (agent).
# Exit codes: the agent's own, else 2 bad input, 3 clone failed, 4 push failed, 143/130 stopped.
set -euo pipefail

# One stream: the exit marker can only be the last line if stderr can't overtake it.
exec 2>&1

finish() {
  local code=$?
  rm -rf "${scratch:-}"
  echo "[flaude:exit:$code]"
  exit "$code"
}
trap finish EXIT
# PID 1 ignores signals it doesn't trap: these make a machine stop end the run, marker included.
trap 'exit 143' TERM
trap 'exit 130' INT

fail() { # fail CODE MESSAGE
  echo "[flaude:error] $2"
  exit "$1"
}

workspace=${FLAUDE_WORKSPACE:-/workspace}
agent_user=${FLAUDE_AGENT_USER:-agent}

# Claude Code refuses --dangerously-skip-permissions as root, and the agent has no business
# owning the machine: run this whole script again as the agent user. There is no fallback to root.
if [[ $(id -u) == 0 ]]; then
  passwd_entry=$(getent passwd "$agent_user") || fail 2 "user $agent_user does not exist; refusing to run the agent as root"
  IFS=: read -r _ _ uid gid _ home _ <<<"$passwd_entry"
  [[ $uid != 0 ]] || fail 2 "FLAUDE_AGENT_USER=$agent_user is root; the agent must not run as root"
  install -d -o "$uid" -g "$gid" "$workspace"
  HOME=$home USER=$agent_user LOGNAME=$agent_user exec setpriv --reuid="$uid" --regid="$gid" --init-groups "$BASH" "$0" "$@"
fi

scratch=$(mktemp -d) # clone logs and parsed JSON: never inside the workspace

# Prints the fields of a JSON variable, NUL-terminated (node is in the image, jq may not be):
# AGENT_COMMAND gives its argv; FLAUDE_REPOS gives url, branch ("" for the default) and dir per repo.
parse_json() {
  node -e '
    const name = process.argv[1];
    const fail = (why) => { console.error(`[flaude:error] ${name}: ${why}`); process.exit(2); };
    let list;
    try { list = JSON.parse(process.env[name] || "[]"); } catch (e) { fail(`not valid JSON (${e.message})`); }
    if (!Array.isArray(list)) fail("expected a JSON array");
    let fields;
    if (name === "AGENT_COMMAND") {
      if (!list.length || !list.every((arg) => typeof arg === "string")) fail("expected a non-empty array of strings");
      fields = list;
    } else {
      const dirs = new Set();
      fields = list.flatMap((repo) => {
        if (typeof repo?.url !== "string" || !repo.url) fail(`every entry needs a "url": ${JSON.stringify(repo)}`);
        const base = repo.url.replace(/\/+$/, "").split(/[/:]/).pop().replace(/\.git$/, "");
        const dir = require("path").posix.normalize(String(repo.target_dir || base));
        if (dir.startsWith("/") || dir === "." || dir.split("/")[0] === "..") fail(`target dir "${dir}" of ${repo.url} is outside the workspace`);
        if (dirs.has(dir)) fail(`two repos would be cloned into "${dir}"`);
        dirs.add(dir);
        return [repo.url, String(repo.branch ?? ""), dir];
      });
    }
    if (fields.some((field) => field.includes("\0"))) fail("NUL characters are not allowed");
    process.stdout.write(fields.map((field) => field + "\0").join(""));
  ' "$1" >"$scratch/$1"
  mapfile -d '' -t "$2" <"$scratch/$1"
}

if [[ -n ${AGENT_COMMAND:-} ]]; then
  parse_json AGENT_COMMAND agent
else
  [[ -n ${FLAUDE_PROMPT:-} ]] || fail 2 "FLAUDE_PROMPT is empty: there is no task for the agent"
  [[ -n ${CLAUDE_CODE_OAUTH_TOKEN:-}${ANTHROPIC_API_KEY:-} ]] || fail 2 "no agent credentials: set CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY"
  # The prompt after `--`: one argument, even when it starts with a dash.
  agent=(claude -p --dangerously-skip-permissions -- "$FLAUDE_PROMPT")
fi

parse_json FLAUDE_REPOS repos
# shellcheck disable=SC2154 # parse_json's mapfile assigned it
repo_count=$((${#repos[@]} / 3))
push_branch=${FLAUDE_PUSH_BRANCH:-}
if [[ -n $push_branch ]]; then
  ((repo_count == 1)) || fail 2 "FLAUDE_PUSH_BRANCH needs exactly one repo in FLAUDE_REPOS, there are $repo_count"
  git check-ref-format --branch "$push_branch" >/dev/null || fail 2 "FLAUDE_PUSH_BRANCH is not a valid branch name: $push_branch"
fi

export GIT_TERMINAL_PROMPT=0 # a missing credential fails the clone instead of waiting for a terminal
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-agent-machine-action[bot]}
export GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-agent-machine-action[bot]@users.noreply.github.com}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}
export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}
# The credential helper is configured through the environment, appended to any config already
# there: no file holds it, and the agent's own git calls get it too. It reads GITHUB_TOKEN when
# git asks, so the token is in no URL, argv or file.
config_index=${GIT_CONFIG_COUNT:-0}
export "GIT_CONFIG_KEY_$config_index=credential.helper"
export "GIT_CONFIG_VALUE_$config_index=$(dirname "$(readlink -f "$0")")/git-credential-flaude"
export GIT_CONFIG_COUNT=$((config_index + 1))

mkdir -p "$workspace"
clone_pids=()
for ((i = 0; i < repo_count; i++)); do
  url=${repos[i * 3]} branch=${repos[i * 3 + 1]} dir=${repos[i * 3 + 2]}
  clone_args=(--quiet)
  [[ -z $branch ]] || clone_args+=(--branch "$branch")
  echo "[flaude] cloning $url${branch:+ ($branch)} into $dir"
  git clone "${clone_args[@]}" -- "$url" "$workspace/$dir" >"$scratch/clone-$i.log" 2>&1 &
  clone_pids+=($!)
done
clone_failed=0
for ((i = 0; i < repo_count; i++)); do
  wait "${clone_pids[i]}" && continue
  clone_failed=1
  echo "[flaude:error] clone of ${repos[i * 3]} failed:"
  sed 's/^/  /' "$scratch/clone-$i.log"
done
((clone_failed == 0)) || exit 3

if ((repo_count == 1)); then
  cd "$workspace/${repos[2]}"
  base_sha=$(git rev-parse -q --verify HEAD || true) # empty for an empty repository
else
  cd "$workspace"
fi

# The agent runs in the background so a stop signal can be passed on to it: bash would not run
# a trap until a foreground child ends.
echo "[flaude] running ${agent[0]} in $PWD"
stopped='' agent_pid=''
trap 'stopped=1; [[ -z $agent_pid ]] || kill -TERM "$agent_pid" 2>/dev/null || true' TERM INT
"${agent[@]}" </dev/null &
agent_pid=$!
# A stop that came while the agent was starting found no pid to pass on to.
[[ -z $stopped ]] || kill -TERM "$agent_pid" 2>/dev/null || true
agent_status=0
wait "$agent_pid" || agent_status=$?
# A trapped signal interrupts `wait` early; wait again for the agent's own status.
while kill -0 "$agent_pid" 2>/dev/null; do
  agent_status=0
  wait "$agent_pid" || agent_status=$?
done
echo "[flaude] agent exited with $agent_status"
# Stopped from outside: the machine is going away, and half-done work is not pushed.
[[ -z $stopped ]] || exit "$agent_status"

# Commits what the agent left (it may have committed some itself) and pushes it to push_branch.
push_work() {
  local subject head
  subject=${FLAUDE_PROMPT:-}
  subject=${subject%%$'\n'*}
  subject="agent: ${subject:-changes from ${agent[0]}}"
  ((${#subject} <= 72)) || subject="${subject:0:69}..."
  git add -A || return
  if ! git diff --cached --quiet; then
    git commit --quiet -m "$subject" || return
  fi
  head=$(git rev-parse -q --verify HEAD) || head=
  if [[ $head == "$base_sha" ]]; then
    echo "[flaude:pushed:none]"
    return
  fi
  git push --quiet origin "HEAD:refs/heads/$push_branch" || return
  echo "[flaude:pushed:$push_branch:$head]"
}

exit_code=$agent_status
if [[ -n $push_branch ]] && ! push_work; then
  echo "[flaude:error] pushing to branch $push_branch failed"
  ((exit_code != 0)) || exit_code=4
fi
exit "$exit_code"
