// Kaochang servers of a test's own, for the durability suite (tests/durability): each node
// is the harness's binary (KC_BIN) with a config file of its own — the [db] section of
// KC_CONFIG (the e2e MariaDB), its own [server] port and node_id — started, killed and
// stopped by the test. Also what those tests share: candidates of their own, logins from
// several loopback addresses, valid responses, a bounded wait.
import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KcClient } from './kc.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls pred (sync or async) until it returns something truthy; throws after timeoutMs. */
export async function until(what, pred, timeoutMs = 10000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A TCP port nobody listens on now (the kernel's pick), on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The [db] section of a kaochang.conf, as text (header included). */
export function dbSection(configPath) {
  const out = [];
  let inDb = false;
  for (const line of readFileSync(configPath, 'utf8').split('\n')) {
    const sec = line.trim().match(/^\[(.+)\]$/);
    if (sec) inDb = sec[1].trim() === 'db';
    if (inDb) out.push(line);
  }
  if (!out.length) throw new Error(`${configPath} has no [db] section`);
  return out.join('\n');
}

// Servers still running when the test process ends (a crash, a timeout) are killed, so
// none outlives its test holding a port and database connections.
const running = new Set();
process.on('exit', () => { for (const p of running) try { p.kill('SIGKILL'); } catch { /* gone */ } });

/** One kaochang server process of the test's own; start() again after kill9() restarts it
 * on the same port with the same config (its log goes on in the same file). */
export class KcNode {
  /** server: extra [server] keys, e.g. {idle_ping: 30}; limits: [limits] keys. */
  constructor(env, { name, port, dir, server = {}, limits = {} }) {
    this.env = env;
    this.name = name;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.config = join(dir, `${name}.conf`);
    this.logPath = join(dir, `${name}.log`);
    this.proc = null;
    this.exits = [];            // {code, signal} of every process of this node that ended
    const keys = (o) => Object.entries(o).map(([k, v]) => `${k} = ${v}\n`).join('');
    writeFileSync(this.config,
      `[server]\nlisten = 127.0.0.1\nport = ${port}\nnode_id = ${name}\nlog_level = info\n${keys(server)}\n` +
      `[limits]\n${keys(limits)}\n${dbSection(env.config)}\n`);
  }

  /** Spawns the server; with wait, resolves once /healthz answers 200 (a DB worker holds a
   * connection), else at once. */
  async start({ wait = true, timeoutMs = 30000 } = {}) {
    if (this.proc) throw new Error(`${this.name} is running already`);
    const fd = openSync(this.logPath, 'a');
    writeFileSync(fd, `---- ${this.name}: start ${new Date().toISOString()}\n`);
    const p = spawn(this.env.bin, ['--config', this.config, 'serve'], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.proc = p;
    running.add(p);
    this.exited = new Promise((resolve) => p.once('exit', (code, signal) => {
      running.delete(p);
      if (this.proc === p) this.proc = null;
      const e = { code, signal };
      this.exits.push(e);
      resolve(e);
    }));
    if (wait) await this.ready(timeoutMs);
    return this;
  }

  async ready(timeoutMs = 30000) {
    await until(`${this.name} (${this.url}) to answer /healthz`, async () => {
      if (!this.proc) throw new Error(`${this.name} exited while starting: ${this.tail()}`);
      try { return (await fetch(`${this.url}/healthz`)).status === 200; } catch { return false; }
    }, timeoutMs, 100);
  }

  /** kill -9: resolves once the process is gone. */
  async kill9() {
    if (!this.proc) throw new Error(`${this.name} is not running`);
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM and wait (SIGKILL after timeoutMs); resolves with {code, signal}, or null
   * when it was not running. */
  async stop(timeoutMs = 30000) {
    if (!this.proc) return null;
    const p = this.proc;
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    const e = await this.exited;
    clearTimeout(timer);
    return e;
  }

  log() { try { return readFileSync(this.logPath, 'utf8'); } catch { return ''; } }
  tail(n = 30) { return `\n---- last lines of ${this.logPath}:\n${this.log().split('\n').slice(-n).join('\n')}`; }
  /** A sanitizer's report in the log, or null. */
  sanitizerReport() {
    const m = this.log().match(/(ERROR: (Address|Leak)Sanitizer|runtime error:)[^]{0,3000}/);
    return m ? m[0] : null;
  }
}

/** A directory of the test's own for configs and logs; remove() at the end (with KC_KEEP set
 * it stays, for reading the servers' logs, and its path is printed). */
export function workDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    remove() {
      if (process.env.KC_KEEP) console.log(`KC_KEEP: the servers' configs and logs are in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A 身份证号 with the right check digit (GB 11643) in a region (6 digits) of the caller's,
 * for n < 10000 (the birth day moves on every 1,000): tests/lib/kc.mjs's idNumber has 1,000
 * in one region that the other suites share. */
export function idNumberIn(region, n) {
  const day = String(1 + Math.floor(n / 1000)).padStart(2, '0');
  const body = `${region}200001${day}${String(n % 1000).padStart(3, '0')}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, d, i) => s + Number(d) * w[i], 0);
  return body + '10X98765432'[sum % 11];
}

/** `kaochang ARGS` with the harness's config (for sessionWith of tests/lib/kc.mjs). */
export function kcCli(env) {
  return (...args) => promisify(execFile)(env.bin, ['--config', env.config, ...args], { timeout: 120000, maxBuffer: 16 << 20 });
}

/** Runs fn over items with at most `limit` running at once; resolves with the results in order. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A candidate's connection: login (throttled or busy: wait and again, bounded) and start.
 * Resolves with {c, welcome, paper}. */
export async function loginAndStart(url, who, localAddress, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = await KcClient.connect(url, 10000, { localAddress });
    const welcome = await c.request({ type: 'login', ticket: who.ticket, id_number: who.idno }, 30000);
    if (welcome.type === 'welcome') {
      const paper = await c.request({ type: 'start' }, 30000);
      if (paper.type !== 'paper') throw new Error(`${who.ticket}: start: ${JSON.stringify(paper).slice(0, 300)}`);
      return { c, welcome, paper };
    }
    c.ws.terminate();
    if (!['throttled', 'busy'].includes(welcome.code) || Date.now() > end) {
      throw new Error(`${who.ticket}: login from ${localAddress}: ${JSON.stringify(welcome)}`);
    }
    await sleep(Math.min(welcome.retry_after_ms || 500, 5000));
  }
}

/** Every item of a paper that takes an answer (a composite's children instead of it). */
export function answerable(paper) {
  const out = [];
  for (const it of paper.paper.items) {
    if (it.type === 'composite') out.push(...it.children);
    else out.push(it);
  }
  return out;
}

/** A valid response for an item, different for different n, in the form the server stores
 * (multi: keys sorted; fill: one string per blank). */
export function responseFor(it, n) {
  switch (it.type) {
    case 'single': return it.options[n % it.options.length].key;
    case 'multi': {
      const keys = it.options.map((o) => o.key);
      return [keys[n % keys.length], keys[(n + 1) % keys.length]].sort().join('');
    }
    case 'tf': return n % 2 ? 'T' : 'F';
    case 'fill': return Array.from({ length: it.blanks }, (_, b) => `填${n}-${b}`);
    default: return `答案 ${n}`;
  }
}

/** The same response as the server returns it (a fill item's as an array). */
export const sameResponse = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** A response as the answer table stores it (a fill item's blanks joined by U+001F). */
export const storedResponse = (r) => (Array.isArray(r) ? r.join('\u001f') : r);

/** A list of problems for an assertion message: how many, and the first few. */
export const few = (xs, n = 5) => `${xs.length}: ${JSON.stringify(xs.slice(0, n))}${xs.length > n ? ' …' : ''}`;

/** A copy of xs in random order (Fisher–Yates). */
export function shuffled(xs) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Quantiles of a list of numbers: {n, p50, p95, max}. */
export function spread(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (f) => (s.length ? s[Math.min(s.length - 1, Math.floor(f * s.length))] : NaN);
  return { n: s.length, p50: q(0.5), p95: q(0.95), max: s.length ? s[s.length - 1] : NaN };
}
