/**
 * The soft-bounce rule, kept apart so every sink applies the same one: a reader whose
 * mailbox refused mail `limit` times within `days` (full, or refused without a reason
 * anyone can read) counts as bounced, as a hard bounce would.
 */
export interface SoftBounceRule {
  limit: number;
  days: number;
}

export interface SoftBounceVerdict {
  /** Soft bounces inside the window, this one included. */
  count: number;
  /** Whether they add up to a hard bounce. */
  hard: boolean;
  /** The timestamps still worth keeping (inside the window), oldest first. */
  keep: number[];
}

/** Applies one more soft bounce at `now` to the earlier ones (ms since the epoch, any order). */
export function softBounceVerdict(earlier: readonly number[], now: number, rule: SoftBounceRule): SoftBounceVerdict {
  const since = now - rule.days * 86_400_000;
  const keep = [...earlier.filter((t) => t > since && t <= now), now].sort((a, b) => a - b);
  return { count: keep.length, hard: keep.length >= rule.limit, keep };
}
