import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

/**
 * A private Dovecot IMAP server for one test file: its own config, users file, mail and
 * sockets in a temp folder, plain IMAP on a free loopback port. Debian's dovecot-imapd
 * provides the binary (`.ci/run` installs it).
 *
 * Run as root (CI, this machine), Dovecot wants its unprivileged users for the login and
 * internal processes and a non-root owner for the mail, so the mail belongs to the
 * `dovecot` user; run as anyone else, everything is that user's.
 */
export interface TestDovecot {
  port: number;
  user: string;
  password: string;
  /** imap://user:password@127.0.0.1:port/INBOX */
  url: string;
  stop(): Promise<void>;
}

export const DOVECOT = '/usr/sbin/dovecot';

function uidOf(name: string): { uid: number; gid: number } | undefined {
  const out = spawnSync('id', ['-u', name]);
  const gid = spawnSync('id', ['-g', name]);
  if (out.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(out.stdout.toString()), gid: Number(gid.stdout.toString()) };
}

async function waitForGreeting(port: number, child: ChildProcess, log: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dovecot exited (${child.exitCode}): ${await readFile(log, 'utf8').catch(() => '')}`);
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (data: Buffer) => {
        socket.destroy();
        resolve(data.toString().startsWith('* OK'));
      });
      socket.once('error', () => resolve(false));
    });
    if (greeted) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not answer on port ${port}: ${await readFile(log, 'utf8').catch(() => '')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startDovecot(): Promise<TestDovecot> {
  if (!existsSync(DOVECOT)) throw new Error(`${DOVECOT} is missing: apt-get install -y dovecot-imapd (.ci/run does)`);
  const dir = await mkdtemp(join(tmpdir(), 'depesche-dovecot-'));
  const port = await freePort();
  const user = 'bounces';
  const password = 'imap-test-password-1';
  const root = process.getuid?.() === 0;
  const owner = root ? uidOf('dovecot') : { uid: process.getuid!(), gid: process.getgid!() };
  if (!owner) throw new Error('the dovecot system user is missing; reinstall dovecot-core');
  const me = userInfo().username;
  const home = join(dir, 'home');
  await mkdir(join(dir, 'run'), { recursive: true });
  await mkdir(home, { recursive: true });
  await chown(home, owner.uid, owner.gid);
  // The auth process runs as the dovecot user and must read the users file.
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'passwd'), `${user}:{PLAIN}${password}\n`, { mode: 0o644 });
  const log = join(dir, 'dovecot.log');
  await writeFile(
    join(dir, 'dovecot.conf'),
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${log}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests try a wrong password on purpose; no need to wait out the brute-force delay.
auth_failure_delay = 0
mail_location = maildir:~/Maildir
first_valid_uid = ${owner.uid}
last_valid_uid = 0
default_internal_user = ${root ? 'dovecot' : me}
default_login_user = ${root ? 'dovenull' : me}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${owner.uid} gid=${owner.gid} home=${home}/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
`,
  );
  const child = spawn(DOVECOT, ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: 'ignore' });
  await waitForGreeting(port, child, log);
  return {
    port,
    user,
    password,
    url: `imap://${user}:${password}@127.0.0.1:${port}/INBOX`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
