#!/usr/bin/env bash
# The image protocol (design.md, "Inside the machine" and "The agent run: who holds what"), in two
# phases. The privileged phase (root) checks the inputs, clones FLAUDE_REPOS, starts the model
# proxy, runs the agent as the unprivileged user with an environment that holds no token, and
# after the agent exits commits and pushes the work itself. Its markers end with
# [flaude:NONCE:exit:N] (or [flaude:exit:N]) as the very last line, whatever happened.
#
# Who holds what. Root keeps GITHUB_TOKEN, the model credential, FLAUDE_MARKER_NONCE and the
# FLAUDE_SECRET_* values in shell variables, gone from the environment its children inherit, and
# gives each only to the one child that needs it: the token to root's own git clone/fetch/push
# (git-credential-flaude reads it from that git's environment), the credential to
# model-proxy.mjs on its stdin, the secrets to the agent. The agent runs under setpriv (its
# uid/gid and groups, no capabilities, no_new_privs) with an environment built from nothing and no
# descriptor but stdin and the relay: /proc/PID/environ of root's processes is unreadable to it,
# no process has a token in its argv, no file holds one, and its git has no credential helper.
# Its stdout and stderr go through a pipe to a relay of root's: it never holds root's stdout, so it
# can neither read root's markers nor leave a line unfinished for one to be glued to. When it
# exits, every process of the agent user is killed (kill -1 as that user) before root goes on.
#
# Root's commit: the design. The agent controls its clone's .git entirely (config, hooks,
# fsmonitor, filters, includeIf, aliases, nested repositories), so root never runs git in it.
# Right after the clone, before the agent exists, root copies the clone's .git into its private
# scratch directory (0700) and later commits with that git directory (GIT_DIR) over the agent's
# work tree: no system or global config, hooks off, fsmonitor off, submodules ignored, plumbing
# (write-tree, commit-tree, update-ref) for the commit itself. Only the tree's content is taken:
# .gitattributes can name filter or diff drivers, but root's config defines none. The agent's own
# commits are kept by fetching them as from any untrusted remote: git-upload-pack runs as the
# agent user, root's fetch checks every object, and the agent's HEAD counts only if it descends
# from the cloned commit. Before root reads the tree, the agent's processes are gone (nothing can
# swap a path under root), the tree must still be the directory root cloned into (not a symlink),
# and every file in it must be the agent's (a root file hard-linked in would be pushed otherwise).
# Chosen over a second clone the agent never sees (the network twice) and over a git directory
# the agent can't read (it needs a working .git of its own, and commits of its own).
#
# Variables, beyond the design's table (root reads them all; the agent gets none of them):
#   AGENT_COMMAND        JSON argv run instead of claude (the prompt, if any, on its stdin)
#   FLAUDE_CLAUDE_ARGS   JSON array of extra claude arguments, after the fixed flags
#   FLAUDE_PROMPT_1, _2… continuations of FLAUDE_PROMPT (one environment string is capped at
#                        128 KiB), joined up to the first missing one; claude reads it on stdin
#   FLAUDE_REPOS         an entry may carry "commit" (a full hex sha): checked out after the clone,
#                        fetched by sha when the branch no longer holds it
#   FLAUDE_PUSH_BRANCH   commit and push here after the agent exits 0 (one repo only)
#   FLAUDE_PUSH_ON_FAILURE  `true`: push after a failed or stopped agent too (`false`/unset: don't)
#   FLAUDE_DEADLINE_SECONDS the run stops itself this long after it started (a lost runner can't)
#   FLAUDE_MARKER_NONCE  [A-Za-z0-9_-]{16,128}: every marker carries it
#   FLAUDE_AGENT_ENV     comma-separated names of plain variables passed to the agent as they are
#   FLAUDE_SECRET_<KEY>  given to the agent as <KEY>, to no one else
#   ANTHROPIC_BASE_URL   the proxy's upstream (default https://api.anthropic.com), path kept
#   GIT_AUTHOR_*/GIT_COMMITTER_* (default agent-machine-action[bot]), GITHUB_USERNAME,
#   GITHUB_SERVER_URL (the one server the token goes to), FLAUDE_WORKSPACE (/workspace),
#   FLAUDE_AGENT_USER (agent; a user of its own: all its processes are killed after the agent).
#   FLAUDE_EGRESS_ALLOW  the egress allowlist, one entry a line (commas too): `example.com`,
#                        `*.example.com` (names under it, not itself), an IPv4/IPv6 address or CIDR.
#                        Non-empty: before the agent starts, root sets the firewall and DNS
#                        forwarder of egress.mjs (it needs CAP_NET_ADMIN): the agent user reaches
#                        loopback, the listed hosts and the addresses allowed names resolve to,
#                        nothing else. Root's own traffic (clone, push, model proxy) is not limited.
#   FLAUDE_EGRESS_MODE   enforce (default: the rest is rejected) or audit (let through, reported)
# The agent's environment, exactly: HOME USER LOGNAME PATH, LANG (default C.UTF-8), TERM TZ LC_ALL
# NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR and the CLAUDE_SETTINGS below when set,
# DISABLE_AUTOUPDATER=1, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, GIT_AUTHOR_*/GIT_COMMITTER_*,
# the FLAUDE_AGENT_ENV variables, the secrets, and with a model credential
# ANTHROPIC_BASE_URL=http://127.0.0.1:PORT plus a placeholder ANTHROPIC_API_KEY, or
# CLAUDE_CODE_OAUTH_TOKEN when that is the credential (the API key wins when both are set).
# Markers, one line each, `[flaude:NONCE:NAME:VALUE]` (without a nonce `[flaude:NAME:VALUE]`):
# head-moved:SHA (per repo whose branch head is not its "commit"), error:TEXT (without a nonce the
# old `[flaude:error] TEXT`; detail may follow on indented lines), egress:MODE (the firewall is in
# place, before the agent), blocked:JSON (after the agent, whenever the firewall was set: at most
# 50 of {"host","port"?,"count"}, most often first), diffstat:BASE64 (`git diff --numstat` of what
# was pushed, at most 100 lines), pushed:BRANCH:SHA or pushed:none, and exit:N as the very last
# line. `[flaude] …` lines are information only.
# Exit codes: the agent's own, else 2 bad input, 3 clone failed, 4 push failed, 5 the egress
# firewall could not be set (the agent never ran), 143/130 stopped.
set -euo pipefail

