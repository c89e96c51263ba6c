// Every item type over the WebSocket: session TYPES (tests/run-e2e.sh) on paper TYPES-P,
// the seven items of tests/fixtures/types-paper.csv at 5 points each (35 in all): single,
// multi (少选得半分), true/false, a fill-in item with two blanks, a fill-in item with a
// pattern, a short answer, and a case study with two sub-items.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { KcClient, candidates, requireEnv, results } from '../lib/kc.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const [cand, cand2] = candidates(env.fixtures, 'candidates-types.csv');

const open = [];
after(() => { for (const c of open) c.ws.terminate(); });
async function session(who) {
  const c = await KcClient.connect(env.url);
  open.push(c);
  const w = await c.request({ type: 'login', ticket: who.ticket, id_number: who.idno });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  const p = await c.request({ type: 'start' });
  assert.equal(p.type, 'paper', JSON.stringify(p).slice(0, 300));
  return { c, p };
}

const FORBIDDEN = ['answer', 'answer_key', 'key', 'explanation', 'mc_policy', 'policy', 'accept', 'rubric', 'criteria'];
function noKeys(item, where) {
  for (const f of FORBIDDEN) assert.equal(f in item, false, `${where} must not carry ${f}`);
  for (const c of item.children || []) noKeys(c, `${where}.children[${c.item}]`);
}

describe('every item type', () => {
  let c, paper, byNo;
  test('the paper carries what each type needs and no key', async () => {
    ({ c, p: paper } = await session(cand));
    const items = paper.paper.items;
    assert.equal(items.length, 7);
    assert.equal(paper.paper.total_points, 35);
    byNo = new Map(items.map((it) => [it.no, it]));
    assert.deepEqual(items.map((it) => it.type), ['single', 'multi', 'tf', 'fill', 'fill', 'short', 'composite']);
    assert.deepEqual(items.map((it) => it.section), ['一、单项选择题', '二、多项选择题', '三、判断题',
      '四、填空题', '四、填空题', '五、简答题', '六、案例分析题']);
    for (const it of items) noKeys(it, `item ${it.no}`);
    assert.equal(byNo.get(1).options.length, 4);
    assert.equal(byNo.get(2).options.length, 4);
    assert.equal('options' in byNo.get(3), false, 'true/false has no options');
    assert.equal(byNo.get(4).blanks, 2);
    assert.equal(byNo.get(5).blanks, 1);
    const cs = byNo.get(7);
    assert.equal(cs.children.length, 2);
    assert.deepEqual(cs.children.map((k) => k.type), ['single', 'tf']);
    assert.deepEqual(cs.children.map((k) => k.points), [1.66, 3.34], 'sub-item points add up to the composite');
    assert.match(cs.stem, /WebShell/);
  });

  test('responses are checked per type', async () => {
    const bad = [
      [byNo.get(1).item, 'E'], [byNo.get(2).item, 'AX'], [byNo.get(3).item, 'B'],
      [byNo.get(4).item, ['a', 'b', 'c']], [byNo.get(7).item, 'A'],
    ];
    let seq = 1;
    for (const [item, response] of bad) {
      const m = await c.request({ type: 'answer', item, response, seq: seq++ });
      assert.equal(m.type, 'error', `${JSON.stringify(response)} for item ${item}: ${JSON.stringify(m)}`);
      assert.equal(m.field, item === byNo.get(7).item ? 'item' : 'response');
    }
  });

  test('answers of every type are committed and come back after a reconnect', async () => {
    const cs = byNo.get(7).children;
    const answers = [
      [byNo.get(1).item, 'B'],                 // right: 5
      [byNo.get(2).item, 'ca'],                // part of ACD, half: 2.5
      [byNo.get(3).item, '错'],                // right: 5
      [byNo.get(4).item, ['ｔｃｐ', '443.0']],   // both blanks right: 5
      [byNo.get(5).item, ['10.0.0.1']],        // wrong: 0
      [byNo.get(6).item, '只授予必要的权限。'],   // scored by examiners: 0 for now
      [cs[0].item, 'A'],                       // right: 1 of the case's 3 raw points
      [cs[1].item, 'T'],                       // wrong
    ];
    let seq = 10;
    for (const [item, response] of answers) {
      const m = await c.request({ type: 'answer', item, response, seq: seq++ });
      assert.equal(m.type, 'ack', `${JSON.stringify(response)}: ${JSON.stringify(m)}`);
    }
    await c.close();
    ({ c, p: paper } = await session(cand));
    const got = new Map(paper.answers.map((a) => [a.item, a.response]));
    assert.equal(got.get(byNo.get(2).item), 'AC', 'multi is stored sorted');
    assert.equal(got.get(byNo.get(3).item), 'F', 'true/false is stored as T/F');
    assert.deepEqual(got.get(byNo.get(4).item), ['ｔｃｐ', '443.0'], 'fill comes back as an array');
    assert.equal(got.get(byNo.get(6).item), '只授予必要的权限。');
    assert.equal(got.get(cs[0].item), 'A');
  });

  test('submit scores every objective type, the case scaled to its 5 points', async () => {
    const m = await c.request({ type: 'submit' });
    assert.equal(m.type, 'submitted', JSON.stringify(m));
    // 5 + 2.5 + 5 + 5 + 0 + 0 + 1/3 of 5 (1.66)
    assert.equal(m.score, 19.16);
    const r = await results(env, 'TYPES');
    assert.equal(r.get(cand.ticket).score, '19.16');
  });

  test('a case answered in full earns exactly its points', async () => {
    const s = await session(cand2);
    const kids = s.p.paper.items.find((it) => it.type === 'composite').children;
    assert.equal((await s.c.request({ type: 'answer', item: kids[0].item, response: 'A', seq: 1 })).type, 'ack');
    assert.equal((await s.c.request({ type: 'answer', item: kids[1].item, response: 'F', seq: 2 })).type, 'ack');
    const m = await s.c.request({ type: 'submit' });
    assert.equal(m.score, 5);
  });
});
