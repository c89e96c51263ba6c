// Kaochang staff pages: authors (命题员) and reviewers (审核员) over kaochang.v1
// (docs/PROTOCOL.md, staff messages) and POST /api/bank/import.
const VERSION = new URL(import.meta.url).search;
const { translate, LANGS } = await import(`./i18n.js${VERSION}`);
const { renderItem } = await import(`./item-view.js${VERSION}`);

const PROTOCOL = 'kaochang.v1';
const K_TOKEN = 'kc.staff.token';
const PAGE = 50;
const TYPES = ['single', 'multi', 'tf', 'fill', 'short', 'essay', 'composite', 'practical'];
const STATUSES = ['draft', 'reviewed', 'approved', 'retired'];

const $ = (id) => document.getElementById(id);
const store = {
  get(k) { try { return sessionStorage.getItem(k); } catch { return null; } },
  set(k, v) { try { sessionStorage.setItem(k, v); } catch { /* ignore */ } },
  del(k) { try { sessionStorage.removeItem(k); } catch { /* ignore */ } },
};

const S = {
  lang: (() => { try { const l = localStorage.getItem('kc.lang'); return LANGS.includes(l) ? l : 'zh-CN'; } catch { return 'zh-CN'; } })(),
  ws: null, connected: false, nextId: 1, waiting: new Map(),
  token: store.get(K_TOKEN), staff: null, catalog: null,
  offset: 0, total: 0, item: null, editing: null,
};
const t = (k, p) => translate(S.lang, k, p);
const has = (...roles) => !!S.staff && (S.staff.roles.includes('admin') || roles.some((r) => S.staff.roles.includes(r)));

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function fmtTime(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
const typeName = (ty) => t(`staff.type.${ty}`);
const statusName = (st) => t(`staff.status.${st}`);

// ---- connection ----

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`, PROTOCOL);
  S.ws = ws;
  ws.onopen = async () => {
    S.connected = true;
    $('banner').hidden = true;
    if (S.token) {
      const m = await request({ type: 'staff_resume', token: S.token });
      if (m.type === 'staff_welcome') welcome(m);
      else { S.token = null; store.del(K_TOKEN); S.staff = null; route(); }
    } else route();
  };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    const w = m.id !== undefined ? S.waiting.get(m.id) : null;
    if (w) { S.waiting.delete(m.id); w(m); }
  };
  ws.onclose = () => {
    S.connected = false;
    for (const w of S.waiting.values()) w({ type: 'error', code: 'offline', message: 'connection lost' });
    S.waiting.clear();
    $('banner').hidden = false;
    setTimeout(connect, 1500);
  };
}

function request(msg) {
  return new Promise((resolve) => {
    if (!S.connected) { resolve({ type: 'error', code: 'offline', message: 'not connected' }); return; }
    const id = S.nextId++;
    S.waiting.set(id, resolve);
    S.ws.send(JSON.stringify({ ...msg, id }));
  });
}

function showError(m) {
  const box = $('error');
  if (!m) { box.hidden = true; return; }
  const key = `staff.err.${m.code}`;
  const known = t(key) !== key;
  box.textContent = known ? t(key) : `${m.code}: ${m.message || ''}`;
  box.hidden = false;
}

async function call(msg) {
  const m = await request(msg);
  if (m.type === 'error') showError(m); else showError(null);
  return m;
}

// ---- login ----

function welcome(m) {
  S.token = m.token;
  store.set(K_TOKEN, m.token);
  S.staff = m.staff;
  $('staff-name').textContent = m.staff.name;
  $('staff-roles').textContent = m.staff.roles.map((r) => t(`staff.role.${r}`)).join('、');
  for (const a of document.querySelectorAll('[data-role]')) a.hidden = !has(a.dataset.role);
  loadCatalog().then(route);
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const login = $('login-login').value.trim(), password = $('login-password').value;
  if (!login || !password) { showError({ code: 'empty_login' }); return; }
  $('login-submit').disabled = true;
  const m = await call({ type: 'staff_login', login, password });
  $('login-submit').disabled = false;
  $('login-password').value = '';
  if (m.type === 'staff_welcome') {
    welcome(m);
    if (!location.hash || location.hash === '#/login') location.hash = '#/bank';
  }
});

$('logout').addEventListener('click', () => {
  store.del(K_TOKEN);
  location.hash = '#/login';
  location.reload();
});

// ---- catalog and filters ----

async function loadCatalog() {
  const m = await call({ type: 'bank_catalog' });
  if (m.type === 'bank_catalog') S.catalog = m;
  fillSelects();
}

function options(sel, items, withAll = true) {
  const keep = sel.value;
  sel.replaceChildren();
  if (withAll) sel.append(new Option(t('staff.f.all'), ''));
  for (const [v, label] of items) sel.append(new Option(label, v));
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

function occupationItems() {
  const seen = new Map();
  for (const o of S.catalog?.occupations || []) seen.set(o.code, `${o.code} ${o.name}`);
  for (const b of S.catalog?.in_bank || []) if (b.occupation && !seen.has(b.occupation)) seen.set(b.occupation, b.occupation);
  return [...seen];
}

function fillSelects() {
  const levels = [5, 4, 3, 2, 1].map((l) => [String(l), t(`staff.level.${l}`)]);
  options($('f-occupation'), occupationItems());
  options($('f-level'), levels);
  options($('f-type'), TYPES.map((ty) => [ty, typeName(ty)]));
  options($('f-difficulty'), [1, 2, 3, 4, 5].map((d) => [String(d), String(d)]));
  options($('f-status'), STATUSES.map((s) => [s, statusName(s)]));
  options($('h-occupation'), occupationItems(), false);
  options($('h-level'), levels, false);
  healthLevel();
}

function filters() {
  const f = {};
  const pick = (k, id) => { const v = $(id).value.trim(); if (v) f[k] = v; };
  pick('occupation', 'f-occupation'); pick('level', 'f-level'); pick('point', 'f-point');
  pick('type', 'f-type'); pick('difficulty', 'f-difficulty'); pick('status', 'f-status'); pick('q', 'f-q');
  return f;
}

$('filters').addEventListener('submit', (ev) => { ev.preventDefault(); S.offset = 0; loadList(); });
$('page-prev').addEventListener('click', () => { S.offset = Math.max(0, S.offset - PAGE); loadList(); });
$('page-next').addEventListener('click', () => { if (S.offset + PAGE < S.total) { S.offset += PAGE; loadList(); } });

async function loadList() {
  const m = await call({ type: 'bank_list', filters: filters(), offset: S.offset, limit: PAGE });
  if (m.type !== 'bank_list') return;
  S.total = m.total;
  $('list-total').textContent = t('staff.list.total', { n: m.total });
  $('page-info').textContent = m.total ? `${m.offset + 1}–${Math.min(m.offset + m.rows.length, m.total)} / ${m.total}` : '';
  $('page-prev').disabled = m.offset === 0;
  $('page-next').disabled = m.offset + m.rows.length >= m.total;
  const body = $('results');
  body.replaceChildren();
  for (const r of m.rows) {
    const tr = el('tr', 'row-link');
    tr.dataset.uid = r.uid;
    const a = el('a', null, r.uid);
    a.href = `#/item/${encodeURIComponent(r.uid)}`;
    const td = el('td');
    td.append(a);
    tr.append(td, el('td', null, typeName(r.type)), el('td', 'stem-cell', r.stem), el('td', null, r.point || ''),
      el('td', null, r.difficulty || ''), el('td', `status-${r.status}`, statusName(r.status)), el('td', null, r.version));
    tr.addEventListener('click', (ev) => { if (ev.target.tagName !== 'A') location.hash = a.getAttribute('href'); });
    body.append(tr);
  }
  if (!m.rows.length) {
    const tr = el('tr');
    const td = el('td', 'muted', t('staff.list.empty'));
    td.colSpan = 7;
    tr.append(td);
    body.append(tr);
  }
}