# One stream: the exit marker can only be the last line if stderr can't overtake it.
exec 2>&1
# A core dump of root's processes (the proxy's) would hold the credential.
ulimit -c 0

here=$(dirname "$(readlink -f "$0")")
nonce=''

# marker NAME VALUE: a line the action believes, because only root knows the nonce.
marker() {
  if [[ -n $nonce ]]; then
    printf '[flaude:%s:%s:%s]\n' "$nonce" "$1" "$2"
  else
    printf '[flaude:%s:%s]\n' "$1" "$2"
  fi
}

# error TEXT: one line, never quoting a value that could be secret.
error() {
  local text=${1//[$'\r\n']/ }
  if [[ -n $nonce ]]; then
    printf '[flaude:%s:error:%s]\n' "$nonce" "$text"
  else
    printf '[flaude:error] %s\n' "$text"
  fi
}

fail() { # fail CODE MESSAGE
  error "$2"
  exit "$1"
}

# kill_agent_processes: every process of the agent user (it may have left some running, e.g. to
# race root's commit or read root's output). The agent user is the machine's, used by nothing else.
kill_agent_processes() {
  ((${#as_agent[@]})) || return 0
  local tries
  for ((tries = 0; tries < 50; tries++)); do
    # One kill(-1) is all at once: no process forks past it. Its status says nothing (it counts
    # root's processes too), so what is left is looked for in /proc.
    "${as_agent[@]}" env -i "$BASH" -c 'kill -KILL -1' 2>/dev/null || true
    agent_processes_left || return 0
    sleep 0.1
  done
  echo "[flaude] processes of $agent_user are still running"
}

# Whether a live process of the agent user is in this PID namespace (a test runs the entrypoint
# in one of its own, with the host's /proc).
agent_processes_left() {
  local file key value rest uid state pid_ns
  pid_ns=$(readlink /proc/self/ns/pid) || pid_ns=''
  for file in /proc/[0-9]*/status; do
    uid='' state=''
    while IFS=$'\t' read -r key value rest; do
      case $key in
        State:) state=$value ;;
        Uid:) uid=$value && break ;;
      esac
    done 2>/dev/null <"$file" || continue
    [[ $uid == "$agent_uid" && $state != Z* ]] || continue
    [[ $(readlink "${file%/status}/ns/pid" 2>/dev/null) == "$pid_ns" ]] && return 0
  done
  return 1
}

# The relay: the agent's output to root's stdout, unchanged, plus a line break if it ended without
# one, so that root's next line is a line of its own.
relay_js='let last = 10;
process.stdin.on("data", (chunk) => { last = chunk[chunk.length - 1]; process.stdout.write(chunk); });
process.stdin.on("end", () => { if (last !== 10) process.stdout.write("\n"); });'
close_relay() {
  [[ -n $relay_pid ]] || return 0
  [[ -z $relay_fd ]] || exec {relay_fd}>&-
  relay_fd=''
  local waited
  # Once no process of the agent holds the pipe it ends; not root, a lingering one might.
  for ((waited = 0; waited < 100; waited++)); do
    kill -0 "$relay_pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill "$relay_pid" 2>/dev/null; then
    wait "$relay_pid" 2>/dev/null || true
    echo
    echo "[flaude] the agent's output was cut off: a process it left still held it"
  fi
  wait "$relay_pid" 2>/dev/null || true
  relay_pid=''
}

stop_proxy() {
  [[ -n $proxy_pid ]] || return 0
  kill "$proxy_pid" 2>/dev/null || true
  wait "$proxy_pid" 2>/dev/null || true
  proxy_pid=''
}
# The egress firewall's holder (egress.mjs, root): it answers `report` with the blocked report,
# and EOF on its stdin ends it (its rules stay: a process of the agent's that outlived the kill
# stays behind them).
egress_pid='' egress_in='' egress_out='' egress_ready=''
egress_report() {
  [[ -n $egress_ready ]] || { stop_egress; return 0; }
  egress_ready=''
  local report=''
  # In a subshell: a write to a holder that is gone is a SIGPIPE, fatal to the shell that does it.
  (printf 'report\n' >&"$egress_in") 2>/dev/null && read -r -t 15 -u "$egress_out" report || report=''
  if [[ $report != '['*']' ]]; then
    echo "[flaude] the egress firewall gave no report of blocked hosts"
    report='[]'
  fi
  marker blocked "$report"
  stop_egress
}
stop_egress() {
  [[ -n $egress_pid ]] || return 0
  [[ -z $egress_in ]] || exec {egress_in}>&-
  [[ -z $egress_out ]] || exec {egress_out}<&-
  egress_in='' egress_out=''
  local waited
  for ((waited = 0; waited < 50; waited++)); do
    kill -0 "$egress_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$egress_pid" 2>/dev/null || true
  wait "$egress_pid" 2>/dev/null || true
  egress_pid=''
}
scratch='' relay_pid='' relay_fd='' proxy_pid='' agent_running='' agent_pid=''
as_agent=() agent_user=${FLAUDE_AGENT_USER:-agent}
finish() {
  local code=$?
  # A path that ends while the agent still runs (a failure of root's own): its output ends first.
  [[ -z $agent_running ]] || { kill -KILL "$agent_pid" 2>/dev/null; kill_agent_processes; }
  close_relay
  stop_proxy
  egress_report
  [[ -z ${deadline_pid:-} ]] || kill -TERM "$deadline_pid" 2>/dev/null || true
  rm -rf "$scratch"
  marker exit "$code"
  exit "$code"
}
trap finish EXIT
# PID 1 ignores signals it doesn't trap: these make a machine stop end the run, marker included.
trap 'exit 143' TERM
trap 'exit 130' INT

# --- Root's own inputs: kept in shell variables, gone from the environment every child inherits.
if [[ -n ${FLAUDE_MARKER_NONCE+set} ]]; then
  [[ $FLAUDE_MARKER_NONCE =~ ^[A-Za-z0-9_-]{16,128}$ ]] || fail 2 "FLAUDE_MARKER_NONCE must be 16 to 128 characters of A-Z a-z 0-9 _ -"
  nonce=$FLAUDE_MARKER_NONCE
fi
github_token=${GITHUB_TOKEN:-}
github_username=${GITHUB_USERNAME:-x-access-token}
github_server=${GITHUB_SERVER_URL:-https://github.com}
api_key=${ANTHROPIC_API_KEY:-}
oauth_token=${CLAUDE_CODE_OAUTH_TOKEN:-}
model_upstream=${ANTHROPIC_BASE_URL:-https://api.anthropic.com}
push_on_failure=${FLAUDE_PUSH_ON_FAILURE:-}
prompt=${FLAUDE_PROMPT:-}
for ((part = 1; ; part++)); do
  part_name=FLAUDE_PROMPT_$part
  [[ -n ${!part_name+set} ]] || break
  prompt+=${!part_name}
done
declare -A secrets=()
for name in $(compgen -e); do
  case $name in
    FLAUDE_SECRET_*)
      key=${name#FLAUDE_SECRET_}
      # Its name is checked below; its value is never quoted.
      secrets[$key]=${!name}
      unset -v "$name"
      ;;
    FLAUDE_PROMPT*) unset -v "$name" ;;
    # The agent's git settings and root's must not mix: root's git gets its own below.
    GIT_AUTHOR_* | GIT_COMMITTER_*) ;;
    GIT_*) export -n "$name" ;;
  esac
done
unset -v GITHUB_TOKEN GITHUB_USERNAME GITHUB_SERVER_URL ANTHROPIC_API_KEY CLAUDE_CODE_OAUTH_TOKEN \
  ANTHROPIC_AUTH_TOKEN ANTHROPIC_BASE_URL FLAUDE_MARKER_NONCE

# Names the agent may not be given: root's own.
reserved() {
  case $1 in
    FLAUDE_* | AGENT_COMMAND | GITHUB_TOKEN | GITHUB_USERNAME | GITHUB_SERVER_URL) return 0 ;;
    ANTHROPIC_API_KEY | CLAUDE_CODE_OAUTH_TOKEN | ANTHROPIC_AUTH_TOKEN | ANTHROPIC_BASE_URL) return 0 ;;
  esac
  return 1
}
bad_secret=''
for key in "${!secrets[@]}"; do
  if [[ ! $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || reserved "$key"; then bad_secret+=" $key"; fi
done
[[ -z $bad_secret ]] || fail 2 "FLAUDE_SECRET_ names must be variable names and not reserved:$(printf ' %q' $bad_secret)"

workspace=${FLAUDE_WORKSPACE:-/workspace}

# --- The agent user. As root the agent always runs as it; there is no fallback to root. Not root
# (a test outside a container), there is nothing to drop to: the agent runs as this user, and
# the privilege boundary does not exist.
if [[ $(id -u) == 0 ]]; then
  passwd_entry=$(getent passwd "$agent_user") || fail 2 "user $agent_user does not exist; refusing to run the agent as root"
  IFS=: read -r _ _ agent_uid agent_gid _ agent_home _ <<<"$passwd_entry"
  [[ $agent_uid != 0 ]] || fail 2 "FLAUDE_AGENT_USER=$agent_user is root; the agent must not run as root"
  as_agent=(setpriv "--reuid=$agent_uid" "--regid=$agent_gid" --init-groups --inh-caps=-all --bounding-set=-all --no-new-privs --)
  "${as_agent[@]}" true || fail 2 "cannot drop privileges to $agent_user with setpriv"
  install -d -o "$agent_uid" -g "$agent_gid" "$workspace"
else
  agent_user=$(id -un) agent_home=${HOME:-/}
  echo "[flaude] not root: the agent runs as $agent_user, the user that holds the tokens"
fi

scratch=$(mktemp -d) # root's private files (0700): clone logs, parsed JSON, its copy of the .git
chmod 700 "$scratch"

# Prints the fields of a JSON variable, NUL-terminated (node is in the image, jq may not be):
# AGENT_COMMAND gives its argv, FLAUDE_CLAUDE_ARGS its arguments (maybe none); FLAUDE_REPOS gives
# url, branch ("" for the default), dir and commit ("" for the branch head) per repo.
parse_json() {
  node -e '
    const name = process.argv[1];
    const fail = (why) => { console.error(`${name}: ${why}`); process.exit(2); };
    let list;
    try { list = JSON.parse(process.env[name] || "[]"); } catch (e) { fail(`not valid JSON (${e.message})`); }
    if (!Array.isArray(list)) fail("expected a JSON array");
    let fields;
    if (name === "AGENT_COMMAND") {
      if (!list.length || !list.every((arg) => typeof arg === "string")) fail("expected a non-empty array of strings");
      fields = list;
    } else if (name === "FLAUDE_CLAUDE_ARGS") {
      if (!list.every((arg) => typeof arg === "string")) fail("expected an array of strings");
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
        const commit = repo.commit ?? "";
        if (commit !== "" && !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit)) fail(`"commit" of ${repo.url} must be a full hex commit id`);
        return [repo.url, String(repo.branch ?? ""), dir, commit];
      });
    }
    if (fields.some((field) => field.includes("\0"))) fail("NUL characters are not allowed");
    process.stdout.write(fields.map((field) => field + "\0").join(""));
  ' "$1" >"$scratch/$1" 2>"$scratch/$1.error" || fail 2 "$(head -c 1000 "$scratch/$1.error")"
  mapfile -d '' -t "$2" <"$scratch/$1"
}

