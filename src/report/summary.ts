// The job summary: what a person reads instead of the log. A headline (the conclusion and the
// agent's final message), what the agent did, what was pushed, what it cost, then the run's
// details and the log tail folded away. Every part is capped, so the whole stays far below
// GitHub's 1 MiB limit whatever the agent printed.
import * as core from '@actions/core';
import { withoutTail } from '../errors.js';
import type { RunOutcome } from '../run/outcome.js';
import { formatDuration, HEADLINES } from './format.js';
import type { PullRequestResult } from './pull-request.js';

const MAX_TAIL_CHARS = 64 * 1024;
const MAX_RESULT_CHARS = 16 * 1024;
const MAX_COMMANDS = 50;
const MAX_FILES = 100;
const MAX_ITEM_CHARS = 300;

export interface SummaryLinks {
  pullRequest?: { number: number; url: string };
  commitUrl?: string;
  commentUrl?: string;
}

/** Links to the pull request, the pushed commit (in `repositoryUrl`) and the comment. */
export function summaryLinks(outcome: RunOutcome, pr: PullRequestResult, repositoryUrl?: string): SummaryLinks {
  const server = process.env.GITHUB_SERVER_URL || 'https://github.com';
  const number = pr.pullRequestNumber;
  return {
    pullRequest: number ? { number, url: `${server}/${process.env.GITHUB_REPOSITORY}/pull/${number}` } : undefined,
    commitUrl: outcome.pushed && repositoryUrl ? `${repositoryUrl}/commit/${outcome.pushed.sha}` : undefined,
    commentUrl: pr.commentUrl,
  };
}

export async function writeSummary(outcome: RunOutcome, links: SummaryLinks = {}): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(summaryHtml(outcome, links)).write();
}

export function summaryHtml(outcome: RunOutcome, links: SummaryLinks = {}): string {
  return [headline(outcome), usage(outcome), activity(outcome), pushed(outcome, links), blocked(outcome), details(outcome, links), logTail(outcome)]
    .filter(Boolean)
    .join('\n');
}

function headline(o: RunOutcome): string {
  const reason = o.failureReason ? ` (${o.failureReason})` : '';
  const parts = [`<h2>${HEADLINES[o.conclusion]}${reason}${o.durationSeconds ? ` in ${formatDuration(o.durationSeconds)}` : ''}</h2>`];
  const result = o.agent?.result;
  if (result) parts.push(`<blockquote>${paragraphs(clip(result, MAX_RESULT_CHARS, 'start'))}</blockquote>`);
  // The log tail is folded away below: the headline keeps the error's own words (Claude Code's too).
  if (o.error) parts.push(`<pre>${escape(clip(o.logTail.length ? withoutTail(o.error) : o.error, MAX_TAIL_CHARS))}</pre>`);
  return parts.join('\n');
}

function usage(o: RunOutcome): string {
  const a = o.agent;
  if (!a) return '';
  const cells: [string, string][] = [];
  if (a.costUsd !== undefined) cells.push(['Cost', `$${a.costUsd.toFixed(4)}`]);
  if (a.numTurns !== undefined) cells.push(['Turns', String(a.numTurns)]);
  if (a.inputTokens !== undefined) cells.push(['Input tokens', a.inputTokens.toLocaleString('en-US')]);
  if (a.outputTokens !== undefined) cells.push(['Output tokens', a.outputTokens.toLocaleString('en-US')]);
  cells.push(['Duration', formatDuration(o.durationSeconds)]);
  if (a.model) cells.push(['Model', code(a.model)]);
  return table([cells.map(([head]) => head), cells.map(([, value]) => value)]);
}

function activity(o: RunOutcome): string {
  const a = o.agent;
  if (!a) return '';
  const tools = Object.entries(a.toolCounts).sort(([, x], [, y]) => y - x);
  if (!tools.length) return '<h3>What it did</h3>\n<p>No tool calls.</p>';
  const parts = ['<h3>What it did</h3>', `<p>${tools.map(([name, n]) => `${escape(name)} ×${n}`).join(' · ')}</p>`];
  if (a.filesEdited.length)
    parts.push(
      list(
        `Files edited or written (${a.filesEdited.length})`,
        a.filesEdited.slice(0, MAX_FILES).map((file) => code(clip(file, MAX_ITEM_CHARS))),
      ),
    );
  if (a.commands.length) {
    const shown = a.commands.slice(0, MAX_COMMANDS).map((command) => `$ ${clip(command, MAX_ITEM_CHARS, 'start')}`);
    parts.push(
      `<details><summary>Commands run (${a.commands.length}${a.commands.length > shown.length ? `, first ${shown.length}` : ''})</summary>\n\n<pre>${escape(shown.join('\n'))}</pre>\n</details>`,
    );
  }
  return parts.join('\n');
}