// ---- item page ----

function answerText(item) {
  if (item.type === 'tf') return item.answer === 'T' ? t('staff.tf.T') : item.answer === 'F' ? t('staff.tf.F') : '';
  if (item.type === 'fill') return item.answer.split(/(?<!\\)\|/).map((b, i) => `(${i + 1}) ${b}`).join('  ');
  if (item.type === 'composite') return item.children.map((c, i) => `${i + 1}. ${answerText(c)}`).join('  ');
  if (item.type === 'practical') return t('staff.item.rubric');
  // short/essay: the reference answer is sanitized rich text; shown here as its text
  if (item.type === 'short' || item.type === 'essay') return htmlText(item.answer) || '—';
  return item.answer || '—';
}

// The text of a sanitized fragment; DOMParser runs nothing and loads nothing.
function htmlText(html) {
  return html ? new DOMParser().parseFromString(html, 'text/html').body.textContent : '';
}

function richInto(node, html) {
  node.replaceChildren();
  const d = el('div');
  d.innerHTML = html || '';        // explanation: sanitized server-side like the stem
  node.append(d);
}

async function loadItem(uid) {
  const m = await call({ type: 'bank_item', uid });
  if (m.type !== 'bank_item') return;
  S.item = m;
  const it = m.item;
  $('item-uid').textContent = `${it.uid} · v${it.version}`;
  $('item-status').textContent = statusName(it.status);
  $('item-status').className = `status-chip status-${it.status}`;
  drawPreview();
  $('item-answer').textContent = answerText(it);
  richInto($('item-explanation'), it.explanation || '');
  const meta = $('item-meta');
  meta.replaceChildren();
  const add = (k, v) => { if (v !== null && v !== undefined && v !== '') meta.append(el('dt', null, t(k)), el('dd', null, v)); };
  add('staff.col.type', typeName(it.type));
  add('staff.meta.points', it.points);
  add('staff.col.point', it.point);
  add('staff.col.difficulty', it.difficulty);
  add('staff.f.occupation', it.occupation);
  add('staff.f.level', it.level ? t(`staff.level.${it.level}`) : null);
  add('staff.meta.source', it.source);
  add('staff.meta.author', it.author);
  add('staff.meta.tags', (it.tags || []).join('、'));
  add('staff.meta.status_by', it.status_by ? `${it.status_by} ${fmtTime(it.status_at)}` : null);
  if (it.type === 'multi') add('staff.meta.mc_policy', t(`staff.mc.${it.mc_policy || 'all'}`));
  const vbody = $('versions');
  vbody.replaceChildren();
  for (const v of m.versions) {
    vbody.append(rowOf([`v${v.version}`, statusName(v.status), fmtTime(v.created_at), v.created_by || v.import_file || '',
      v.delivered ? t('staff.yes') : t('staff.no')]));
  }
  const rbody = $('reviews');
  rbody.replaceChildren();
  for (const r of m.reviews) {
    rbody.append(rowOf([fmtTime(r.at), `v${r.version}`, t(`staff.action.${r.action}`),
      `${r.from ? statusName(r.from) : '—'} → ${statusName(r.to)}`, r.actor, r.comment || '']));
  }
  drawActions();
}