# The prompt goes in on stdin, to claude or to AGENT_COMMAND: never in an argv (ps shows those,
# and one argument is capped at 128 KiB), and no option parsing can mistake it for a flag.
# printf is a builtin: no argv either.
agent_stdin=/dev/null
if [[ -n $prompt ]]; then
  agent_stdin=$scratch/prompt
  printf '%s' "$prompt" >"$agent_stdin"
fi
if [[ -n ${AGENT_COMMAND:-} ]]; then
  parse_json AGENT_COMMAND agent
else
  [[ -n $prompt ]] || fail 2 "FLAUDE_PROMPT is empty: there is no task for the agent"
  [[ -n $oauth_token$api_key ]] || fail 2 "no agent credentials: set CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY"
  parse_json FLAUDE_CLAUDE_ARGS claude_args
  # shellcheck disable=SC2154 # parse_json's mapfile assigned it
  agent=(claude -p --dangerously-skip-permissions --output-format stream-json --verbose "${claude_args[@]}")
fi

parse_json FLAUDE_REPOS repos
# shellcheck disable=SC2154 # parse_json's mapfile assigned it
repo_count=$((${#repos[@]} / 4))
push_branch=${FLAUDE_PUSH_BRANCH:-}
if [[ -n $push_branch ]]; then
  ((repo_count == 1)) || fail 2 "FLAUDE_PUSH_BRANCH needs exactly one repo in FLAUDE_REPOS, there are $repo_count"
  git check-ref-format --branch "$push_branch" >/dev/null || fail 2 "FLAUDE_PUSH_BRANCH is not a valid branch name: $push_branch"
fi
# A machine whose runner is gone must not run on: past its deadline it stops itself, as a stop
# signal from outside would (the agent is stopped, nothing is pushed unless asked, exit 143).
if [[ -n ${FLAUDE_DEADLINE_SECONDS:-} ]]; then
  [[ $FLAUDE_DEADLINE_SECONDS =~ ^[1-9][0-9]{0,6}$ ]] || fail 2 "FLAUDE_DEADLINE_SECONDS must be a whole number of seconds"
  (
    # Ended with the run (finish): the sleep goes too, so nothing holds the output open.
    trap 'kill "$sleep_pid" 2>/dev/null; exit 0' TERM
    sleep "$FLAUDE_DEADLINE_SECONDS" </dev/null >/dev/null 2>&1 &
    sleep_pid=$!
    wait "$sleep_pid" || exit 0
    echo "[flaude] deadline of ${FLAUDE_DEADLINE_SECONDS}s reached: stopping the run"
    kill -TERM $$
  ) </dev/null &
  deadline_pid=$!
fi
case $push_on_failure in
  true) push_on_failure=1 ;;
  '' | false) push_on_failure='' ;;
  *) fail 2 "FLAUDE_PUSH_ON_FAILURE must be true or false" ;;
