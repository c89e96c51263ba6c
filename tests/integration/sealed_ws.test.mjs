// Sealed papers (issue 11, instant start): before the start a candidate's page fetches its
// paper sealed (`paper_fetch`: a binary message "KCP1" + hash + ChaCha20 ciphertext); the
// start then carries only the key. The key is not to be had before the start; the sealed
// paper opened with it is exactly the paper a plain start sends; a client whose sealed copy
// is out of date gets the whole paper; a bad sealed_hash is refused naming the field.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { KcClient, idNumber, requireEnv, sessionWith } from '../lib/kc.mjs';
import { readFileSync } from 'node:fs';

// The page's own code (plain JS ChaCha20: no WebCrypto over http on a LAN). Loaded as a
// module from its text: Node 18 (Debian 12's) takes a .js file outside an ES-module package
// for CommonJS.
const { chacha20, openSealed, parseSealed } = await import(`data:text/javascript;base64,${
  readFileSync(new URL('../../client-web/static/seal.js', import.meta.url)).toString('base64')}`);

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const RUN = Date.now().toString(36);
const SESSION = `SP-${RUN}`;
const kc = (...args) => promisify(execFile)(env.bin, ['--config', env.config, ...args], { timeout: 60000 });

const people = [0, 1, 2, 3].map((i) => ({ ticket: `SP${RUN}${i}`, idno: idNumber(961 + i), name: `密封考生${i}` }));

const open = [];
async function login(p) {
  const c = await KcClient.connect(env.url);
  open.push(c);
  const w = await c.request({ type: 'login', ticket: p.ticket, id_number: p.idno });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  return c;
}
after(() => { for (const c of open) c.ws.terminate(); });

/** The sealed paper's parts, checked. */
function sealed(buf) {
  assert.equal(buf.subarray(0, 4).toString(), 'KCP1', 'the binary message starts with its magic');
  const hash = buf.subarray(4, 68).toString();
  assert.match(hash, /^[0-9a-f]{64}$/, 'then the paper hash');
  return { hash, body: buf.subarray(68) };
}

/** What the browser does with the key: ChaCha20, block counter 0, nonce 0. */
function open_(body, keyHex) {
  const d = createDecipheriv('chacha20', Buffer.from(keyHex, 'hex'), Buffer.alloc(16));
  return Buffer.concat([d.update(body), d.final()]).toString('utf8');
}

async function fetchSealed(c) {
  const id = c.nextId++;
  c.send({ type: 'paper_fetch', id });
  return c.next((m) => m.binary || (m.id === id && m.type === 'error'), 15000, 'the sealed paper');
}

test("the page's ChaCha20 is OpenSSL's (block counter 0, nonce 0) over lengths around blocks", () => {
  const key = Buffer.from([...Array(32).keys()]);
  for (const n of [0, 1, 63, 64, 65, 1000, 4097]) {
    const plain = Buffer.from([...Array(n).keys()].map((i) => (i * 7) & 255));
    const c = createCipheriv('chacha20', key, Buffer.alloc(16));
    const want = Buffer.concat([c.update(plain), c.final()]);
    assert.deepEqual(Buffer.from(chacha20(new Uint8Array(key), new Uint8Array(plain))), want, `${n} bytes`);
  }
});

describe('sealed papers', () => {
  before(async () => {
    await sessionWith(kc, { code: SESSION, title: '密封试卷测试', paper: 'TYPES-P', duration: '30m' }, people);
  });

  test('a sealed paper before the start; the start gives its key, which opens exactly the paper', async () => {
    const c = await login(people[0]);
    const m = await fetchSealed(c);
    assert.ok(m.binary, `a binary message, got ${JSON.stringify(m).slice(0, 200)}`);
    const { hash, body } = sealed(m.binary);
    assert.ok(body.length > 100, 'with the paper in it');
    assert.ok(!body.toString('utf8').includes('"items"'), 'and the paper is not readable in it');

    const p = await c.request({ type: 'start', sealed_hash: hash }, 15000);
    assert.equal(p.type, 'paper', JSON.stringify(p).slice(0, 300));
    assert.equal(p.paper.hash, hash);
    assert.equal(p.paper.sealed, true);
    assert.match(p.paper.key, /^[0-9a-f]{64}$/);
    assert.equal(p.paper.items, undefined, 'the start does not send the paper again');
    const paper = JSON.parse(open_(body, p.paper.key));
    assert.ok(paper.items.length > 0);
    // The page opens it the same way.
    const ab = m.binary.buffer.slice(m.binary.byteOffset, m.binary.byteOffset + m.binary.length);
    const parsed = parseSealed(ab);
    assert.equal(parsed.hash, hash);
    assert.deepEqual(openSealed(parsed, p.paper.key), paper, "the page's ChaCha20 opens the paper");
    assert.throws(() => openSealed(parsed, 'f'.repeat(64)), 'a wrong key opens nothing');

    // The same attempt's plain start (another page without the sealed copy) sends the
    // same paper in the clear.
    const again = await c.request({ type: 'start' }, 15000);
    const { hash: h2, ...plain } = again.paper;
    assert.equal(h2, hash);
    assert.deepEqual(paper, plain, 'the sealed paper is the paper');

    // Once started, there is nothing to fetch sealed.
    const late = await c.request({ type: 'paper_fetch' });
    assert.equal(late.type, 'error', JSON.stringify(late));
    assert.equal(late.code, 'started');
  });

  test('the key differs per candidate, and another key does not open the paper', async () => {
    const a = await login(people[1]);
    const b = await login(people[2]);
    const sa = sealed((await fetchSealed(a)).binary);
    const sb = sealed((await fetchSealed(b)).binary);
    const pa = await a.request({ type: 'start', sealed_hash: sa.hash }, 15000);
    const pb = await b.request({ type: 'start', sealed_hash: sb.hash }, 15000);
    assert.notEqual(pa.paper.key, pb.paper.key);
    assert.throws(() => JSON.parse(open_(sa.body, pb.paper.key)), 'another key gives no paper');
  });

  test('a stale sealed copy gets the whole paper; a bad sealed_hash is refused naming it', async () => {
    const c = await login(people[3]);
    const p = await c.request({ type: 'start', sealed_hash: 'a'.repeat(64) }, 15000);
    assert.equal(p.type, 'paper');
    assert.equal(p.paper.key, undefined, 'no key for a paper the client does not hold');
    assert.ok(Array.isArray(p.paper.items), 'the paper itself');
    const bad = await c.request({ type: 'start', sealed_hash: 'XYZ' });
    assert.equal(bad.type, 'error');
    assert.equal(bad.code, 'bad_field');
    assert.equal(bad.field, 'sealed_hash');
  });

  test('before login there is no sealed paper', async () => {
    const c = await KcClient.connect(env.url);
    open.push(c);
    const r = await c.request({ type: 'paper_fetch' });
    assert.equal(r.type, 'error', JSON.stringify(r));
  });
});