function rowOf(cells) {
  const tr = el('tr');
  for (const c of cells) tr.append(el('td', null, c));
  return tr;
}

function drawPreview() {
  const it = S.item.item;
  const answerable = $('preview-answer').checked;
  $('preview-response').textContent = '';
  renderItem($('preview'), it, {
    lang: S.lang, answerable, idPrefix: 'pv',
    onChange: (r) => { $('preview-response').textContent = t('staff.item.response', { r: r.replace(/\u001f/g, ' | ') }); },
  });
}
$('preview-answer').addEventListener('change', drawPreview);

function drawActions() {
  const st = S.item.item.status;
  const rev = has('reviewer');
  const show = (id, on) => { $(id).hidden = !on; };
  show('act-edit', has('author'));
  show('act-review', rev && st === 'draft');
  show('act-approve', rev && st === 'reviewed');
  show('act-return', rev && (st === 'reviewed' || st === 'approved'));
  show('act-retire', rev && st !== 'retired');
  show('act-restore', rev && st === 'retired');
  $('return-box').hidden = true;
}

async function review(action, comment) {
  const msg = { type: 'bank_review', uid: S.item.item.uid, action };
  if (comment) msg.comment = comment;
  const m = await call(msg);
  if (m.type === 'bank_reviewed') loadItem(S.item.item.uid);
}
$('act-review').addEventListener('click', () => review('review'));
$('act-approve').addEventListener('click', () => review('approve'));
$('act-retire').addEventListener('click', () => review('retire'));
$('act-restore').addEventListener('click', () => review('restore'));
$('act-return').addEventListener('click', () => { $('return-box').hidden = false; $('return-comment').focus(); });
$('return-send').addEventListener('click', () => {
  const c = $('return-comment').value.trim();
  if (!c) { showError({ code: 'empty_comment' }); return; }
  review('return', c);
});
$('act-edit').addEventListener('click', () => { location.hash = `#/edit/${encodeURIComponent(S.item.item.uid)}`; });