function pushed(o: RunOutcome, links: SummaryLinks): string {
  if (!o.pushed) return '';
  const sha = code(o.pushed.sha.slice(0, 12));
  const commit = links.commitUrl ? `<a href="${attr(links.commitUrl)}">${sha}</a>` : sha;
  const files = o.changedFiles ?? [];
  const count = (n: number | null) => (n === null ? 'binary' : String(n));
  const added = files.reduce((sum, f) => sum + (f.added ?? 0), 0);
  const removed = files.reduce((sum, f) => sum + (f.removed ?? 0), 0);
  const parts = [
    '<h3>What was pushed</h3>',
    `<p>${commit} to ${code(o.pushed.branch)}${files.length ? `: ${files.length} file${files.length === 1 ? '' : 's'}, +${added} −${removed}` : ''}</p>`,
  ];
  if (files.length)
    parts.push(
      table([['File', 'Added', 'Removed'], ...files.slice(0, MAX_FILES).map((f) => [code(clip(f.path, MAX_ITEM_CHARS)), count(f.added), count(f.removed)])]),
    );
  return parts.join('\n');
}

/** The hosts the allowlist blocked (or, in audit mode, let through), as the image counted them. */
function blocked(o: RunOutcome): string {
  const hosts = o.egress?.blocked ?? [];
  if (!hosts.length) return '';
  const intro =
    o.egress?.mode === 'audit'
      ? '<p><code>egress_mode</code> is <code>audit</code>: these were let through, and <code>allowed_domains</code> would have blocked them.</p>'
      : '<p><code>allowed_domains</code> blocked these; add a host to it if the agent needs it.</p>';
  const rows = hosts.map((h) => [code(h.host), h.port === undefined ? 'DNS lookup' : String(h.port), String(h.count)]);
  return ['<h3>Blocked network access</h3>', intro, table([['Host', 'Port', 'Attempts'], ...rows])].join('\n');
}

function details(o: RunOutcome, links: SummaryLinks): string {
  const exit = o.exitCode === null ? 'unknown' : String(o.exitCode);
  const rows: string[][] = [
    ['Conclusion', o.failureReason ? `${o.conclusion} (${o.failureReason})` : o.conclusion],
    ['Backend', o.backend],
    ['Image', code(o.image || 'none')],
    ['Machine', code(o.machineId ?? 'none')],
    ['State', o.state || 'none'],
    ['Exit code', `${exit} (source: ${o.exitCodeSource})`],
    ['Duration', `${o.durationSeconds.toFixed(1)} s`],
  ];
  if (o.oomKilled) rows.push(['Out of memory', 'yes: the machine was OOM-killed']);
  const blockedCount = o.egress?.blocked.length;
  if (o.egress)
    rows.push(['Network allowlist', `${o.egress.mode}, ${blockedCount ? `${blockedCount} host${blockedCount === 1 ? '' : 's'} blocked` : 'nothing blocked'}`]);
  if (o.headMoved) rows.push(['Branch moved', `to ${code(o.headMoved.slice(0, 12))} after the run was accepted; the run worked on the accepted commit`]);
  if (o.agent?.sessionId) rows.push(['Session', code(o.agent.sessionId)]);
  if (links.pullRequest) rows.push(['Pull request', `<a href="${attr(links.pullRequest.url)}">#${links.pullRequest.number}</a>`]);
  if (links.commentUrl) rows.push(['Comment', `<a href="${attr(links.commentUrl)}">on the pull request</a>`]);
  if (o.artifactUrl) rows.push(['Artifact', `<a href="${attr(o.artifactUrl)}">log and transcript</a>`]);
  if (o.logFile) rows.push(['Full log', code(o.logFile)]);
  if (o.transcriptFile) rows.push(['Transcript', code(o.transcriptFile)]);
  return `<details><summary>Run details</summary>\n\n${table([['What', 'Value'], ...rows])}\n</details>`;
}

function logTail(o: RunOutcome): string {
  if (!o.logTail.length) return '';
  return `<details><summary>Last ${o.logTail.length} log lines</summary>\n\n<pre>${escape(clip(o.logTail.join('\n'), MAX_TAIL_CHARS))}</pre>\n</details>`;
}

function table(rows: string[][]): string {
  const [head, ...body] = rows;
  const cells = (tag: string, row: string[]) => `<tr>${row.map((cell) => `<${tag}>${cell}</${tag}>`).join('')}</tr>`;
  return `<table>${cells('th', head)}${body.map((row) => cells('td', row)).join('')}</table>`;
}

function list(title: string, items: string[]): string {
  return `<p>${escape(title)}:</p>\n<ul>${items.map((item) => `<li>${item}</li>`).join('')}</ul>`;
}

function paragraphs(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((p) => `<p>${escape(p).replace(/\n/g, '<br>')}</p>`)
    .join('');
}

function code(text: string): string {
  return `<code>${escape(text)}</code>`;
}

/** Keeps the end (a log's last lines) or the start (a message's first words) of a long text. */
function clip(text: string, max: number, keep: 'end' | 'start' = 'end'): string {
  if (text.length <= max) return text;
  return keep === 'end' ? `…${text.slice(-max)}` : `${text.slice(0, max)}…`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(text: string): string {
  return escape(text).replace(/"/g, '&quot;');
}
