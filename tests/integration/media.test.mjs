// Item images over HTTP (docs/PROTOCOL.md, media URLs): tests/fixtures/media.csv has a
// single-choice item MI-01 with a data: image in its stem and another in option B, and a
// case study MC-01 whose sub-item has an image of its own; media-moodle.xml has MX-01 with
// an image and a text attachment (<file>); media-qti.zip has MQ-01 with a package image.
// tests/run-e2e.sh puts the four on paper MEDIA-P, session MEDIA (candidates-media.csv)
// and creates the staff account author1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { KcClient, candidates, requireEnv } from '../lib/kc.mjs';
import { dbConf, holdLocks } from '../lib/db.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const [cand] = candidates(env.fixtures, 'candidates-media.csv');

// The images of the fixture, decoded from its data: URLs, in the order they appear.
const fixture = readFileSync(join(env.fixtures, 'media.csv'), 'utf8');
const pngs = [...fixture.matchAll(/data:image\/png;base64,([A-Za-z0-9+/=]+)/g)].map((m) => Buffer.from(m[1], 'base64'));
const [RED, GREEN, BLUE] = pngs;
const moodle = readFileSync(join(env.fixtures, 'media-moodle.xml'), 'utf8');
const moodleFile = (name) => Buffer.from(moodle.match(new RegExp(`<file name="${name}"[^>]*>([^<]+)<`))[1], 'base64');
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

const open = [];
after(() => { for (const c of open) c.ws.terminate(); });

// The signed URLs in a piece of sanitized HTML (attribute values are HTML-escaped).
function urls(html) {
  return [...html.matchAll(/(?:src|href)="(\/media\/[^"]+)"/g)].map((m) => m[1].replaceAll('&amp;', '&'));
}
function parts(u) {
  const url = new URL(u, env.url);
  return { sha: url.pathname.slice(7), e: url.searchParams.get('e'), s: url.searchParams.get('s') };
}
const get = (path) => fetch(new URL(path, env.url));

