// Direct SQL on the server's database, for tests that must do what no message can: install
// a trigger, read what was committed, hold row locks, kill the server's connections. It runs
// the mysql client (MariaDB's, as tests/run-e2e.sh does) with the [db] section of KC_CONFIG,
// as the server's own database user.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The [db] section of a kaochang.conf (socket or host/port, user, password, database). */
export function dbConf(configPath) {
  const conf = { host: '127.0.0.1', port: '3306', socket: '', user: 'kaochang', password: '', database: 'kaochang' };
  let section = '';
  for (const raw of readFileSync(configPath, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = line.match(/^\[(.+)\]$/);
    if (sec) { section = sec[1].trim(); continue; }
    const kv = line.match(/^([^=]+?)\s*=\s*(.*)$/);
    if (section === 'db' && kv && kv[1] in conf) conf[kv[1]] = kv[2];
  }
  return conf;
}

function clientArgs(conf) {
  const where = conf.socket ? ['-S', conf.socket] : ['-h', conf.host, '-P', String(conf.port)];
  // --unbuffered: a held session's output arrives statement by statement.
  return ['--no-defaults', '--default-character-set=utf8mb4', '--unbuffered', '-N', '-B', ...where,
    '-u', conf.user, conf.database];
}
const clientEnv = (conf) => ({ ...process.env, MYSQL_PWD: conf.password });

/** Runs SQL (several statements, DELIMITER allowed) and resolves with its rows as arrays of
 * strings (tab-separated columns, "NULL" for NULL). force: go on after a failing statement. */
export function sql(conf, text, { force = false } = {}) {
  return new Promise((resolve, reject) => {
    const args = clientArgs(conf);
    if (force) args.splice(1, 0, '--force');    // after --no-defaults, which must come first
    const p = execFile('mysql', args, { env: clientEnv(conf), timeout: 30000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err && !force) {
          reject(new Error(`mysql: ${stderr.trim() || err.message}\n  in: ${text.slice(0, 300)}`));
          return;
        }
        resolve(stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t')));
      });
    p.stdin.end(text.endsWith('\n') ? text : `${text}\n`);
  });
}

/** A session of its own that runs START TRANSACTION and lockSql (e.g. SELECT … FOR UPDATE),
 * resolving once the locks are held; release() rolls back and ends it. */
export function holdLocks(conf, lockSql, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const p = spawn('mysql', clientArgs(conf), { env: clientEnv(conf), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '', held = false;
    const timer = setTimeout(() => { p.kill(); reject(new Error(`holdLocks: no lock after ${timeoutMs} ms: ${err}`)); }, timeoutMs);
    const ended = new Promise((r) => p.on('close', (code) => r(code)));
    p.stderr.on('data', (d) => { err += d; });
    p.stdout.on('data', (d) => {
      out += d;
      if (!held && out.includes('kc-locks-held')) {
        held = true;
        clearTimeout(timer);
        resolve({
          async release() {
            if (p.exitCode === null) p.stdin.end('ROLLBACK;\n');
            await ended;
          },
        });
      }
    });
    p.on('close', (code) => {
      if (!held) { clearTimeout(timer); reject(new Error(`holdLocks: mysql exited ${code}: ${err}`)); }
    });
    p.stdin.write(`START TRANSACTION;\n${lockSql.replace(/;\s*$/, '')};\nSELECT 'kc-locks-held';\n`);
  });
}

/** Kills every connection of the server's database user but the caller's own, and waits until
 * they are gone. Resolves with the ids killed. */
export async function killServerConnections(conf) {
  const ids = (await sql(conf,
    "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)" +
    ' AND ID <> CONNECTION_ID()')).map((r) => r[0]);
  // A connection may end by itself meanwhile; KILL of a gone id fails: --force.
  if (ids.length) await sql(conf, ids.map((id) => `KILL CONNECTION ${Number(id)};`).join('\n'), { force: true });
  const until = Date.now() + 10000;
  for (;;) {
    const left = (await sql(conf,
      `SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN (${ids.length ? ids.join(',') : 0})`))[0][0];
    if (left === '0') return ids;
    if (Date.now() > until) throw new Error(`connections ${ids.join(',')} still there after KILL`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