// ---- edit form ----

/* Stored rich text as the editor shows it: text with line breaks when it is only text and
 * <br>, else its HTML source (the server sanitizes whatever comes back, like an import).
 * DOMParser runs no script. */
// bank_item sends rich text with signed /media/ links (see item.media); the editor works on
// the stored form, media:NAME, so a saved edit keeps referring to the item's media.
function unsignMedia(item) {
  const back = (html) => {
    if (typeof html !== 'string') return html;
    for (const md of item.media || []) html = html.split(md.url.replaceAll('&', '&amp;')).join(`media:${md.name.replaceAll('&', '&amp;')}`);
    return html;
  };
  const out = { ...item, stem: back(item.stem), answer: back(item.answer), explanation: back(item.explanation) };
  if (Array.isArray(item.options)) out.options = item.options.map(back);
  if (Array.isArray(item.children)) out.children = item.children.map(unsignMedia);
  return out;
}

function toText(html) {
  if (!html) return '';
  const withBreaks = html.replace(/<br\s*\/?>/gi, '\n');
  if (/<[a-z!/]/i.test(withBreaks)) return html;
  return new DOMParser().parseFromString(`<body>${withBreaks}</body>`, 'text/html').body.textContent;
}

function field(form, key, labelKey, kind, value, extra = {}) {
  const wrap = el('label', `field field-${key}`);
  wrap.append(el('span', 'field-label', t(labelKey)));
  let input;
  if (kind === 'textarea') { input = document.createElement('textarea'); input.rows = extra.rows || 3; }
  else if (kind === 'select') {
    input = document.createElement('select');
    for (const [v, l] of extra.options) input.append(new Option(l, v));
  } else { input = document.createElement('input'); input.type = kind; if (kind === 'number') input.step = extra.step || '1'; }
  input.name = key;
  input.dataset.testid = `e-${extra.prefix || ''}${key}`;
  input.value = value ?? '';
  if (kind === 'checkbox') { input.checked = !!value; input.value = '1'; }
  wrap.append(input);
  form.append(wrap);
  return input;
}

function itemFields(box, it, prefix, sub) {
  const f = { uid: sub ? it.uid : null, sub, orig: it };
  f.type = field(box, 'type', 'staff.col.type', 'select', it.type || 'single',
    { prefix, options: (sub ? TYPES.filter((x) => x !== 'composite' && x !== 'practical') : TYPES).map((x) => [x, typeName(x)]) });
  const body = el('div', 'type-fields');
  box.append(body);
  const draw = () => {
    body.replaceChildren();
    const ty = f.type.value;
    f.stem = field(body, 'stem', 'staff.e.stem', 'textarea', toText(it.stem), { prefix, rows: 4 });
    f.options = [];
    if (ty === 'single' || ty === 'multi') {
      const opts = it.options || [];
      for (let i = 0; i < 8; i++) {
        f.options.push(field(body, `option${i}`, `staff.e.option${String.fromCharCode(65 + i)}`, 'text',
          toText(typeof opts[i] === 'string' ? opts[i] : opts[i]?.text || ''), { prefix }));
      }
    }
    f.answer = null;
    if (ty === 'single' || ty === 'multi' || ty === 'fill') f.answer = field(body, 'answer', `staff.e.answer.${ty}`, 'text', it.answer, { prefix });
    if (ty === 'tf') f.answer = field(body, 'answer', 'staff.item.answer', 'select', it.answer || 'T', { prefix, options: [['T', t('staff.tf.T')], ['F', t('staff.tf.F')]] });
    if (ty === 'short' || ty === 'essay') f.answer = field(body, 'answer', 'staff.e.reference', 'textarea', toText(it.answer), { prefix, rows: 4 });
    f.mc = ty === 'multi' ? field(body, 'mc_policy', 'staff.meta.mc_policy', 'select', it.mc_policy || 'all',
      { prefix, options: ['all', 'half', 'ratio'].map((x) => [x, t(`staff.mc.${x}`)]) }) : null;
    f.points = ty === 'composite' ? null : field(body, 'points', 'staff.meta.points', 'number', it.points ?? 1, { prefix, step: '0.5' });
    f.practical = null;
    if (ty === 'practical') {
      const spec = it.spec || {};
      f.practical = {
        minutes: field(body, 'time_minutes', 'staff.e.minutes', 'number', spec.time_minutes ?? 30, { prefix }),
        equipment: field(body, 'equipment', 'staff.e.equipment', 'textarea', spec.equipment || '', { prefix }),
        criteria: field(body, 'criteria', 'staff.e.criteria', 'textarea',
          (spec.criteria || []).map((c) => (c.veto ? `否决|${c.text}` : `${c.points}|${c.text}`)).join('\n'), { prefix, rows: 5 }),
      };
    }
    f.children = null;
    if (ty === 'composite') {
      f.children = [];
      const list = el('div', 'children');
      body.append(el('h3', null, t('staff.e.children')), list);
      const addChild = (c) => {
        const cbox = el('fieldset', 'child');
        cbox.append(el('legend', null, t('staff.e.child', { n: f.children.length + 1 })));
        list.append(cbox);
        f.children.push(itemFields(cbox, c, `c${f.children.length}-`, true));
      };
      for (const c of it.children || []) addChild(c);
      if (!(it.children || []).length) addChild({ type: 'single' });
      const more = el('button', 'btn', t('staff.e.add_child'));
      more.type = 'button';
      more.dataset.testid = 'e-add-child';
      more.addEventListener('click', () => addChild({ type: 'single' }));
      body.append(more);
    }
  };
  draw();
  f.type.addEventListener('change', () => { it = { ...it, type: f.type.value }; draw(); });
  return f;
}

