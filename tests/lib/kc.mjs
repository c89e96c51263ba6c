// Shared helpers of the node tests: the harness's environment, the fixtures, the
// `kaochang results` CLI and a small promise-based WebSocket client for kaochang.v1.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The harness's variables; throws (failing the test file) when one is missing. */
export function requireEnv(...names) {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) {
    throw new Error(
      `${missing.join(', ')} not set: these tests need a running kaochang server prepared by ` +
      'tests/run-e2e.sh (run `make e2e` or `make test`), or set KC_URL (e.g. http://127.0.0.1:18080), ' +
      'KC_BIN, KC_CONFIG and KC_FIXTURES yourself');
  }
  return {
    url: process.env.KC_URL ? process.env.KC_URL.replace(/\/+$/, '') : '',
    bin: process.env.KC_BIN,
    config: process.env.KC_CONFIG,
    fixtures: process.env.KC_FIXTURES || path.join(here, '..', 'fixtures'),
  };
}

/** Parses CSV text (RFC 4180 quotes, optional BOM) into objects keyed by the header. */
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  text = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += ch;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ''])));
}

/** The fixture bank: Map stem -> {key, points} (the server never sends keys). */
export function thinKeys(fixtures) {
  const rows = parseCsv(readFileSync(path.join(fixtures, 'thin.csv'), 'utf8'));
  return new Map(rows.map((r) => [r['题干'].trim(), { key: r['答案'].trim(), points: Number(r['分值']) }]));
}

/** Candidates of a fixture file: [{ticket, idno, name}]. */
export function candidates(fixtures, file) {
  return parseCsv(readFileSync(path.join(fixtures, file), 'utf8'))
    .map((r) => ({ ticket: r['准考证号'], idno: r['身份证号'], name: r['姓名'] }));
}

/** `kaochang results SESSION --format csv` as objects keyed by ticket. */
export async function results(env, session) {
  const { stdout } = await promisify(execFile)(
    env.bin, ['results', session, '--config', env.config, '--format', 'csv'], { timeout: 30000 });
  const lines = stdout.split('\n');
  if (lines[0] !== 'ticket,name,status,score,submitted_at,reason') {
    throw new Error(`unexpected results header: ${JSON.stringify(lines[0])}`);
  }
  return new Map(parseCsv(stdout).map((r) => [r.ticket, r]));
}

export function wsUrl(httpUrl) {
  return `${httpUrl.replace(/^http/, 'ws')}/ws`;
}

/** A kaochang.v1 connection whose messages can be awaited one by one. */
export class KcClient {
  /** wsOptions: options of the `ws` package, e.g. {localAddress: '127.0.0.2'} to come from
   *  another loopback address than the other tests (the login throttle counts per address). */
  static connect(httpUrl, timeoutMs = 5000, wsOptions = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(httpUrl), 'kaochang.v1', wsOptions);
      const timer = setTimeout(() => { ws.terminate(); reject(new Error('WebSocket connect timed out')); }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        if (ws.protocol !== 'kaochang.v1') {
          ws.terminate();
          reject(new Error(`server chose subprotocol ${JSON.stringify(ws.protocol)}, not kaochang.v1`));
          return;
        }
        resolve(new KcClient(ws));
      });
      ws.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.inbox = [];          // messages nobody has taken yet
    this.seen = [];           // every message, for failure reports
    this.waiters = [];
    this.nextId = 1;
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error(`connection closed (${code}) while waiting for ${w.what}; last messages: ${this.recent()}`));
        }
        resolve(this.closeInfo);
      });
    });
    ws.on('error', () => { /* reported through close */ });
    ws.on('message', (data, isBinary) => {
      let m;
      if (isBinary) m = { binary: Buffer.from(data) };     // a sealed paper (paper_fetch)
      else try { m = JSON.parse(data.toString()); } catch { m = { unparsable: data.toString(), isBinary }; }
      this.seen.push(m);
      const i = this.waiters.findIndex((w) => w.pred(m));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(m);
      } else {
        this.inbox.push(m);
      }
    });
  }

  recent() { return JSON.stringify(this.seen.slice(-6)); }

  sendRaw(text) { this.ws.send(text); }
  send(obj) { this.ws.send(JSON.stringify(obj)); }

  /** The next message matching pred (oldest unclaimed first). */
  next(pred = () => true, timeoutMs = 5000, what = 'a message') {
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    if (this.closeInfo) return Promise.reject(new Error(`connection already closed (${this.closeInfo.code}); waiting for ${what}`));
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject, what };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last messages: ${this.recent()}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Sends obj with a fresh id and resolves with the reply carrying that id. */
  request(obj, timeoutMs = 5000) {
    const id = this.nextId++;
    this.send({ ...obj, id });
    return this.next((m) => m.id === id, timeoutMs, `the reply to ${obj.type} #${id}`);
  }

  close() {
    this.ws.close(1000);
    return this.closed;
  }
}

/** A 身份证号 with the right check digit (GB 11643), unique per n (0–999). */
export function idNumber(n) {
  const body = `99010120000101${String(n).padStart(3, '0')}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, d, i) => s + Number(d) * w[i], 0);
  return body + '10X98765432'[sum % 11];
}

/** A session of its own for a test file: created, its candidates ({ticket, idno, name})
 *  registered, its papers prepared. kc runs the CLI (args...) and returns a promise. */
export async function sessionWith(kc, { code, title, paper, duration }, people) {
  const { writeFileSync, unlinkSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  await kc('session', 'create', '--code', code, '--title', title, '--paper', paper, '--duration', duration);
  const csv = join(tmpdir(), `kc-${code}.csv`);
  writeFileSync(csv, `准考证号,身份证号,姓名\n${people.map((p) => `${p.ticket},${p.idno},${p.name}`).join('\n')}\n`);
  try { await kc('session', 'add-candidates', '--session', code, csv); } finally { unlinkSync(csv); }
  await kc('session', 'prepare', code);
}
