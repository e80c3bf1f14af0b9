// Words and numbers as people read them in the summary and the comment.
import type { Conclusion } from '../run/outcome.js';

export const HEADLINES: Record<Conclusion, string> = {
  success: '✅ Agent finished',
  failure: '❌ Agent failed',
  timeout: '⏱️ Agent timed out',
  cancelled: '🚫 Agent run cancelled',
  skipped: '⏭️ Agent run skipped',
};

/** `59s`, `1m 5s`, `2h 2m`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}