function collect(f) {
  const ty = f.type.value;
  const o = { type: ty, stem: f.stem.value };
  if (f.uid) o.uid = f.uid;
  if (f.options.length) {
    const opts = f.options.map((i) => i.value);
    while (opts.length && !opts[opts.length - 1].trim()) opts.pop();
    o.options = opts;
  }
  if (f.answer) o.answer = ty === 'single' || ty === 'multi' ? f.answer.value.trim().toUpperCase() : f.answer.value;
  if (f.mc) o.mc_policy = f.mc.value;
  if (f.points) o.points = Number(f.points.value);
  if (f.practical) {
    o.time_minutes = Number(f.practical.minutes.value) || 0;
    o.equipment = f.practical.equipment.value;
    o.criteria = f.practical.criteria.value.split('\n').filter((l) => l.trim()).map((l) => {
      const [p, ...rest] = l.split('|');
      const veto = /^(否决|veto)$/i.test(p.trim());
      return { text: rest.join('|').trim(), points: veto ? 0 : Number(p), veto };
    });
  }
  if (f.children) o.children = f.children.map(collect);
  // What the form has no field for is saved as it was, so that saving an item unchanged
  // leaves it unchanged (pinned options; a sub-item's 鉴定点, difficulty, explanation …).
  const keep = f.sub ? ['pin_options', 'difficulty', 'point', 'explanation', 'source', 'author', 'occupation', 'level', 'tags']
    : ['pin_options'];
  for (const k of keep) {
    const v = f.orig?.[k];
    if (v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && !v.length) && o[k] === undefined) o[k] = v;
  }
  return o;
}

function drawEdit(item) {
  S.editing = item;
  $('edit-heading').textContent = item.uid ? t('staff.edit.heading', { uid: item.uid }) : t('staff.nav.new');
  const form = $('edit-form');
  form.replaceChildren();
  $('edit-diag').replaceChildren();
  const top = itemFields(form, item, '', false);
  const meta = el('div', 'meta-fields');
  form.append(meta);
  const uid = field(meta, 'uid', 'staff.col.uid', 'text', item.uid || '');
  uid.readOnly = !!item.uid;
  const m = {
    uid,
    difficulty: field(meta, 'difficulty', 'staff.col.difficulty', 'select', item.difficulty ? String(item.difficulty) : '',
      { options: [['', '—'], ...[1, 2, 3, 4, 5].map((d) => [String(d), String(d)])] }),
    point: field(meta, 'point', 'staff.col.point', 'text', item.point || ''),
    occupation: field(meta, 'occupation', 'staff.f.occupation', 'text', item.occupation || ''),
    level: field(meta, 'level', 'staff.f.level', 'select', item.level ? String(item.level) : '',
      { options: [['', '—'], ...[5, 4, 3, 2, 1].map((l) => [String(l), t(`staff.level.${l}`)])] }),
    explanation: field(meta, 'explanation', 'staff.item.explanation', 'textarea', toText(item.explanation)),
    source: field(meta, 'source', 'staff.meta.source', 'text', item.source || ''),
    author: field(meta, 'author', 'staff.meta.author', 'text', item.author || ''),
    tags: field(meta, 'tags', 'staff.meta.tags', 'text', (item.tags || []).join(', ')),
  };
  const save = el('button', 'btn btn-primary', t('staff.e.save'));
  save.type = 'submit';
  save.dataset.testid = 'e-save';
  form.append(save);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const o = collect(top);
    const put = (k, v) => { if (v !== '' && v !== null && v !== undefined && !Number.isNaN(v)) o[k] = v; };
    put('uid', m.uid.value.trim());
    put('difficulty', m.difficulty.value ? Number(m.difficulty.value) : null);
    put('point', m.point.value.trim());
    put('occupation', m.occupation.value.trim());
    put('level', m.level.value ? Number(m.level.value) : null);
    put('explanation', m.explanation.value);
    put('source', m.source.value.trim());
    put('author', m.author.value.trim());
    const tags = m.tags.value.split(/[,，、]/).map((x) => x.trim()).filter(Boolean);
    if (tags.length) o.tags = tags;
    const r = await request({ type: 'bank_save', item: o });
    const diag = $('edit-diag');
    diag.replaceChildren();
    if (r.type === 'bank_saved') {
      showError(null);
      location.hash = `#/item/${encodeURIComponent(r.uid)}`;
      return;
    }
    showError(r);
    for (const line of r.diag || []) diag.append(el('li', null, line));
  };
}

