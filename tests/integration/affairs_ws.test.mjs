// Exam affairs (考务) over a raw WebSocket (docs/PROTOCOL.md, staff messages): templates and
// session papers, against a server that tests/run-e2e.sh prepared: affairs1 (affairs),
// supervisor1 (supervisor), author1 (author); templates ASM-BP, ASM-TYPE, ASM-BAD; session
// ASM (prepared), ASM-NP (cannot be prepared) and AFF-WS (2 candidates, not prepared).
//
//   cd tests && KC_URL=http://127.0.0.1:PORT KC_FIXTURES=fixtures node --test integration/affairs_ws.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { KcClient, requireEnv } from '../lib/kc.mjs';

const env = requireEnv('KC_URL');
const AFFAIRS = { login: 'affairs1', password: 'affairs-password-1' };
const SUPERVISOR = { login: 'supervisor1', password: 'supervisor-password-1' };
const AUTHOR = { login: 'author1', password: 'author-password-1' };
const RUN = Date.now().toString(36).toUpperCase();

const open = [];
after(() => { for (const c of open) c.ws.terminate(); });
async function staff(who) {
  const c = await KcClient.connect(env.url);
  open.push(c);
  const w = await c.request({ type: 'staff_login', ...who });
  assert.equal(w.type, 'staff_welcome', JSON.stringify(w));
  return c;
}
function assertError(m, code, field) {
  assert.equal(m.type, 'error', `expected an error ${code}, got ${JSON.stringify(m)}`);
  assert.equal(m.code, code, JSON.stringify(m));
  if (field) assert.equal(m.field, field, JSON.stringify(m));
}
const typeTemplate = () => JSON.parse(readFileSync(path.join(env.fixtures, 'asm-type.json'), 'utf8'));

describe('roles', () => {
  test('an author may not read templates or prepare', async () => {
    const c = await staff(AUTHOR);
    assertError(await c.request({ type: 'paper_templates' }), 'forbidden');
    assertError(await c.request({ type: 'session_prepare', code: 'AFF-WS' }), 'forbidden');
  });

  test('a supervisor reads and verifies but does not import, check or prepare', async () => {
    const c = await staff(SUPERVISOR);
    const l = await c.request({ type: 'paper_templates' });
    assert.equal(l.type, 'paper_templates', JSON.stringify(l));
    assert.ok(l.templates.some((x) => x.code === 'ASM-BP'));
    const v = await c.request({ type: 'session_verify', code: 'ASM' }, 30000);
    assert.equal(v.type, 'session_verify', JSON.stringify(v));
    assertError(await c.request({ type: 'paper_template_check', code: 'ASM-BP' }), 'forbidden');
    assertError(await c.request({ type: 'session_prepare', code: 'AFF-WS' }), 'forbidden');
    assertError(await c.request({ type: 'paper_template_import', file: 'x.json', text: '{}' }), 'forbidden');
  });

  test('before a staff login: unauthenticated', async () => {
    const c = await KcClient.connect(env.url);
    open.push(c);
    assertError(await c.request({ type: 'exam_sessions' }), 'unauthenticated');
  });
});

describe('fields', () => {
  test('unknown or wrong-typed fields name the field', async () => {
    const c = await staff(AFFAIRS);
    assertError(await c.request({ type: 'paper_template', code: 'ASM-BP', colour: 1 }), 'bad_field', 'colour');
    assertError(await c.request({ type: 'paper_template', code: 5 }), 'bad_field', 'code');
    assertError(await c.request({ type: 'session_report' }), 'bad_field', 'code');
    assertError(await c.request({ type: 'paper_template_import', file: 'a.json', text: '{}', dry_run: 'yes' }),
      'bad_field', 'dry_run');
    assertError(await c.request({ type: 'paper_template_import', file: 'a.json', text: 7 }), 'bad_field', 'text');
    assertError(await c.request({ type: 'paper_template', code: 'NO-SUCH' }), 'not_found', 'code');
    assertError(await c.request({ type: 'session_verify', code: 'NO-SUCH' }), 'not_found', 'code');
  });
});

