import { Temporal } from 'temporal-polyfill';
import { DepescheError } from '../errors.ts';

/** When a campaign is to start, and how that was read. */
export interface SendTime {
  /** Milliseconds since the epoch. */
  at: number;
  /** The zone a wall-clock time was read in; absent when the input named an offset. */
  zone?: string;
  /** True when the zone came from TZ (or the system), not from the input. */
  zoneAssumed: boolean;
}

/** The zone of this process: TZ when set, else the system's. */
export function localZone(env: NodeJS.ProcessEnv = process.env): string {
  return env.TZ || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const hint = 'Give an ISO 8601 time with an offset (2026-11-27T07:00:00+01:00), with a zone (2026-11-27T07:00 Europe/Berlin), or a local time read in TZ.';

/**
 * Reads `--at` (and the API's `at`): an instant with an offset or Z; a wall-clock time
 * with a zone, written `2026-11-27T07:00 Europe/Berlin` or `2026-11-27T07:00[Europe/Berlin]`
 * (or a `zone` given apart); or a bare wall-clock time, read in TZ, and the result says
 * so. A time that has passed is refused: nobody schedules the past on purpose.
 */
export function parseSendTime(input: string | Date | undefined, options: { zone?: string; now?: number; env?: NodeJS.ProcessEnv } = {}): SendTime {
  const now = options.now ?? Date.now();
  if (input === undefined) return { at: now, zoneAssumed: false };
  let result: SendTime;
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) throw new DepescheError('E_INPUT', 'The send time is not a valid date.', { hint });
    result = { at: input.getTime(), zoneAssumed: false };
  } else {
    result = parse(input.trim(), options.zone, options.env);
  }
  if (result.at < now - 1000) {
    throw new DepescheError('E_INPUT', `The send time ${new Date(result.at).toISOString()}${result.zone ? ` (${result.zone})` : ''} has already passed.`, {
      hint: 'Leave --at out to send now, or give a time in the future.',
    });
  }
  return result;
}

function parse(text: string, zone: string | undefined, env: NodeJS.ProcessEnv | undefined): SendTime {
  // An instant: offset or Z, and no zone to read it in.
  if (/(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(text) && !zone) {
    try {
      return { at: Temporal.Instant.from(text).epochMilliseconds, zoneAssumed: false };
    } catch {
      throw new DepescheError('E_INPUT', `"${text}" is not a time.`, { hint });
    }
  }
  // A wall-clock time with its zone: `… Europe/Berlin` or `…[Europe/Berlin]`.
  const named = /^(.+?)(?:\s+|\[)([A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*|UTC)\]?$/.exec(text);
  const wall = named ? named[1]! : text;
  const given = named ? named[2]! : zone;
  const used = given ?? localZone(env);
  let plain: Temporal.PlainDateTime;
  try {
    plain = Temporal.PlainDateTime.from(wall.replace(' ', 'T'));
  } catch {
    throw new DepescheError('E_INPUT', `"${text}" is not a time.`, { hint });
  }
  try {
    // 'compatible': a time skipped by a DST change moves forward, a repeated one takes the first.
    const at = plain.toZonedDateTime(used, { disambiguation: 'compatible' }).epochMilliseconds;
    return { at, zone: used, zoneAssumed: given === undefined };
  } catch {
    throw new DepescheError('E_INPUT', `"${used}" is not a time zone.`, { hint: 'Use an IANA zone name such as Europe/Berlin or UTC.' });
  }
}

/** `2026-11-27 07:00 Europe/Berlin (06:00 UTC)`: for ops, in the zone the time was given in. */
export function describeSendTime(at: number, zone?: string): string {
  const instant = Temporal.Instant.fromEpochMilliseconds(at);
  const utc = instant.toString({ smallestUnit: 'minute' }).replace('T', ' ').replace('Z', ' UTC');
  if (!zone || zone === 'UTC') return utc;
  const local = instant.toZonedDateTimeISO(zone).toPlainDateTime().toString({ smallestUnit: 'minute' }).replace('T', ' ');
  return `${local} ${zone} (${utc})`;
}