// ---- import ----

$('import-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const file = $('import-file').files[0];
  if (!file) { showError({ code: 'empty_file' }); return; }
  const q = new URLSearchParams({ format: $('import-format').value, dry_run: $('import-dry').checked ? '1' : '0', name: file.name });
  $('import-submit').disabled = true;
  let r;
  try {
    const res = await fetch(`/api/bank/import?${q}`, { method: 'POST', body: file, headers: { Authorization: `Bearer ${S.token}` } });
    r = await res.json();
  } catch (e) {
    r = { type: 'error', code: 'offline', message: String(e) };
  }
  $('import-submit').disabled = false;
  if (r.type === 'error') { showError(r); return; }
  showError(null);
  $('import-report').hidden = false;
  $('import-result').textContent = r.ok ? t(r.dry_run ? 'staff.import.ok_dry' : 'staff.import.ok') : t('staff.import.bad', { n: r.problems });
  $('import-result').className = r.ok ? 'ok' : 'bad';
  const types = Object.entries(r.by_type).map(([k, v]) => `${typeName(k)} ${v}`).join('、');
  $('import-summary').textContent = t(r.dry_run ? 'staff.import.summary_dry' : 'staff.import.summary',
    { file: r.file, n: r.items, types: types || '—', new: r.stored.new, versions: r.stored.versions, unchanged: r.stored.unchanged });
  const diag = $('import-diag');
  diag.replaceChildren();
  for (const line of r.diag) diag.append(el('li', null, line));
});

// ---- bank health ----

/* The level follows the occupation: its first blueprint, else the first level it offers. */
function healthLevel() {
  const occ = $('h-occupation').value;
  const bp = (S.catalog?.blueprints || []).find((b) => b.occupation === occ);
  const o = (S.catalog?.occupations || []).find((x) => x.code === occ);
  const lv = bp ? String(bp.level) : o && o.levels ? o.levels.split(',')[0].trim() : '';
  if (lv && [...$('h-level').options].some((x) => x.value === lv)) $('h-level').value = lv;
}
$('h-occupation').addEventListener('change', healthLevel);

$('health-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const occupation = $('h-occupation').value;
  if (!occupation) { showError({ code: 'empty_occupation' }); return; }
  const m = await call({ type: 'bank_health', occupation, level: Number($('h-level').value), part: $('h-part').value });
  if (m.type === 'bank_health') drawHealth(m);
});

