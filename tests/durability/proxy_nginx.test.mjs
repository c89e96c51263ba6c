// Behind a real nginx (Debian's, installed by deploy/install-deps.sh --test): a node of the
// test's own with limits.proxies naming the address nginx connects from (proxy_bind
// 127.0.0.9), and nginx forwarding WebSockets and HTTP with X-Forwarded-For and X-Real-IP as
// its documentation shows. Clients reach nginx from 127.0.0.2… (any 127/8 address reaches
// the loopback). In this suite because it runs servers of its own.
//   - the server logs and throttles the client, not nginx: a failed login names the client's
//     address; five wrong ID numbers from one client hold that ticket back there, while the
//     same ticket from another client behind the same nginx logs in;
//   - connections per address count per client behind nginx;
//   - /metrics (limits.trusted) through nginx is answered for a trusted client only, and an
//     X-Forwarded-For the client forged itself gains nothing (nginx appends the real address);
//   - the same forged header sent straight to the node (not from a proxy) is ignored.
//
//   cd tests && KC_URL=… KC_BIN=… KC_CONFIG=… node --test durability/proxy_nginx.test.mjs
//   KC_NGINX: the nginx binary (default /usr/sbin/nginx)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KcClient, requireEnv, sessionWith, wsUrl } from '../lib/kc.mjs';
import WebSocket from 'ws';
import { KcNode, freePort, idNumberIn, kcCli, until, workDir } from '../lib/nodes.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const NGINX = process.env.KC_NGINX || '/usr/sbin/nginx';
const RUN = Date.now().toString(36);
const SESSION = `PX-${RUN}`;
const PROXY_FROM = '127.0.0.9';
const PER_ADDRESS = 3;
const people = Array.from({ length: 3 }, (_, i) => ({
  ticket: `PX${RUN}${i}`, idno: idNumberIn('970105', i), name: `代理考生${i + 1}`,
}));

/** GET path from localAddress with extra headers: {status, body}. */
function get(url, path, localAddress, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(path, url), { localAddress, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`GET ${path} from ${localAddress}: no answer`)));
  });
}

