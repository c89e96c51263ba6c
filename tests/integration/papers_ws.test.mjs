// Papers made before the session opens (tests/run-e2e.sh prepares session ASM from template
// ASM-BP over tests/fixtures/asm-bank.csv): each candidate gets a paper of their own,
// sections in template order, items shuffled within them and options shuffled within
// items. The candidate answers in the letters shown; the server maps them back to the
// item's keys, so answering every item right scores 100. A candidate whose paper was not
// made cannot start.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { KcClient, candidates, parseCsv, requireEnv, results } from '../lib/kc.mjs';

const env = requireEnv('KC_URL', 'KC_BIN', 'KC_CONFIG');
const seats = candidates(env.fixtures, 'candidates-seats.csv');
const [unprepared] = candidates(env.fixtures, 'candidates-unprepared.csv');

// The bank's key of each item by stem, as the text of the right options.
const bank = new Map(parseCsv(readFileSync(path.join(env.fixtures, 'asm-bank.csv'), 'utf8')).map((r) => {
  const opts = ['选项A', '选项B', '选项C', '选项D'].map((k) => r[k]);
  const key = r['题型'] === '判断题' ? (r['答案'] === '对' ? 'T' : 'F')
    : [...r['答案']].map((l) => opts[l.charCodeAt(0) - 65]);
  return [r['题干'], { type: r['题型'], key }];
}));

const open = [];
after(() => { for (const c of open) c.ws.terminate(); });
async function login(who) {
  const c = await KcClient.connect(env.url);
  open.push(c);
  const w = await c.request({ type: 'login', ticket: who.ticket, id_number: who.idno });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  return c;
}

// What the candidate must click: the letters shown for the right options' texts.
function rightAnswer(item) {
  const b = bank.get(item.stem);
  assert.ok(b, `item ${item.item} is from the bank: ${item.stem}`);
  if (item.type === 'tf') return b.key;
  const shown = b.key.map((text) => item.options.find((o) => o.text === text)?.key);
  assert.ok(shown.every(Boolean), `every right option of ${item.item} is shown`);
  return shown.sort().join('');
}

describe('papers made before the session opens', () => {
  const papers = [];
  test('each candidate gets their own paper, sections in order, items and options shuffled', async () => {
    for (const who of seats.slice(0, 3)) {
      const c = await login(who);
      const p = await c.request({ type: 'start' });
      assert.equal(p.type, 'paper', JSON.stringify(p).slice(0, 300));
      papers.push({ who, c, p });
      const items = p.paper.items;
      assert.equal(items.length, 60);
      assert.equal(p.paper.total_points, 100);
      const sections = [...new Set(items.map((it) => it.section))];
      assert.deepEqual(sections, ['一、单项选择题', '二、多项选择题', '三、判断题']);
      assert.deepEqual(items.map((it) => it.type),
        [...Array(30).fill('single'), ...Array(10).fill('multi'), ...Array(20).fill('tf')]);
      assert.deepEqual(items.map((it) => it.no), items.map((_, i) => i + 1), 'numbered in the order shown');
      for (const it of items) {
        assert.equal('answer' in it || 'key' in it, false, 'no key leaves the server');
        if (it.options) assert.deepEqual(it.options.map((o) => o.key), ['A', 'B', 'C', 'D']);
      }
    }
    const ids = papers.map(({ p }) => p.paper.items.map((it) => it.item).join(','));
    assert.equal(new Set(ids).size, 3, 'three candidates, three different papers');
    // Options are shown in another order than the bank's (A is 甲 or 子) on some item of
    // every paper.
    for (const { p } of papers) {
      const moved = p.paper.items.filter((it) => it.options && !/ [甲子]\d+$/.test(it.options[0].text));
      assert.ok(moved.length > 0, 'some options are shuffled');
    }
  });

  test('a reload gives the same paper in the same order', async () => {
    const { who, p, c: before } = papers[0];
    // A reload closes the page's connection first (a second live login would be refused).
    before.ws.close();
    await before.closed;
    const c = await login(who);
    const again = await c.request({ type: 'start' });
    assert.deepEqual(again.paper.items.map((it) => [it.item, it.options?.map((o) => o.text)]),
      p.paper.items.map((it) => [it.item, it.options?.map((o) => o.text)]));
    papers[0].c = c;
  });

  test('answers in the letters shown score full marks', async () => {
    const { who, c, p } = papers[0];
    let seq = 1;
    for (const it of p.paper.items) {
      const m = await c.request({ type: 'answer', item: it.item, response: rightAnswer(it), seq: seq++ });
      assert.equal(m.type, 'ack', JSON.stringify(m));
    }
    const m = await c.request({ type: 'submit' });
    assert.equal(m.type, 'submitted', JSON.stringify(m));
    assert.equal(m.score, 100);
    const r = await results(env, 'ASM');
    assert.equal(r.get(who.ticket).score, '100.00');
  });

  test('the key letters of the bank, answered as shown, do not score full marks', async () => {
    // The second candidate answers each single-choice item with the bank's letter instead of
    // the one shown: with shuffled options most of these are wrong.
    const { c, p } = papers[1];
    let seq = 1;
    for (const it of p.paper.items.filter((x) => x.type === 'single')) {
      const b = bank.get(it.stem);
      const original = 'ABCD'[['甲', '乙', '丙', '丁'].findIndex((s) => b.key[0].includes(' ' + s))];
      const m = await c.request({ type: 'answer', item: it.item, response: original, seq: seq++ });
      assert.equal(m.type, 'ack', JSON.stringify(m));
    }
    const m = await c.request({ type: 'submit' });
    assert.equal(m.type, 'submitted');
    assert.ok(m.score < 60, `bank letters on shuffled options score ${m.score}, not 60`);
  });

  test('a candidate whose paper was not made cannot start', async () => {
    const c = await login(unprepared);
    const m = await c.request({ type: 'start' });
    assert.equal(m.type, 'error', JSON.stringify(m));
    assert.equal(m.code, 'not_prepared');
  });
});