function drawHealth(h) {
  const box = $('health');
  box.replaceChildren();
  if (!h.blueprint) { box.append(el('p', 'notice', t('staff.h.no_blueprint'))); }
  const sum = el('div', 'card');
  const pct = (a, b) => (b ? `${Math.round((a * 100) / b)}%` : '—');
  sum.append(el('h2', null, t('staff.h.summary')));
  const dl = el('dl', 'facts');
  const add = (k, v, tid) => { const dd = el('dd', null, v); if (tid) dd.dataset.testid = tid; dl.append(el('dt', null, t(k)), dd); };
  add('staff.h.items', h.year.items, 'h-items');
  add('staff.h.points', h.n_points, 'h-points');
  add('staff.h.low', t('staff.h.low_of', { n: h.points_low, min: h.min_items }), 'h-low');
  add('staff.h.mix', `X ${h.mix.points.X} / Y ${h.mix.points.Y} / Z ${h.mix.points.Z}`, 'h-mix');
  add('staff.h.mix_items', `X ${h.mix.items.X} / Y ${h.mix.items.Y} / Z ${h.mix.items.Z}`);
  add('staff.h.this_year', `${h.year.this_year} (${pct(h.year.this_year, h.year.items)})`, 'h-this-year');
  add('staff.h.ranges_low', h.ranges_low);
  add('staff.h.without_point', h.year.without_point);
  sum.append(dl);
  box.append(sum);
  if (h.ranges.length) {
    const c = el('div', 'card');
    c.append(el('h2', null, t('staff.h.ranges')));
    const tb = table(c, ['staff.h.code', 'staff.h.name', 'staff.h.weight', 'staff.h.npoints', 'staff.h.needed']);
    for (const r of h.ranges) {
      const tr = rowOf([r.code, r.name, `${r.weight}%`, r.points, r.points_needed]);
      if (r.low) tr.className = 'low';
      tb.append(tr);
    }
    box.append(c);
  }
  if (h.points.length) {
    const c = el('div', 'card');
    c.append(el('h2', null, t('staff.h.per_point')));
    const tb = table(c, ['staff.h.code', 'staff.h.name', 'staff.h.importance', 'staff.h.nitems', 'staff.h.napproved']);
    for (const p of h.points) {
      const tr = rowOf([p.code, p.name, p.importance || '', p.items, p.approved]);
      if (p.low) tr.className = 'low';
      tr.dataset.point = p.code;
      tb.append(tr);
    }
    box.append(c);
  }
}

function table(parent, heads) {
  const tbl = el('table', 'grid');
  const tr = el('tr');
  for (const h of heads) tr.append(el('th', null, t(h)));
  const thead = el('thead');
  thead.append(tr);
  const tb = el('tbody');
  tbl.append(thead, tb);
  parent.append(tbl);
  return tb;
}

// ---- routing and language ----

const VIEWS = ['login', 'bank', 'item', 'edit', 'import', 'health', 'wait'];
function show(v) {
  for (const x of VIEWS) $(`view-${x}`).hidden = x !== v;
  $('staff-nav').hidden = !S.staff;
  $('staff-who').hidden = !S.staff;
}

async function route() {
  if (!S.connected) { show('wait'); return; }
  if (!S.staff) { show('login'); return; }
  const [, view, arg] = (location.hash || '#/bank').match(/^#\/([a-z]+)\/?(.*)$/) || [null, 'bank', ''];
  const uid = decodeURIComponent(arg || '');
  switch (view) {
    case 'item': show('item'); await loadItem(uid); break;
    case 'edit': {
      // The form of the item edited before must not stay (and be saved) while this one loads.
      S.editing = null;
      $('edit-form').replaceChildren();
      $('edit-diag').replaceChildren();
      $('edit-heading').textContent = t('staff.edit.heading', { uid });
      show('edit');
      const m = await call({ type: 'bank_item', uid });
      if (m.type === 'bank_item') drawEdit(unsignMedia(m.item));
      break;
    }
    case 'new': show('edit'); drawEdit({ type: 'single', options: ['', '', '', ''] }); break;
    case 'import': show('import'); break;
    case 'health': show('health'); break;
    default: show('bank'); await loadList();
  }
}
window.addEventListener('hashchange', () => { showError(null); route(); });

function applyI18n() {
  document.documentElement.lang = S.lang === 'en' ? 'en' : 'zh-CN';
  document.title = t('staff.title');
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll('[data-i18n-aria]')) e.setAttribute('aria-label', t(e.dataset.i18nAria));
  if (S.catalog) fillSelects();
  if (S.staff) $('staff-roles').textContent = S.staff.roles.map((r) => t(`staff.role.${r}`)).join('、');
}
$('lang-toggle').addEventListener('click', () => {
  S.lang = S.lang === 'en' ? 'zh-CN' : 'en';
  try { localStorage.setItem('kc.lang', S.lang); } catch { /* ignore */ }
  applyI18n();
  if (S.staff) route();
});

applyI18n();
show('wait');
connect();
