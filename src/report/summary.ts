import * as core from '@actions/core';
import type { RunOutcome } from '../run/outcome.js';

/** The job summary stays far below GitHub's 1 MiB limit whatever the agent printed. */
const MAX_TAIL_CHARS = 64 * 1024;

export interface SummaryLinks {
  pullRequest?: { number: number; url: string };
  commitUrl?: string;
  commentUrl?: string;
}

export async function writeSummary(outcome: RunOutcome, links: SummaryLinks = {}): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const exit = outcome.exitCode === null ? 'unknown' : String(outcome.exitCode);
  const rows: [string, string][] = [
    ['Conclusion', `${icon(outcome.conclusion)} ${outcome.conclusion}`],
    ['Backend', outcome.backend],
    ['Image', code(outcome.image || 'none')],
    ['Machine', code(outcome.machineId ?? 'none')],
    ['State', outcome.state || 'none'],
    ['Exit code', `${exit} (source: ${outcome.exitCodeSource})`],
    ['Duration', `${outcome.durationSeconds.toFixed(1)} s`],
  ];
  if (outcome.oomKilled) rows.push(['Out of memory', 'yes: the machine was OOM-killed']);
  if (outcome.pushed) rows.push(['Pushed', links.commitUrl ? `<a href="${links.commitUrl}">${code(outcome.pushed.sha.slice(0, 12))}</a> to ${code(outcome.pushed.branch)}` : `${code(outcome.pushed.sha)} to ${code(outcome.pushed.branch)}`]);
  if (links.pullRequest) rows.push(['Pull request', `<a href="${links.pullRequest.url}">#${links.pullRequest.number}</a>`]);
  if (links.commentUrl) rows.push(['Comment', `<a href="${links.commentUrl}">on the pull request</a>`]);
  if (outcome.logFile) rows.push(['Full log', code(outcome.logFile)]);

  const summary = core.summary
    .addHeading('Agent machine run', 2)
    .addTable([[{ data: 'What', header: true }, { data: 'Value', header: true }], ...rows]);
  if (outcome.error) summary.addRaw(`<pre>${escape(clip(outcome.error))}</pre>`, true);
  if (outcome.logTail.length) summary.addDetails(`Last ${outcome.logTail.length} log lines`, `<pre>${escape(clip(outcome.logTail.join('\n')))}</pre>`);
  await summary.write();
}

function icon(conclusion: RunOutcome['conclusion']): string {
  return { success: '✅', failure: '❌', timeout: '⏱️', cancelled: '🚫', skipped: '⏭️' }[conclusion];
}

function code(text: string): string {
  return `<code>${escape(text)}</code>`;
}

function clip(text: string): string {
  return text.length > MAX_TAIL_CHARS ? `…${text.slice(-MAX_TAIL_CHARS)}` : text;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
