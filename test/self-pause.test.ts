import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { keyspace } from '../src/config/redis.ts';
import { createAutoResumeProcessor, SelfPause, type AutoResumeJob } from '../src/campaign/self-pause.ts';

/** SelfPause over in-memory stand-ins: which reason it writes, when it schedules, and when the resume acts. */
function setup(resumeAttempts: number, options: { pausable?: boolean; addFails?: boolean } = {}) {
  const hash = new Map<string, number>();
  const redis = {
    hmget: async (_key: string, ...fields: string[]) => fields.map((f) => (hash.has(f) ? String(hash.get(f)) : null)),
    hset: async (_key: string, field: string, value: number) => void hash.set(field, value),
    multi() {
      const ops: (() => void)[] = [];
      const chain = {
        hincrby: (_key: string, field: string, by: number) => (ops.push(() => hash.set(field, (hash.get(field) ?? 0) + by)), chain),
        hset: (_key: string, field: string, value: number) => (ops.push(() => hash.set(field, value)), chain),
        exec: async () => ops.map((op) => op()),
      };
      return chain;
    },
  } as unknown as Redis;
  const reasons: string[] = [];
  const jobs: { data: AutoResumeJob; delay: number | undefined }[] = [];
  const logs: string[] = [];
  const pause = new SelfPause({
    campaigns: { autoPause: async (_id, reason) => (reasons.push(reason), options.pausable ?? true) },
    redis,
    keys: keyspace('t'),
    control: {
      add: (async (_name: string, data: AutoResumeJob, opts?: { delay?: number }) => {
        if (options.addFails) throw new Error('Connection is closed.');
        jobs.push({ data, delay: opts?.delay });
        return {} as never;
      }) as never,
    },
    settings: { connectionFailures: 3, policyRejections: 4, resumeAttempts, resumeDelayMs: 1000 },
    log: (_level, message) => logs.push(message),
  });
  return { pause, reasons, jobs, logs, hash };
}

describe('self-pause', () => {
  it('an outage pause schedules resumes with doubling delays, then waits for ops once they are used up', async () => {
    const { pause, reasons, jobs } = setup(2);
    for (let i = 0; i < 3; i++) expect(await pause.outage('c1', 'connect ECONNREFUSED')).toBe(true);
    expect(jobs.map((j) => [j.data.attempt, j.delay])).toEqual([[1, 1000], [2, 2000]]);
    expect(reasons[0]).toBe('Paused after 3 connection failures in a row; last: connect ECONNREFUSED. Resumes by itself in 1 s (automatic resume 1 of 2).');
    expect(reasons[2]).toMatch(/It resumed by itself 2 times \(AUTO_RESUME_ATTEMPTS\); fix the SMTP side, then run `depesche resume c1`\.$/);
    const none = setup(0);
    expect(await none.pause.outage('c1', 'x')).toBe(true);
    expect(none.jobs).toEqual([]);
    expect(none.reasons[0]).toMatch(/AUTO_RESUME_ATTEMPTS is 0; fix the SMTP side/);
  });

  it('counts resumes anew once mail went out after one: a second outage hours later still resumes by itself', async () => {
    const { pause, reasons, jobs, hash } = setup(2);
    hash.set('sent', 100);
    expect(await pause.outage('c1', 'x')).toBe(true);
    expect(await pause.outage('c1', 'x')).toBe(true); // the first resume did not help: nothing was sent
    expect(jobs.map((j) => j.data.attempt)).toEqual([1, 2]);
    hash.set('sent', 180); // the second resume worked: batches sent mail again
    expect(await pause.outage('c1', 'x')).toBe(true);
    expect(jobs.map((j) => [j.data.attempt, j.delay])).toEqual([[1, 1000], [2, 2000], [1, 1000]]);
    expect(reasons[2]).toMatch(/automatic resume 1 of 2\)\.$/);
    expect(await pause.outage('c1', 'x')).toBe(true);
    expect(await pause.outage('c1', 'x')).toBe(true); // this outage drags on: used up, waits for ops
    expect(jobs).toHaveLength(4);
    expect(reasons[4]).toMatch(/It resumed by itself 2 times/);
  });

  it('schedules nothing when it did not pause (ops paused or cancelled first), and says so when scheduling fails', async () => {
    const lost = setup(5, { pausable: false });
    expect(await lost.pause.outage('c1', 'x')).toBe(false);
    expect(lost.jobs).toEqual([]);
    const failing = setup(5, { addFails: true });
    expect(await failing.pause.outage('c1', 'x')).toBe(true);
    expect(failing.logs.join('\n')).toMatch(/could not be scheduled; resume it by hand/);
  });

  it('pauses for policy rejections only at the limit, with a reason that says nobody was bounced', async () => {
    const { pause, reasons } = setup(5);
    expect(await pause.afterPolicyRejection('c1', 3, '554 5.7.1 blocked')).toBe(false);
    expect(await pause.afterPolicyRejection('c1', 4, '554 5.7.1 blocked')).toBe(true);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/^Paused after 4 policy rejections in a row: .*nobody was bounced\. Last: 554 5\.7\.1 blocked\. .*`depesche resume c1`\.$/);
  });

  it('the resume acts only while the campaign is still paused for that outage', async () => {
    const resumed: string[] = [];
    let campaign: { state: string; reason?: string } | null = { state: 'paused', reason: 'R' };
    const process = createAutoResumeProcessor({
      campaigns: { get: async () => campaign as never },
      resume: async (id) => resumed.push(id),
      log: () => {},
    });
    const job = (reason: string) => ({ data: { campaignId: 'c1', reason, attempt: 1 } }) as never;
    expect(await process(job('other reason'))).toBe('skipped');
    expect(await process(job('R'))).toBe('resumed');
    campaign = { state: 'cancelled', reason: 'R' };
    expect(await process(job('R'))).toBe('skipped');
    campaign = null;
    expect(await process(job('R'))).toBe('skipped');
    expect(resumed).toEqual(['c1']);
  });
});