describe('media', () => {
  let paper, stemUrl;
  test('the candidate paper carries signed URLs for the stem, the options and sub-items', async () => {
    assert.equal(pngs.length, 3, 'the fixture has three images');
    const c = await KcClient.connect(env.url);
    open.push(c);
    const w = await c.request({ type: 'login', ticket: cand.ticket, id_number: cand.idno });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    const p = await c.request({ type: 'start' });
    const closes = w.session.closes_at;
    assert.equal(p.type, 'paper', JSON.stringify(p).slice(0, 300));
    paper = p;
    const [mi, mc, mx, mq] = p.paper.items;
    assert.equal(p.paper.items.length, 4);
    assert.doesNotMatch(JSON.stringify(p), /media:/, 'no media: reference reaches the candidate');
    const su = urls(mi.stem);
    assert.equal(su.length, 1, mi.stem);
    stemUrl = su[0];
    const { e, s } = parts(stemUrl);
    assert.match(s, /^[0-9a-f]{64}$/);
    // Signed when the paper was rendered (the session was prepared), to outlive every
    // deadline: an hour after the session closes (run-e2e.sh moved the close after
    // rendering, so this also says serve rendered the paper again).
    const exp = Number(e);
    assert.equal(exp, closes + 3600 * 1000, `expires an hour after the session closes: ${exp} vs ${closes}`);
    assert.ok(exp > p.attempt.deadline, 'after the deadline');
    assert.match(mi.stem, /alt="色块"/);
    assert.equal(urls(mi.options[0].text).length, 0, 'a text option stays as it is');
    assert.equal(urls(mi.options[1].text).length, 1, mi.options[1].text);
    assert.equal(mc.children.length, 1);
    assert.equal(urls(mc.children[0].stem).length, 1, mc.children[0].stem);
    assert.equal(urls(mx.stem).length, 2, `Moodle image and attachment: ${mx.stem}`);
    assert.match(mx.stem, /<a href="\/media\//);
    assert.equal(urls(mq.stem).length, 1, `QTI package image: ${mq.stem}`);
  });

  test('GET of a signed URL returns the image with its headers', async () => {
    const r = await get(stemUrl);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    // immutable bytes behind a link that ends at e: cached no longer than the link lives
    const cc = r.headers.get('cache-control');
    const m = cc.match(/^private, max-age=(\d+), immutable$/);
    assert.ok(m, cc);
    const left = (Number(parts(stemUrl).e) - Date.now()) / 1000;
    assert.ok(Number(m[1]) <= left && Number(m[1]) >= left - 10, `max-age ${m[1]} vs ${left} s left`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('content-disposition'), null, 'an image is shown inline');
    assert.match(r.headers.get('content-security-policy') || '', /img-src 'self'/);
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(Number(r.headers.get('content-length')), body.length);
    assert.ok(body.equals(RED), 'the bytes of the stem image');
    const [mi, mc] = paper.paper.items;
    const opt = Buffer.from(await (await get(urls(mi.options[1].text)[0])).arrayBuffer());
    assert.ok(opt.equals(GREEN), 'the bytes of the option image');
    const sub = Buffer.from(await (await get(urls(mc.children[0].stem)[0])).arrayBuffer());
    assert.ok(sub.equals(BLUE), 'the sub-item image is stored for the sub-item');
  });

  test('Moodle and QTI media: an image inline, an attachment only as a download', async () => {
    const [, , mx, mq] = paper.paper.items;
    const [img, doc] = urls(mx.stem);
    const ri = await get(img);
    assert.equal(ri.status, 200);
    assert.equal(ri.headers.get('content-type'), 'image/png');
    assert.ok(Buffer.from(await ri.arrayBuffer()).equals(moodleFile('yellow.png')));
    const rd = await get(doc);
    assert.equal(rd.status, 200);
    assert.equal(rd.headers.get('content-disposition'), 'attachment', 'not an image: downloaded, never shown');
    assert.equal(rd.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(Buffer.from(await rd.arrayBuffer()).equals(moodleFile('notes.txt')));
    const q = urls(mq.stem)[0];
    const rq = await get(q);
    assert.equal(rq.status, 200);
    assert.equal(rq.headers.get('content-type'), 'image/png');
    assert.equal(sha256(Buffer.from(await rq.arrayBuffer())), parts(q).sha, 'the bytes hash to the sha of the URL');
  });

  test('a tampered, expired or unsigned URL is refused; an unknown sha is 404', async () => {
    const { sha, e, s } = parts(stemUrl);
    const flip = (x) => x.slice(0, -1) + (x.at(-1) === '0' ? '1' : '0');
    assert.equal((await get(`/media/${sha}?e=${e}&s=${flip(s)}`)).status, 403, 'signature changed');
    assert.equal((await get(`/media/${sha}?e=${Number(e) + 1}&s=${s}`)).status, 403, 'expiry changed');
    assert.equal((await get(`/media/${flip(sha)}?e=${e}&s=${s}`)).status, 403, 'sha changed');
    assert.equal((await get(`/media/${sha}`)).status, 403, 'no signature');
    assert.equal((await get(`/media/${sha}?e=${e}&s=${s.toUpperCase()}`)).status, 403, 'upper-case signature');
    // Links the server signed itself (kaochang media url) for an unknown sha and for a past expiry.
    const unknown = 'ab'.repeat(32);
    const r404 = await get(await signed(unknown, Date.now() + 60000));
    assert.equal(r404.status, 404);
    assert.equal(r404.headers.get('cache-control'), 'no-store');
    assert.equal((await get(await signed(sha, Date.now() - 1000))).status, 403, 'expired');
  });

  test('staff bank_item carries signed URLs and the media list', async () => {
    const c = await KcClient.connect(env.url);
    open.push(c);
    const w = await c.request({ type: 'staff_login', login: 'author1', password: 'author-password-1' });
    assert.equal(w.type, 'staff_welcome', JSON.stringify(w));
    const m = await c.request({ type: 'bank_item', uid: 'MI-01' });
    assert.equal(m.type, 'bank_item', JSON.stringify(m).slice(0, 300));
    const it = m.item;
    const su = urls(it.stem);
    assert.equal(su.length, 1, it.stem);
    const exp = Number(parts(su[0]).e);
    assert.ok(exp > Date.now() + 11 * 3600 * 1000 && exp <= Date.now() + 12 * 3600 * 1000 + 1000, 'staff links live 12 h');
    assert.equal(it.media.length, 2);
    for (const md of it.media) {
      assert.equal(md.mime, 'image/png');
      assert.match(md.sha256, /^[0-9a-f]{64}$/);
      assert.ok(it.stem.includes(md.url.replaceAll('&', '&amp;')) ||
        it.options.some((o) => o.includes(md.url.replaceAll('&', '&amp;'))), `${md.name} is used`);
    }
    const r = await get(su[0]);
    assert.equal(r.status, 200);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(RED));
    const k = await c.request({ type: 'bank_item', uid: 'MC-01' });
    assert.equal(k.item.children.length, 1);
    assert.equal(urls(k.item.children[0].stem).length, 1);
    assert.equal(k.item.children[0].media.length, 1);
  });
});

// Editing an item with images (bank_store_edit): the editor sends media:NAME back without
// the bytes; the images stay with the item and its new version. Its own copy of media.csv
// (approved, so the first edit makes a new version and the next one edits that draft).
describe('editing an item with images', () => {
  const RUN = Date.now().toString(36);
  const [S, C] = [`ME-${RUN}`, `MEC-${RUN}`];
  // bank_item's shape into bank_save's, with signed links turned back into media:NAME as
  // the author editor does (author.js unsignMedia).
  const editable = (it) => {
    const back = (h) => {
      if (typeof h !== 'string') return h;
      for (const md of it.media || []) h = h.split(md.url.replaceAll('&', '&amp;')).join(`media:${md.name}`);
      return h;
    };
    const o = {};
    for (const k of ['uid', 'type', 'stem', 'options', 'answer', 'mc_policy', 'pin_options', 'points',
      'difficulty', 'point', 'explanation', 'source', 'occupation', 'level', 'author', 'tags']) {
      if (it[k] !== null && it[k] !== undefined) o[k] = it[k];
    }
    for (const k of ['stem', 'explanation', 'answer']) if (o[k] !== undefined) o[k] = back(o[k]);
    if (Array.isArray(o.options)) o.options = o.options.map(back);
    if (it.children && it.children.length) o.children = it.children.map(editable);
    return o;
  };
  let a;
  const item = async (uid) => {
    const m = await a.request({ type: 'bank_item', uid });
    assert.equal(m.type, 'bank_item', JSON.stringify(m).slice(0, 300));
    return m.item;
  };
  const save = async (it) => {
    const s = await a.request({ type: 'bank_save', item: it });
    assert.equal(s.type, 'bank_saved', JSON.stringify(s));
    return s;
  };
  // The item's images as the staff view signs them: each link fetches the fixture's bytes.
  const showsImages = async (it, want) => {
    const got = [];
    for (const u of [it.stem, ...(it.options || [])].flatMap(urls)) {
      const r = await get(u);
      assert.equal(r.status, 200, u);
      got.push(Buffer.from(await r.arrayBuffer()));
    }
    assert.equal(got.length, want.length, it.stem);
    want.forEach((b, i) => assert.ok(got[i].equals(b), `image ${i + 1}`));
    assert.equal(it.media.length, want.length);
  };

  test('setup: a copy of media.csv and the author', async () => {
    const rows = fixture.trimEnd().split('\n').map((l) => l
      .replace(/^MI-01,(.*?)图中色块/, `${S},$1${RUN} 图中色块`)
      .replace(/^MC-01-1,(.*),MC-01,/, `${C}-1,$1,${C},`)
      .replace(/^MC-01,(.*?)阅读下图/, `${C},$1${RUN} 阅读下图`));
    const file = join(tmpdir(), `media-edit-${RUN}.csv`);
    writeFileSync(file, `${rows.join('\n')}\n`);
    try {
      await promisify(execFile)(env.bin, ['--config', env.config, 'bank', 'import', '--format', 'csv',
        '--status', 'approved', '--by', 'e2e', file], { timeout: 30000 });
    } finally {
      unlinkSync(file);
    }
    const c = await KcClient.connect(env.url);
    open.push(c);
    const w = await c.request({ type: 'staff_login', login: 'author1', password: 'author-password-1' });
    assert.equal(w.type, 'staff_welcome', JSON.stringify(w));
    a = c;
  });

  test('saved back unchanged, an item with images is unchanged', async () => {
    for (const uid of [S, C]) {
      const it = await item(uid);
      assert.doesNotMatch(JSON.stringify(editable(it)), /\/media\//, 'every signed link is turned back');
      const s = await save(editable(it));
      assert.equal(s.outcome, 'unchanged', `${uid}: ${JSON.stringify(editable(it)).slice(0, 400)}`);
      assert.equal(s.version, 1);
    }
  });

  test('a new version and then an in-place edit keep the images', async () => {
    let it = await item(S);
    let s = await save({ ...editable(it), stem: editable(it).stem.replace('颜色', '填充颜色') });
    assert.equal(s.outcome, 'new_version');
    assert.equal(s.version, 2);
    it = await item(S);
    assert.match(it.stem, /填充颜色/);
    await showsImages(it, [RED, GREEN]);
    s = await save({ ...editable(it), explanation: `修订 ${RUN}` });
    assert.equal(s.outcome, 'updated', 'version 2 is an undelivered draft');
    it = await item(S);
    assert.equal(it.explanation, `修订 ${RUN}`);
    await showsImages(it, [RED, GREEN]);
    assert.equal((await save(editable(it))).outcome, 'unchanged', 'the edited version saved back unchanged');

    let k = await item(C);
    const e = editable(k);
    e.children[0].stem = e.children[0].stem.replace('蓝色方块', '一个蓝色方块');
    s = await save(e);
    assert.equal(s.outcome, 'new_version');
    k = await item(C);
    assert.match(k.children[0].stem, /一个蓝色方块/);
    await showsImages(k.children[0], [BLUE]);
  });

  test('an image pasted into the edit (data:) is added next to the stored ones', async () => {
    const it = await item(C);
    const e = editable(it);
    e.children[0].stem += `<img src="data:image/png;base64,${RED.toString('base64')}" alt="红">`;
    const s = await save(e);
    assert.equal(s.outcome, 'updated', 'version 2 of the composite is an undelivered draft');
    await showsImages((await item(C)).children[0], [BLUE, RED]);
  });

  test('a media:NAME the item does not have is refused and nothing is saved', async () => {
    const it = await item(S);
    const bad = editable(it);
    bad.stem += '<img src="media:bogus.png" alt="无">';
    const m = await a.request({ type: 'bank_save', item: bad });
    assert.equal(m.type, 'error', JSON.stringify(m));
    assert.equal(m.code, 'invalid');
    assert.deepEqual(m.diag, ['item: 题干: image media:bogus.png is not part of this item']);
    const after = await item(S);
    assert.equal(editable(after).stem, editable(it).stem, 'the refused stem was not saved');
    assert.equal(after.version, 2);
    await showsImages(after, [RED, GREEN]);
  });

  // A CSV row of the item as an export edited by hand keeps it: media:NAME, no bytes.
  const cell = (v) => `"${String(v ?? '').replaceAll('"', '""')}"`;
  const importRow = async (e, tag) => {
    const o = e.options || [];
    const file = join(tmpdir(), `media-reimport-${RUN}-${tag}.csv`);
    writeFileSync(file, '试题编号,题型,题干,选项A,选项B,选项C,选项D,答案,分值\n' +
      [e.uid, '单选题', e.stem, o[0], o[1], o[2], o[3], e.answer, e.points].map(cell).join(',') + '\n');
    try {
      return await promisify(execFile)(env.bin, ['--config', env.config, 'bank', 'import', '--format', 'csv',
        '--by', 'e2e', file], { timeout: 30000 });
    } finally {
      unlinkSync(file);
    }
  };

  test('an import that keeps media:NAME without the bytes takes the stored images', async () => {
    const it = await item(S);
    const e = editable(it);
    assert.match(e.stem, /media:/);
    const r = await importRow({ ...e, stem: e.stem.replace('填充颜色', '填充的颜色') }, 'ok');
    assert.match(r.stdout, /0 new, 1 new versions, 0 unchanged/, r.stdout);
    const back = await item(S);
    assert.equal(back.version, it.version + 1);
    assert.match(back.stem, /填充的颜色/);
    await showsImages(back, [RED, GREEN]);
  });

  test('an import naming a media:NAME the stored item does not have is refused', async () => {
    const it = await item(S);
    const e = editable(it);
    await assert.rejects(importRow({ ...e, stem: `${e.stem}<img src="media:bogus.png">` }, 'bad'), (err) => {
      assert.match(err.stderr, /media-reimport-[^:]*-bad\.csv:2: 题干: image media:bogus\.png is not part of this item/, err.stderr);
      return true;
    });
    const after = await item(S);
    assert.equal(after.version, it.version, 'nothing was imported');
  });
});

// A URL signed by the server's own key, through the CLI (kaochang media url).
async function signed(sha, expires) {
  return (await signedAll([sha], expires))[0];
}
async function signedAll(shas, expires = Date.now() + 3600 * 1000) {
  const { stdout } = await promisify(execFile)(env.bin, ['--config', env.config, 'media', 'url', ...shas,
    '--expires', String(expires)]);
  const out = stdout.trim().split('\n');
  assert.equal(out.length, shas.length, stdout);
  return out;
}

const metricsOf = async (base) => {
  const r = await fetch(new URL('/metrics', base));
  assert.equal(r.status, 200);
  return r.json();
};
async function until(what, pred, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the media cache on the e2e server', () => {
  test('the second request of an image is a hit: no read', async () => {
    const [url] = await signedAll([sha256(GREEN)]);
    assert.equal((await get(url)).status, 200);
    const m1 = await metricsOf(env.url);
    const r = await get(url);
    assert.equal(r.status, 200);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(GREEN));
    const m2 = await metricsOf(env.url);
    assert.equal(m2.media.hits, m1.media.hits + 1, 'answered from the cache');
    assert.equal(m2.media.cache.hits, m1.media.cache.hits + 1);
    assert.equal(m2.media.reads, m1.media.reads, 'no read on a media worker');
    assert.equal(m2.pools.media.done, m1.pools.media.done, 'no media job');
    assert.ok(m2.media.cache.entries >= 1 && m2.media.cache.bytes > GREEN.length);
  });
});

