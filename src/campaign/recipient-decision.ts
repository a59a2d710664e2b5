import { editionFor, type EditionFallback } from '../core/edition-fallback.ts';
import type { Lang } from '../core/lang.ts';
import type { CampaignReader } from './types.ts';

/**
 * Whether one reader of a campaign gets a mail, and which edition. The batch asks it for
 * each reader's record as the claim read it (in the same atomic step). The claim script
 * makes the same three checks first (lua/claim-many.lua), so that a skip costs no claim
 * and no rate-limit token; this decision is the one that counts.
 */

/** Why a reader on the list got nothing; the ledger keeps the key as the skip's note and counts each. */
export const SKIP_REASONS = {
  'no-edition': 'no edition in their language',
  'left-list': 'left the list',
  inactive: 'not active',
} as const;
export type SkipReason = keyof typeof SKIP_REASONS;

export type RecipientDecision = { kind: 'send'; lang: Lang } | { kind: 'skip'; reason: SkipReason };

export interface DecisionCampaign {
  list: string;
  /** EDITION_FALLBACK as it was when the campaign was created. */
  fallback: EditionFallback;
}

/** `reader` is null when the subscriber is gone (erased). `editions` are the campaign's languages. */
export function decideRecipient(reader: Pick<CampaignReader, 'status' | 'lists' | 'lang'> | null, campaign: DecisionCampaign, editions: readonly Lang[]): RecipientDecision {
  if (!reader || reader.status !== 'active') return { kind: 'skip', reason: 'inactive' };
  // The fan-out took the list as it was; whoever left it since gets nothing from it.
  if (!reader.lists.includes(campaign.list)) return { kind: 'skip', reason: 'left-list' };
  const choice = editionFor(editions, reader.lang, campaign.fallback);
  return choice.kind === 'skip' ? { kind: 'skip', reason: 'no-edition' } : { kind: 'send', lang: choice.lang };
}

/** A campaign's skips by reason from its hash (`skipped:<reason>` fields), without the zeros. */
export function skippedByReason(hash: Record<string, string>): Partial<Record<SkipReason, number>> {
  const out: Partial<Record<SkipReason, number>> = {};
  for (const reason of Object.keys(SKIP_REASONS) as SkipReason[]) {
    const n = Number(hash[`skipped:${reason}`] ?? 0);
    if (n > 0) out[reason] = n;
  }
  return out;
}

/** E.g. `skipped 85 (no edition in their language 80 · left the list 3 · not active 2)`. */
export function describeSkipped(skipped: number, byReason: Partial<Record<SkipReason, number>>): string {
  const parts = (Object.keys(SKIP_REASONS) as SkipReason[]).filter((r) => byReason[r]).map((r) => `${SKIP_REASONS[r]} ${byReason[r]}`);
  return `skipped ${skipped}${parts.length > 0 ? ` (${parts.join(' · ')})` : ''}`;
}
