// GET /healthz and GET /metrics (docs/PROTOCOL.md): /healthz says only whether the node takes
// work, to anyone; the counters are on /metrics, answered only for limits.trusted addresses
// (127.0.0.1 and ::1 by default). The test connects from 127.0.0.1 and, with a local address
// of 127.0.0.2 (any 127/8 address reaches the loopback), from an address that is not trusted.
//
//   cd tests && KC_URL=http://127.0.0.1:PORT node --test integration/metrics.test.mjs
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { requireEnv } from '../lib/kc.mjs';

const env = requireEnv('KC_URL');

/** GET path from localAddress: {status, headers, body}. */
function get(path, localAddress) {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(path, env.url), { localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`GET ${path} from ${localAddress}: no answer`)));
  });
}

test('/healthz is minimal, for anyone', async () => {
  for (const from of ['127.0.0.1', '127.0.0.2']) {
    const r = await get('/healthz', from);
    assert.equal(r.status, 200, `from ${from}: ${r.body}`);
    assert.match(r.headers['content-type'] || '', /json/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(JSON.parse(r.body), { ok: true }, `nothing internal from ${from}`);
  }
});

test('/metrics answers a trusted address with the counters', async () => {
  const r = await get('/metrics', '127.0.0.1');
  assert.equal(r.status, 200, r.body);
  assert.match(r.headers['content-type'] || '', /json/);
  assert.equal(r.headers['cache-control'], 'no-store');
  const m = JSON.parse(r.body);
  assert.equal(m.ok, true);
  for (const k of ['server_time', 'db_workers', 'db_connected', 'connections', 'lives', 'queued',
    'answers_committed', 'answers_round_trips', 'uploading', 'heavy_running', 'events_dropped']) {
    assert.ok(Number.isInteger(m[k]) && m[k] >= 0, `${k}: ${m[k]}`);
  }
  assert.ok(Math.abs(m.server_time - Date.now()) < 60000, 'server_time is the server clock');
  assert.deepEqual(Object.keys(m.pools), ['answers', 'exam', 'sweep', 'staff', 'media']);
  for (const [name, p] of Object.entries(m.pools)) {
    for (const k of ['workers', 'queued', 'running', 'bound', 'done']) assert.ok(Number.isInteger(p[k]), `${name}.${k}`);
    assert.ok(p.workers >= 1 && p.bound >= 1, `${name}: ${JSON.stringify(p)}`);
  }
  assert.equal(m.db_workers, Object.values(m.pools).reduce((s, p) => s + p.workers, 0), 'db_workers sums the pools');
  assert.ok(m.db_connected >= 1 && m.db_connected <= m.db_workers);
  for (const k of ['checks', 'allowed', 'failures', 'conn_refused', 'capacity', 'addresses']) {
    assert.ok(Number.isInteger(m.throttle[k]), `throttle.${k}`);
  }
  assert.ok(m.throttle.capacity >= 1024, 'the throttle tables have their size');
  for (const k of ['requests', 'hits', 'reads', 'coalesced', 'waited', 'busy', 'not_found', 'failed',
    'reading', 'reads_max', 'waiting']) {
    assert.ok(Number.isInteger(m.media[k]) && m.media[k] >= 0, `media.${k}`);
  }
  assert.equal(m.media.cache.max_bytes, 64 * 1024 * 1024, 'server.media_cache_mb defaults to 64');
  for (const k of ['bytes', 'entries', 'hits', 'misses', 'inserts', 'evictions', 'too_large']) {
    assert.ok(Number.isInteger(m.media.cache[k]), `media.cache.${k}`);
  }
  assert.ok(m.media.cache.bytes <= m.media.cache.max_bytes);
});

test('/metrics?format=prometheus: the same numbers in the Prometheus text format', async () => {
  const r = await get('/metrics?format=prometheus', '127.0.0.1');
  assert.equal(r.status, 200, r.body);
  assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const lines = r.body.trimEnd().split('\n');
  for (const l of lines) assert.match(l, /^kaochang_[a-z_]+(\{pool="[a-z]+"\})? -?\d+$/, l);
  const val = (name) => {
    const l = lines.find((x) => x.startsWith(`${name} `));
    assert.ok(l, `${name} in ${r.body.slice(0, 300)}`);
    return Number(l.split(' ')[1]);
  };
  assert.equal(val('kaochang_ok'), 1);
  assert.equal(val('kaochang_media_cache_max_bytes'), 64 * 1024 * 1024);
  assert.ok(val('kaochang_pool_workers{pool="answers"}') >= 1);
  assert.ok(val('kaochang_pool_bound{pool="media"}') >= 1);
  assert.ok(Number.isInteger(val('kaochang_throttle_capacity')));
  const j = JSON.parse((await get('/metrics', '127.0.0.1')).body);
  assert.equal(val('kaochang_db_workers'), j.db_workers, 'the JSON and the text agree');
  assert.equal((await get('/metrics?format=xml', '127.0.0.1')).status, 400, 'an unknown format is named');
  assert.equal((await get('/metrics?format=prometheus', '127.0.0.2')).status, 403);
});

test('/metrics refuses an address that is not trusted, and says nothing else', async () => {
  const r = await get('/metrics', '127.0.0.2');
  assert.equal(r.status, 403, r.body);
  const e = JSON.parse(r.body);
  assert.equal(e.type, 'error');
  assert.equal(e.code, 'forbidden');
  assert.match(e.message, /limits\.trusted/);
  assert.doesNotMatch(r.body, /pools|answers|media|throttle/, 'no counter leaks into the refusal');
  // and the trusted address still gets them right after
  assert.equal((await get('/metrics', '127.0.0.1')).status, 200);
});

test('an unknown path under the HTTP endpoints is 404', async () => {
  assert.equal((await get('/metrics/x', '127.0.0.1')).status, 404);
  assert.equal((await get('/api/nothing', '127.0.0.1')).status, 404);
});