// A server of its own on the same database (so the same signing key) with one media
// worker, a media queue of 1 (two reads at most: one running, one queued) and room for 8
// waiting requests. With the media table locked by the test (LOCK TABLES … WRITE), reads
// stall and the line of waiting requests fills exactly as the test says.
describe('a burst of image requests beyond the media pool (a server of its own)', () => {
  const WAIT = 8;
  const db = dbConf(env.config);
  let srv, lock;
  const YELLOW = moodleFile('yellow.png'), NOTES = moodleFile('notes.txt');
  const unknown = (n) => createHash('sha256').update(`no such media ${n} ${Date.now()}`).digest('hex');
  const U = [1, 2, 3, 4, 5, 6, 7].map(unknown);
  const link = {};

  async function freePort() {
    return new Promise((resolve, reject) => {
      const s = net.createServer();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    });
  }
  async function startServer(sets) {
    const port = await freePort();
    const args = ['--config', env.config, ...sets.flatMap((kv) => ['--set', kv]), '--set', `server.port=${port}`, 'serve'];
    const proc = spawn(env.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout.on('data', (d) => { log += d; });
    proc.stderr.on('data', (d) => { log += d; });
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    const url = `http://127.0.0.1:${port}`;
    let gone = false;
    exited.then(() => { gone = true; });
    await until('the second server to answer /healthz', async () => {
      if (gone) throw new Error(`the second server exited: ${log}`);
      try { return (await fetch(`${url}/healthz`)).status === 200; } catch { return false; }
    }, 30000);
    return { url, proc, exited, log: () => log };
  }
  const at = (u) => new URL(u, srv.url);
  const fire = (u, signal) => fetch(at(u), { signal })
    .then(async (r) => ({ status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) }));

  before(async () => {
    srv = await startServer(['pools.media_workers=1', 'pools.media_queue=1', `pools.media_wait=${WAIT}`]);
    const named = { RED, GREEN, BLUE, YELLOW, NOTES };
    const shas = [...Object.values(named).map(sha256), ...U];
    const urls = await signedAll(shas);
    Object.keys(named).forEach((k, i) => { link[k] = urls[i]; });
    U.forEach((_, i) => { link[`U${i + 1}`] = urls[5 + i]; });
  });
  after(async () => {
    if (lock) await lock.release();
    if (srv && srv.proc.exitCode === null) { srv.proc.kill('SIGTERM'); await srv.exited; }
  });

  test('a cold cache: the first request reads, the second is a hit', async () => {
    const m0 = await metricsOf(srv.url);
    assert.equal(m0.media.reads_max, 2, 'one worker and a queue of one');
    assert.equal(m0.media.cache.entries, 0);
    const a = await fire(link.RED);
    assert.equal(a.status, 200);
    assert.ok(a.body.equals(RED));
    const m1 = await metricsOf(srv.url);
    assert.equal(m1.media.reads, 1);
    assert.equal(m1.media.hits, 0);
    assert.equal(m1.media.cache.entries, 1);
    assert.equal(m1.media.cache.inserts, 1);
    const b = await fire(link.RED);
    assert.equal(b.status, 200);
    assert.ok(b.body.equals(RED));
    const m2 = await metricsOf(srv.url);
    assert.equal(m2.media.reads, 1, 'the second request did not read');
    assert.equal(m2.media.hits, 1);
    assert.equal(m2.pools.media.done, 1, 'one media job in all');
  });

  test('stalled reads: same-image requests share a read, the rest wait in order, past the line 503 with Retry-After', { timeout: 60000 }, async () => {
    const m0 = await metricsOf(srv.url);
    lock = await holdLocks(db, 'LOCK TABLES media WRITE');
    const pending = [];
    const send = async (name, want) => {
      const before = (await metricsOf(srv.url)).media.requests;
      const ctl = new AbortController();
      pending.push({ name, ctl, p: fire(link[name], ctl.signal).catch((e) => ({ error: e })) });
      return until(`${name} to arrive`, async () => {
        const m = await metricsOf(srv.url);
        return m.media.requests === before + 1 && (!want || want(m)) && m;
      });
    };
    // three requests of GREEN: one read (stalled on the lock), two join it
    await send('GREEN', (x) => x.media.reading === 1 && x.pools.media.running === 1);
    await send('GREEN');
    let m = await send('GREEN');
    assert.equal(m.media.coalesced - m0.media.coalesced, 2, 'the same image shares one read');
    assert.equal(m.media.reads - m0.media.reads, 1);
    // BLUE: the second read, queued on the media pool behind the stalled one
    m = await send('BLUE', (x) => x.media.reading === 2);
    assert.equal(m.pools.media.queued, 1);
    // the pool is full: eight more wait on the service thread (YELLOW twice: no read is under way for it)
    const line = ['YELLOW', 'NOTES', 'U1', 'U2', 'U3', 'U4', 'U5', 'YELLOW'];
    for (let i = 0; i < line.length; i++) {
      m = await send(line[i], (x) => x.media.waiting === i + 1);
    }
    assert.equal(m.media.waited - m0.media.waited, WAIT);
    assert.equal(m.media.reads - m0.media.reads, 2, 'nothing more read');
    // GREEN again joins its read under way even with others waiting
    m = await send('GREEN');
    assert.equal(m.media.coalesced - m0.media.coalesced, 3);
    assert.equal(m.media.waiting, WAIT);
    // the line is full: 503 at once, with Retry-After
    const busy = await fire(link.U6);
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.equal(JSON.parse(busy.body.toString()).code, 'busy');
    m = await metricsOf(srv.url);
    assert.equal(m.media.busy - m0.media.busy, 1);
    // a client that gives up leaves the line (U3) or its read (a GREEN), and makes room
    const drop = (name) => {
      const k = pending.findIndex((x) => x.name === name);
      pending[k].ctl.abort();
      return pending.splice(k, 1)[0].p;
    };
    await drop('U3');
    await drop('GREEN');
    await until('the one who left to leave the line', async () => (await metricsOf(srv.url)).media.waiting === WAIT - 1);
    m = await send('U6', (x) => x.media.waiting === WAIT);
    assert.equal(m.media.waited - m0.media.waited, WAIT + 1);
    // the reads go on: every waiting request gets its answer, none 503
    await lock.release();
    lock = null;
    const done = await Promise.all(pending.map(async ({ name, p }) => ({ name, ...(await p) })));
    const want = { GREEN, BLUE, YELLOW, NOTES };
    for (const r of done) {
      assert.equal(r.error, undefined, `${r.name}: ${r.error}`);
      if (want[r.name]) {
        assert.equal(r.status, 200, `${r.name}: ${r.status} ${r.body.toString().slice(0, 200)}`);
        assert.ok(r.body.equals(want[r.name]), `${r.name}: its bytes`);
        assert.match(r.headers.get('cache-control'), /^private, max-age=\d+, immutable$/);
      } else {
        assert.equal(r.status, 404, `${r.name}: ${r.status}`);
      }
    }
    assert.equal(done.filter((r) => r.name === 'GREEN').length, 3);
    assert.deepEqual(done.filter((r) => r.status === 404).map((r) => r.name), ['U1', 'U2', 'U4', 'U5', 'U6']);
    assert.equal(done.find((r) => r.name === 'NOTES').headers.get('content-disposition'), 'attachment');
    m = await until('the line to empty', async () => {
      const x = await metricsOf(srv.url);
      return x.media.waiting === 0 && x.media.reading === 0 && x;
    });
    // GREEN, BLUE, then one read each for YELLOW, NOTES, U1, U2, U4, U5, U6 (U3 left before
    // its turn): the second YELLOW found the first one's read or the cache
    assert.equal(m.media.reads - m0.media.reads, 9);
    assert.equal(m.media.not_found - m0.media.not_found, 5);
    assert.equal(m.media.busy - m0.media.busy, 1);
    assert.equal(m.pools.media.done - m0.pools.media.done, 9, 'one media job per read');
    assert.equal(m.media.cache.entries, 5, 'RED, GREEN, BLUE, YELLOW, NOTES');
  });

  test('stopping: /healthz says so, new requests are busy, the read under way is still answered', { timeout: 60000 }, async () => {
    lock = await holdLocks(db, 'LOCK TABLES media WRITE');
    const before = (await metricsOf(srv.url)).media.requests;
    const stalled = fire(link.U7);
    await until('U7 to be read', async () => {
      const m = await metricsOf(srv.url);
      return m.media.requests === before + 1 && m.media.reading === 1;
    });
    srv.proc.kill('SIGTERM');
    // the worker cannot end while its read waits for the lock: the server is stopping
    const h = await until('/healthz to say stopping', async () => {
      const r = await fetch(`${srv.url}/healthz`);
      return r.status === 503 && r;
    });
    assert.deepEqual(await h.json(), { ok: false, reason: 'stopping' });
    const m = await metricsOf(srv.url);
    assert.equal(m.ok, false);
    const busy = await fire(link.RED);
    assert.equal(busy.status, 503, 'no new work while stopping, cached or not');
    assert.equal(busy.headers.get('retry-after'), '1');
    await lock.release();
    lock = null;
    assert.equal((await stalled).status, 404, 'the read under way is answered');
    const { code } = await srv.exited;
    assert.equal(code, 0, srv.log().slice(-2000));
    assert.doesNotMatch(srv.log(), /Sanitizer|runtime error:/, 'no sanitizer report');
    assert.match(srv.log(), /stopped/);
  });
});
