// Renders a job summary (the HTML the action writes to GITHUB_STEP_SUMMARY) the way a person
// sees it, as a PNG, with headless Chromium (Debian's `chromium`): a summary is read, so it is
// looked at, not only asserted on.
//   node scripts/render-summary.mjs SUMMARY_FILE OUT.png
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/render-summary.mjs SUMMARY_FILE OUT.png');
  process.exit(2);
}

// Close to GitHub's own rendering of a summary: its font stack, widths, tables and folds.
const style = `
  body { font: 14px -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; margin: 24px; max-width: 880px; }
  h2 { border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; } h3 { margin-top: 24px; }
  table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #d1d9e0; padding: 6px 13px; text-align: left; }
  th { background: #f6f8fa; } code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 85%; }
  code { background: #eff1f3; padding: .2em .4em; border-radius: 6px; } pre { background: #f6f8fa; padding: 16px; overflow: auto; }
  blockquote { margin: 0; padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
  details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }`;
// Folds open, so the picture shows what a reader finds by clicking.
const body = readFileSync(input, 'utf8').replaceAll('<details>', '<details open>');
const page = `<!doctype html><html><head><meta charset="utf-8"><style>${style}</style></head><body>${body}</body></html>`;

const dir = mkdtempSync(join(tmpdir(), 'amt-summary-'));
try {
  const html = join(dir, 'summary.html');
  writeFileSync(html, page);
  // Flags that keep Chromium off the network (none is reachable here) and out of the user's profile.
  execFileSync(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--hide-scrollbars',
      '--window-size=940,1500',
      `--screenshot=${resolve(output)}`,
      `file://${html}`,
    ],
    { stdio: 'ignore', timeout: 60_000 },
  );
  console.log(`wrote ${output}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