esac
egress_mode=${FLAUDE_EGRESS_MODE:-enforce}
[[ $egress_mode == enforce || $egress_mode == audit ]] || fail 2 "FLAUDE_EGRESS_MODE must be enforce or audit"
egress_allow=()
while IFS= read -r -d '' entry; do
  entry=${entry#"${entry%%[![:space:]]*}"} # trimmed
  entry=${entry%"${entry##*[![:space:]]}"}
  [[ -z $entry ]] || egress_allow+=("$entry")
done < <(printf '%s\n' "${FLAUDE_EGRESS_ALLOW:-}" | tr ',\n' '\0\0')
# The entries' shape, checked before anything is cloned (egress.mjs checks each fully).
egress_label='[a-z0-9_][a-z0-9_-]{0,62}'
for entry in "${egress_allow[@]}"; do
  if ((${#entry} > 253)) || ! [[ ${entry,,} =~ ^(\*\.)?($egress_label\.)*$egress_label\.?$ ||
    ${entry,,} =~ ^[0-9a-f:.]*:[0-9a-f:.]*(/[0-9]{1,3})?$ || $entry =~ ^[0-9.]+/[0-9]{1,2}$ ]]; then
    fail 2 "FLAUDE_EGRESS_ALLOW: not a domain, *.domain, IP address or CIDR: $(printf '%q' "$entry")"
  fi
done
plain_env=()
IFS=, read -r -a listed <<<"${FLAUDE_AGENT_ENV:-}"
for name in "${listed[@]}"; do
  name=${name//[[:space:]]/}
  [[ -n $name ]] || continue
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail 2 "FLAUDE_AGENT_ENV: $(printf '%q' "$name") is not a variable name"
  ! reserved "$name" || fail 2 "FLAUDE_AGENT_ENV: $name is reserved for the privileged phase"
  plain_env+=("$name")
done
# When both are given the API key wins, as it does in Claude Code itself.
[[ $api_key$oauth_token != *[$'\r\n']* ]] || fail 2 "the model credential holds a line break"
[[ $model_upstream != *[$'\r\n']* ]] || fail 2 "ANTHROPIC_BASE_URL holds a line break"

export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-agent-machine-action[bot]}
export GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-agent-machine-action[bot]@users.noreply.github.com}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}
export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}