describe('templates', () => {
  test('the list marks feasible and infeasible templates', async () => {
    const c = await staff(AFFAIRS);
    const l = await c.request({ type: 'paper_templates' });
    const bp = l.templates.find((x) => x.code === 'ASM-BP');
    const bad = l.templates.find((x) => x.code === 'ASM-BAD');
    assert.equal(bp.mode, 'blueprint');
    assert.equal(bp.mode_label, '按鉴定点组卷');
    assert.equal(bp.total, 100);
    assert.equal(bp.feasible, true);
    assert.equal(bp.occupation, '4-04-05-05');
    assert.equal(bad.feasible, false);
    assert.ok(bad.problems >= 1, JSON.stringify(bad));
    assert.ok(l.max_message >= 1024);
  });

  test('one template: its sections and its last report', async () => {
    const c = await staff(AFFAIRS);
    const m = await c.request({ type: 'paper_template', code: 'ASM-BAD' });
    assert.equal(m.type, 'paper_template', JSON.stringify(m));
    assert.ok(m.template.spec.sections.length >= 1);
    assert.ok(m.template.spec.sections[0].title.length > 0);
    assert.ok(m.template.report.some((l) => /short by \d+/.test(l)), JSON.stringify(m.template.report));
  });

  test('check again: the same verdict against the bank as it is now', async () => {
    const c = await staff(AFFAIRS);
    const ok = await c.request({ type: 'paper_template_check', code: 'ASM-BP' }, 30000);
    assert.equal(ok.type, 'paper_template_check', JSON.stringify(ok));
    assert.equal(ok.feasible, true);
    assert.equal(ok.pool, 198);
    const bad = await c.request({ type: 'paper_template_check', code: 'ASM-BAD' }, 30000);
    assert.equal(bad.feasible, false);
    assert.ok(bad.report.some((l) => l.includes('鉴定范围 B-01-01')), JSON.stringify(bad.report));
  });

  test('an invalid file: FILE:LINE: field: reason lines, nothing stored', async () => {
    const c = await staff(AFFAIRS);
    const t = typeTemplate();
    t.code = `AFF-BAD-${RUN}`;
    t.total = 49;
    const m = await c.request({ type: 'paper_template_import', file: 'C:\\tmp\\bad.json', text: JSON.stringify(t, null, 2) }, 30000);
    assert.equal(m.type, 'paper_template_import', JSON.stringify(m));
    assert.equal(m.valid, false);
    assert.equal(m.stored, false);
    assert.ok(m.diag.some((l) => /^bad\.json:\d+: sections: /.test(l)), JSON.stringify(m.diag));
    assertError(await c.request({ type: 'paper_template', code: t.code }), 'not_found');
  });

  test('a valid file: a dry run stores nothing, an import stores it feasible', async () => {
    const c = await staff(AFFAIRS);
    const t = typeTemplate();
    t.code = `AFF-OK-${RUN}`;
    const text = JSON.stringify(t, null, 2);
    const dry = await c.request({ type: 'paper_template_import', file: 'ok.json', text, dry_run: true }, 30000);
    assert.equal(dry.valid, true, JSON.stringify(dry));
    assert.equal(dry.stored, false);
    assert.equal(dry.feasible, true);
    assert.equal(dry.code, t.code);
    assertError(await c.request({ type: 'paper_template', code: t.code }), 'not_found');
    const m = await c.request({ type: 'paper_template_import', file: 'ok.json', text }, 30000);
    assert.equal(m.stored, true, JSON.stringify(m));
    assert.equal(m.feasible, true);
    assert.equal(m.mode, 'type');
    assert.equal(m.sections, 2);
    assert.equal(m.total, 50);
    const one = await c.request({ type: 'paper_template', code: t.code });
    assert.equal(one.template.source_file, 'ok.json');
    assert.equal(one.template.created_by, 'affairs1');
    assert.deepEqual(one.template.report, []);
  });
});

describe('sessions', () => {
  test('the list shows templates, candidates and papers', async () => {
    const c = await staff(AFFAIRS);
    const m = await c.request({ type: 'exam_sessions' });
    assert.equal(m.type, 'exam_sessions', JSON.stringify(m));
    const asm = m.sessions.find((s) => s.code === 'ASM');
    assert.equal(asm.template, 'ASM-BP');
    assert.equal(asm.candidates, 12);
    assert.equal(asm.papers, 12);
    assert.ok(asm.prepared_at > 0);
    const aff = m.sessions.find((s) => s.code === 'AFF-WS');
    assert.equal(aff.candidates, 2);
    assert.equal(aff.papers, 0, 'AFF-WS opens in 2 h: serve has not prepared it');
    assert.equal(aff.prepared_at, null);
  });

  test('prepare makes the papers once, verify regenerates them, report describes them', async () => {
    const c = await staff(AFFAIRS);
    const p = await c.request({ type: 'session_prepare', code: 'AFF-WS' }, 60000);
    assert.equal(p.type, 'session_prepare', JSON.stringify(p));
    assert.equal(p.ok, true, JSON.stringify(p));
    assert.equal(p.attempts, 2);
    assert.equal(p.made, 2);
    assert.equal(p.existing, 0);
    const again = await c.request({ type: 'session_prepare', code: 'AFF-WS' }, 60000);
    assert.equal(again.made, 0);
    assert.equal(again.existing, 2);
    const v = await c.request({ type: 'session_verify', code: 'AFF-WS' }, 60000);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.checked, 2);
    assert.deepEqual(v.diag, []);
    const r = await c.request({ type: 'session_report', code: 'AFF-WS' }, 60000);
    assert.equal(r.type, 'session_report', JSON.stringify(r));
    assert.match(r.text, /template ASM-TYPE/);
    assert.match(r.text, /papers: 2 \(a paper per candidate\)/);
    const f = await c.request({ type: 'session_report', code: 'ASM-F' }, 60000);
    assert.match(f.text, /A卷 4 B卷 4 C卷 4/);
  });

  test('a session whose template cannot be met: the reason, no papers', async () => {
    const c = await staff(AFFAIRS);
    const p = await c.request({ type: 'session_prepare', code: 'ASM-NP' }, 60000);
    assert.equal(p.ok, false, JSON.stringify(p));
    assert.ok(p.diag.length >= 1);
    const l = await c.request({ type: 'exam_sessions' });
    assert.equal(l.sessions.find((s) => s.code === 'ASM-NP').papers, 0);
  });
});