describe('behind nginx (limits.proxies)', () => {
  const work = workDir('kc-proxy-');
  let node, nginx, proxyUrl, nginxLog;
  const open = [];
  const connect = async (url, localAddress, headers) => {
    const c = await KcClient.connect(url, 10000, { localAddress, headers });
    open.push(c);
    return c;
  };

  before(async () => {
    assert.ok(existsSync(NGINX), `${NGINX} is missing: run deploy/install-deps.sh --test`);
    node = new KcNode(env, {
      name: `proxy-${RUN}`, port: await freePort(), dir: work.dir,
      limits: { proxies: PROXY_FROM, connections_per_address: PER_ADDRESS },
    });
    await sessionWith(kcCli(env), { code: SESSION, title: '代理测试', paper: 'TYPES-P', duration: '30m' }, people);
    await node.start();

    const port = await freePort();
    const dir = join(work.dir, 'nginx');
    mkdirSync(dir);
    nginxLog = join(dir, 'error.log');
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((k) => `  ${k}_temp_path ${join(dir, k)};`).join('\n');
    writeFileSync(join(dir, 'nginx.conf'), `
${process.getuid && process.getuid() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${nginxLog} info;
events { worker_connections 256; }
http {
  access_log off;
${temp}
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${node.port};
      proxy_bind ${PROXY_FROM};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;
    }
  }
}
`);
    nginx = spawn(NGINX, ['-p', dir, '-e', nginxLog, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'],
      { stdio: ['ignore', 'inherit', 'inherit'] });
    nginx.once('exit', (code, signal) => { nginx.exitedWith = { code, signal }; });
    proxyUrl = `http://127.0.0.1:${port}`;
    await until('nginx to pass /healthz through', async () => {
      if (nginx.exitedWith) throw new Error(`nginx exited: ${JSON.stringify(nginx.exitedWith)}; see ${nginxLog}`);
      try { return (await get(proxyUrl, '/healthz', '127.0.0.1')).status === 200; } catch { return false; }
    }, 15000, 100);
  });

  after(async () => {
    for (const c of open) c.ws.terminate();
    if (nginx && !nginx.exitedWith) {
      const gone = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGQUIT');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (!nginx.exitedWith) nginx.kill('SIGKILL');
    }
    if (node) await node.stop();
    work.remove();
  });

  test('a failed login names the client behind nginx, not nginx', async () => {
    const c = await connect(proxyUrl, '127.0.0.2');
    const r = await c.request({ type: 'login', ticket: people[2].ticket, id_number: '110101199001011237' });
    assert.equal(r.code, 'bad_credentials', JSON.stringify(r));
    const line = await until('the failure in the log', () =>
      node.log().split('\n').find((l) => l.includes(`ticket=${people[2].ticket}`) && l.includes('login failed')));
    assert.match(line, /peer=127\.0\.0\.2 /, line);
    assert.ok(!line.includes(PROXY_FROM), line);
  });

  test('five wrong ID numbers hold the ticket back for that client only', async () => {
    const who = people[0];
    const c = await connect(proxyUrl, '127.0.0.3');
    for (let i = 0; i < 5; i++) {
      const r = await c.request({ type: 'login', ticket: who.ticket, id_number: idNumberIn('970105', 900 + i) });
      assert.equal(r.code, 'bad_credentials', `guess ${i + 1}: ${JSON.stringify(r)}`);
    }
    const held = await c.request({ type: 'login', ticket: who.ticket, id_number: who.idno });
    assert.equal(held.code, 'throttled', `the right one from the guessing client: ${JSON.stringify(held)}`);
    const other = await connect(proxyUrl, '127.0.0.4');
    const ok = await other.request({ type: 'login', ticket: who.ticket, id_number: who.idno });
    assert.equal(ok.type, 'welcome', `another client behind the same nginx: ${JSON.stringify(ok)}`);
  });

  test('connections per address count per client behind nginx', async () => {
    const socks = [];
    for (let i = 0; i < PER_ADDRESS; i++) socks.push(await connect(proxyUrl, '127.0.0.5'));
    for (const s of socks) assert.equal((await s.request({ type: 'time' })).type, 'time');
    const refused = await new Promise((resolve) => {
      const ws = new WebSocket(wsUrl(proxyUrl), 'kaochang.v1', { localAddress: '127.0.0.5' });
      ws.on('close', () => resolve(true));
      ws.on('error', () => resolve(true));
      ws.on('open', () => ws.once('message', () => resolve(false)) && ws.send('{"type":"time"}'));
      setTimeout(() => resolve('timeout'), 5000);
    });
    assert.equal(refused, true, `connection ${PER_ADDRESS + 1} from one client is refused`);
    const other = await connect(proxyUrl, '127.0.0.6');
    assert.equal((await other.request({ type: 'time' })).type, 'time', 'another client behind nginx still connects');
    const line = node.log().split('\n').find((l) => l.includes('limits.connections_per_address'));
    assert.match(line || '', /peer=127\.0\.0\.5:/, line);
  });

  test('/metrics through nginx: a trusted client only, whatever it forges', async () => {
    assert.equal((await get(proxyUrl, '/metrics', '127.0.0.1')).status, 200, '127.0.0.1 (limits.trusted) behind nginx');
    assert.equal((await get(proxyUrl, '/metrics', '127.0.0.7')).status, 403, 'an untrusted client behind nginx');
    const forged = await get(proxyUrl, '/metrics', '127.0.0.7', { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1' });
    assert.equal(forged.status, 403, `a forged X-Forwarded-For through nginx: ${forged.body}`);
    assert.equal((await get(proxyUrl, '/healthz', '127.0.0.7')).status, 200, '/healthz is for anyone');
  });

  test('headers from a peer that is not a proxy are ignored', async () => {
    const r = await get(node.url, '/metrics', '127.0.0.7', { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1' });
    assert.equal(r.status, 403, 'straight to the node, the forged header counts for nothing');
    const c = await connect(node.url, '127.0.0.8', { 'X-Forwarded-For': '203.0.113.5' });
    const bad = await c.request({ type: 'login', ticket: people[1].ticket, id_number: '110101199001011237' });
    assert.equal(bad.code, 'bad_credentials');
    const line = await until('the failure in the log', () =>
      node.log().split('\n').find((l) => l.includes(`ticket=${people[1].ticket}`) && l.includes('login failed')));
    assert.match(line, /peer=127\.0\.0\.8 /, line);
  });
});