# --- The egress firewall (FLAUDE_EGRESS_ALLOW): egress.mjs sets it up while root clones (root's
# own traffic passes it), and the agent starts only once it says `ready` (else exit 5, or 2 for
# an entry it refuses). Fifos, not a second coproc: bash keeps one coproc at a time.
start_egress() {
  mkfifo -m 600 "$scratch/egress-in" "$scratch/egress-out"
  node "$here/egress.mjs" <"$scratch/egress-in" >"$scratch/egress-out" &
  egress_pid=$!
  exec {egress_in}>"$scratch/egress-in" {egress_out}<"$scratch/egress-out"
  (printf '%s\n' "$egress_mode" "${egress_allow[@]}" '' >&"$egress_in") 2>/dev/null || true
}
await_egress() {
  local line=''
  read -r -t 30 -u "$egress_out" line || line=''
  if [[ $line != ready ]]; then
    stop_egress
    [[ $line != 'invalid '* ]] || fail 2 "FLAUDE_EGRESS_ALLOW: ${line#invalid }"
    line=${line#error }
    fail 5 "the egress firewall could not be set up (it needs CAP_NET_ADMIN and nftables): ${line:-egress.mjs did not start}"
  fi
  egress_ready=1
  marker egress "$egress_mode"
}
((${#egress_allow[@]} == 0)) || start_egress

# root_git ARGS: git for root, with no system or global config (the image's, the host's) and no
# hooks, configured through the environment so its argv stays plain (`git clone …`).
root_git() {
  local settings=(core.hooksPath=/dev/null core.fsmonitor=false core.untrackedCache=false
    diff.ignoreSubmodules=all submodule.recurse=false gc.auto=0 maintenance.auto=false
    advice.addEmbeddedRepo=false) i
  (
    export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 GIT_CONFIG_COUNT=${#settings[@]}
    for i in "${!settings[@]}"; do
      export "GIT_CONFIG_KEY_$i=${settings[i]%%=*}" "GIT_CONFIG_VALUE_$i=${settings[i]#*=}"
    done
    if [[ -n ${with_token:-} ]]; then
      # The helper reads the token from its own environment when git asks: in no URL, argv or file.
      export "GIT_CONFIG_KEY_$GIT_CONFIG_COUNT=credential.helper" "GIT_CONFIG_VALUE_$GIT_CONFIG_COUNT=$here/git-credential-flaude"
      export GIT_CONFIG_COUNT=$((GIT_CONFIG_COUNT + 1))
      export GITHUB_TOKEN=$github_token GITHUB_USERNAME=$github_username GITHUB_SERVER_URL=$github_server
    fi
    # git_timeout: seconds before a git that talks to the agent's upload-pack gives up.
    exec ${git_timeout:+timeout "$git_timeout"} git "$@"
  )
}
# net_git ARGS: root_git with the token (when there is one), for the GitHub server only.
net_git() {
  with_token=$github_token root_git "$@"
}

# --- Clone, as root, in parallel.
mkdir -p "$workspace"
workspace_real=$(cd -P -- "$workspace" && pwd)
clone_pids=()
for ((i = 0; i < repo_count; i++)); do
  url=${repos[i * 4]} branch=${repos[i * 4 + 1]} dir=${repos[i * 4 + 2]}
  clone_args=(--quiet --template=)
  [[ -z $branch ]] || clone_args+=(--branch "$branch")
  echo "[flaude] cloning $url${branch:+ ($branch)} into $dir"
  net_git clone "${clone_args[@]}" -- "$url" "$workspace/$dir" >"$scratch/clone-$i.log" 2>&1 &
  clone_pids+=($!)
done
clone_failed=0
for ((i = 0; i < repo_count; i++)); do
  wait "${clone_pids[i]}" && continue
  clone_failed=1
  error "clone of ${repos[i * 4]} failed:"
  sed 's/^/  /' "$scratch/clone-$i.log"
done
((clone_failed == 0)) || exit 3

# Exact commits (a fork's head as it was when the run was accepted): the branch may have moved on.
for ((i = 0; i < repo_count; i++)); do
  commit=${repos[i * 4 + 3]}
  [[ -n $commit ]] || continue
  repo_dir=$workspace/${repos[i * 4 + 2]}
  head=$(cd "$repo_dir" && root_git rev-parse -q --verify HEAD) || head=''
  [[ $head != "$commit" ]] || continue
  echo "[flaude] ${repos[i * 4]}: the branch head is ${head:-unborn}, not $commit; working on $commit"
  marker head-moved "${head:-none}"
  if ! (cd "$repo_dir" && root_git cat-file -e "$commit^{commit}" 2>/dev/null); then
    (cd "$repo_dir" && net_git fetch --quiet --no-tags origin "$commit") >"$scratch/fetch-$i.log" 2>&1 || {
      error "commit $commit of ${repos[i * 4]} could not be fetched:"
      sed 's/^/  /' "$scratch/fetch-$i.log"
      exit 3
    }
  fi
  (cd "$repo_dir" && root_git reset --quiet --hard "$commit") || fail 3 "could not check out $commit of ${repos[i * 4]}"
done

base_sha=''
if ((repo_count == 1)); then
  repo_dir=$workspace/${repos[2]}
  base_sha=$(cd "$repo_dir" && root_git rev-parse -q --verify HEAD) || base_sha='' # empty for an empty repository
  # Root's own copy of the repository, taken before the agent exists: the one it commits with.
  [[ -z $push_branch ]] || cp -a "$repo_dir/.git" "$scratch/git" || fail 3 "could not keep a copy of the clone"
fi
# The workspace is the agent's. -h: a symlink from the repository is changed itself, never the
# file it points to (a fork could point one at /etc/shadow).
[[ -z ${agent_uid:-} ]] || chown -R -h "$agent_uid:$agent_gid" "$workspace"

# --- The model proxy: the credential's only holder, on 127.0.0.1.
proxy_port=''
start_proxy() {
  local kind=x-api-key credential=$api_key proxy_in proxy_out
  [[ -n $api_key ]] || kind=bearer credential=$oauth_token
  coproc MODEL_PROXY { exec node "$here/model-proxy.mjs"; }
  proxy_pid=$MODEL_PROXY_PID proxy_in=${MODEL_PROXY[1]} proxy_out=${MODEL_PROXY[0]}
  # printf is a builtin: the credential goes down the pipe without ever being an argument.
  printf '%s\n%s\n%s\n' "$kind" "$model_upstream" "$credential" >&"$proxy_in"
  exec {proxy_in}>&-
  read -r -t 30 -u "$proxy_out" proxy_port || proxy_port=''
  exec {proxy_out}<&-
  [[ $proxy_port =~ ^[0-9]+$ ]] || fail 2 "the model proxy did not start"
}
[[ -z $api_key$oauth_token ]] || start_proxy
[[ -z $egress_pid ]] || await_egress

# --- The agent's environment, from nothing.
declare -A agent_env=(
  [HOME]=$agent_home [USER]=$agent_user [LOGNAME]=$agent_user [PATH]=$PATH [LANG]=${LANG:-C.UTF-8}
  [DISABLE_AUTOUPDATER]=1 [CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC]=1
  [GIT_AUTHOR_NAME]=$GIT_AUTHOR_NAME [GIT_AUTHOR_EMAIL]=$GIT_AUTHOR_EMAIL
  [GIT_COMMITTER_NAME]=$GIT_COMMITTER_NAME [GIT_COMMITTER_EMAIL]=$GIT_COMMITTER_EMAIL
)
# Settings of the machine and of Claude Code that hold no secret, passed when set.
CLAUDE_SETTINGS=(CLAUDE_CODE_MAX_RETRIES API_TIMEOUT_MS CLAUDE_CODE_MAX_OUTPUT_TOKENS MAX_THINKING_TOKENS
  BASH_DEFAULT_TIMEOUT_MS BASH_MAX_TIMEOUT_MS)
# Only what came in the environment (bash sets TERM=dumb for itself when there was none).
for name in TERM TZ LC_ALL NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR "${CLAUDE_SETTINGS[@]}" "${plain_env[@]}"; do
  [[ -z ${!name+set} || ${!name@a} != *x* ]] || agent_env[$name]=${!name}
done
for key in "${!secrets[@]}"; do agent_env[$key]=${secrets[$key]}; done
if [[ -n $proxy_port ]]; then
  agent_env[ANTHROPIC_BASE_URL]=http://127.0.0.1:$proxy_port
  # A placeholder of the credential's kind: Claude Code picks its auth header by the variable.
  if [[ -n $api_key ]]; then
    agent_env[ANTHROPIC_API_KEY]=sk-ant-api03-flaude-proxy-placeholder
  else
    agent_env[CLAUDE_CODE_OAUTH_TOKEN]=sk-ant-oat01-flaude-proxy-placeholder
  fi
fi

if ((repo_count == 1)); then
  cd "$workspace/${repos[2]}"
else
  cd "$workspace"
fi

# The agent runs in the background so a stop signal can be passed on to it: bash would not run
# a trap until a foreground child ends.
echo "[flaude] running ${agent[0]} in $PWD"
exec {relay_fd}> >(exec node -e "$relay_js")
relay_pid=$!
stopped='' agent_pid=''
trap 'stopped=143; [[ -z $agent_pid ]] || kill -TERM "$agent_pid" 2>/dev/null || true' TERM
trap 'stopped=130; [[ -z $agent_pid ]] || kill -INT "$agent_pid" 2>/dev/null || true' INT
(
  # Nothing of root's environment: the agent's is built from agent_env alone, and no value is
  # ever an argument (env -i VAR=value would put each one in a readable argv).
  for name in $(compgen -e); do unset -v "$name" 2>/dev/null || true; done
  # What bash can't unset: entries whose names are no variable names (it passes them on as they
  # came), and the _ and SHLVL it adds itself. env -u names them only, never a value.
  drop=(-u _ -u SHLVL)
  while IFS= read -r -d '' entry; do
    [[ ${entry%%=*} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || drop+=(-u "${entry%%=*}")
  done </proc/self/environ
  for name in "${!agent_env[@]}"; do export "$name=${agent_env[$name]}"; done
  # Only stdin, and the relay as stdout and stderr: no other descriptor of root's (or of whatever
  # started root) goes to the agent. 255 is bash's own, closed on exec.
  exec <"$agent_stdin" >&"$relay_fd" 2>&1
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    ((fd <= 2 || fd == 255)) || exec {fd}>&-
  done
  exec env "${drop[@]}" "${as_agent[@]}" "${agent[@]}"
) &
agent_pid=$! agent_running=1
exec {relay_fd}>&-
relay_fd=''
# A stop that came while the agent was starting found no pid to pass on to.
[[ -z $stopped ]] || kill -TERM "$agent_pid" 2>/dev/null || true
agent_status=0
wait "$agent_pid" || agent_status=$?
# A trapped signal interrupts `wait` early; wait again for the agent's own status.
while kill -0 "$agent_pid" 2>/dev/null; do
  agent_status=0
  wait "$agent_pid" || agent_status=$?
done
kill_agent_processes
agent_running=''
close_relay
stop_proxy
echo "[flaude] agent exited with $agent_status"
egress_report

# Commits the work tree with root's own git directory (its commits too, when the agent made
# some) and pushes it to push_branch.
push_work() {
  local tree=$workspace_real/${repos[2]} subject agent_head='' head parent tree_id upload_pack stray
  export GIT_DIR=$scratch/git GIT_WORK_TREE=$tree
  # The agent's commits, fetched as from any untrusted remote: upload-pack runs as the agent, and
  # every object it sends is checked (root's clone trusts its remote, as git does).
  printf -v upload_pack '%q ' "${as_agent[@]}" env -i "PATH=$PATH" "HOME=$agent_home" git-upload-pack
  if git_timeout=300 root_git -c fetch.fsckObjects=true fetch --quiet --no-tags --no-write-fetch-head --no-recurse-submodules \
    --upload-pack="$upload_pack" -- "$tree" "+HEAD:refs/flaude/agent" >"$scratch/agent-fetch.log" 2>&1; then
    agent_head=$(root_git rev-parse -q --verify refs/flaude/agent) || agent_head=''
  fi
  # Whatever upload-pack ran as the agent is gone before root reads the tree: nothing can move a
  # path under root from here on.
  kill_agent_processes
  # The tree must still be the directory root cloned into, not a link the agent put in its place.
  [[ -d $tree && ! -L $tree && $(cd -P -- "$tree" && pwd) == "$tree" ]] || {
    error "the work tree ${repos[2]} was replaced; nothing is pushed"
    return 1
  }
  cd "$tree" || return
  # Everything in the tree is the agent's since root handed it over: a file of anyone else's got
  # there as a hard link, and root would read (and push) what the agent itself may not.
  if [[ -n ${agent_uid:-} ]]; then
    stray=$(find "$tree" -path "$tree/.git" -prune -o ! -uid "$agent_uid" -print -quit) || return
    [[ -z $stray ]] || { error "${stray#"$tree"/} in the work tree is not the agent's (a hard link?); nothing is pushed"; return 1; }
  fi
  if [[ -n $agent_head && $agent_head != "$base_sha" ]]; then
    if [[ -z $base_sha ]] || root_git merge-base --is-ancestor "$base_sha" "$agent_head"; then
      root_git update-ref HEAD "$agent_head" && root_git read-tree "$agent_head" || return
    else
      echo "[flaude] the agent's HEAD does not descend from the cloned commit: its commits are left out, not its files"
    fi
  fi
  root_git add -A || return
  tree_id=$(root_git write-tree) || return
  parent=$(root_git rev-parse -q --verify HEAD) || parent=''
  head=$parent
  if { [[ -n $parent ]] && [[ $tree_id != $(root_git rev-parse "$parent^{tree}") ]]; } ||
    { [[ -z $parent ]] && [[ $tree_id != $(root_git hash-object -t tree /dev/null) ]]; }; then
    subject=${prompt%%$'\n'*}
    subject="agent: ${subject:-changes from ${agent[0]}}"
    ((${#subject} <= 72)) || subject="${subject:0:69}..."
    head=$(printf '%s\n' "$subject" | root_git commit-tree "$tree_id" ${parent:+-p "$parent"}) || return
    root_git update-ref HEAD "$head" || return
  fi
  if [[ $head == "$base_sha" ]]; then
    marker pushed none
    return
  fi
  net_git push --quiet --no-verify --no-recurse-submodules origin "$head:refs/heads/$push_branch" || return
  print_diffstat "$head"
  marker pushed "$push_branch:$head"
}

# [flaude:…diffstat:BASE64]: what the push changed, one marker line whatever the file names hold.
# Best effort: the push has landed, so a failure here prints nothing rather than failing the run.
print_diffstat() {
  local base=$base_sha
  # An empty repository had no commit: the diff is against the empty tree.
  [[ -n $base ]] || base=$(root_git hash-object -t tree /dev/null) || return 0
  # Submodules ignored: git would read the agent's .gitmodules for them (and die on a bad one).
  root_git diff --numstat --no-ext-diff --no-textconv --ignore-submodules=all "$base" "$1" >"$scratch/numstat" || return 0
  marker diffstat "$(head -n 100 "$scratch/numstat" | base64 -w 0)"
}

exit_code=${stopped:-$agent_status}
if [[ -n $push_branch ]]; then
  if [[ -n $stopped || $agent_status != 0 ]] && [[ -z $push_on_failure ]]; then
    echo "[flaude] the run failed or was stopped: nothing is pushed (FLAUDE_PUSH_ON_FAILURE is not true)"
  elif ! (push_work); then
    error "pushing to branch $push_branch failed"
    ((exit_code != 0)) || exit_code=4
  fi
fi
exit "$exit_code"
