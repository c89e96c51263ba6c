// Kaochang exam-affairs page (考务): paper templates and the papers of sessions over
// kaochang.v1 (docs/PROTOCOL.md, staff messages). Supervisors (督导员) see everything and may
// verify; preparing, checking and uploading need affairs or admin.
const VERSION = new URL(import.meta.url).search;
const { translate, LANGS } = await import(`./i18n.js${VERSION}`);

const PROTOCOL = 'kaochang.v1';
const K_TOKEN = 'kc.staff.token';

const $ = (id) => document.getElementById(id);
const store = {
  get(k) { try { return sessionStorage.getItem(k); } catch { return null; } },
  set(k, v) { try { sessionStorage.setItem(k, v); } catch { /* ignore */ } },
  del(k) { try { sessionStorage.removeItem(k); } catch { /* ignore */ } },
};

const S = {
  lang: (() => { try { const l = localStorage.getItem('kc.lang'); return LANGS.includes(l) ? l : 'zh-CN'; } catch { return 'zh-CN'; } })(),
  ws: null, connected: false, nextId: 1, waiting: new Map(),
  token: store.get(K_TOKEN), staff: null, maxMessage: 65536, tpl: null, session: null,
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
function rowOf(cells) {
  const tr = el('tr');
  for (const c of cells) tr.append(c instanceof Node ? (() => { const td = el('td'); td.append(c); return td; })() : el('td', null, c));
  return tr;
}
function lines(ul, list) {
  ul.replaceChildren();
  for (const l of list || []) ul.append(el('li', null, l));
}

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
  const key = m.code === 'not_found' ? 'staff.err.not_found.affairs' : `staff.err.${m.code}`;
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
  route();
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
    if (!location.hash || location.hash === '#/login') location.hash = '#/templates';
    welcome(m);
  }
});

$('logout').addEventListener('click', () => {
  store.del(K_TOKEN);
  location.hash = '#/login';
  location.reload();
});

// ---- templates ----

function verdict(feasible, problems) {
  return feasible ? t('aff.feasible') : t('aff.infeasible', { n: problems });
}

async function loadTemplates() {
  const m = await call({ type: 'paper_templates' });
  if (m.type !== 'paper_templates') return;
  S.maxMessage = m.max_message;
  const body = $('templates');
  body.replaceChildren();
  for (const r of m.templates) {
    const v = el('span', r.feasible ? 'feasible-yes' : 'feasible-no', verdict(r.feasible, r.problems));
    const tr = rowOf([r.code, r.title, r.mode_label, r.total, [r.occupation, r.level ? t(`staff.level.${r.level}`) : ''].filter(Boolean).join(' '),
      v, fmtTime(r.checked_at)]);
    tr.className = `row-link${S.tpl === r.code ? ' selected' : ''}`;
    tr.dataset.code = r.code;
    tr.addEventListener('click', () => showTemplate(r.code));
    body.append(tr);
  }
  if (!m.templates.length) {
    const td = el('td', 'muted', t('aff.tpl.empty'));
    td.colSpan = 7;
    const tr = el('tr');
    tr.append(td);
    body.append(tr);
  }
}

async function showTemplate(code) {
  const m = await call({ type: 'paper_template', code });
  if (m.type !== 'paper_template') return;
  S.tpl = code;
  for (const tr of $('templates').children) tr.classList.toggle('selected', tr.dataset.code === code);
  const tp = m.template, sp = tp.spec || {};
  $('tpl').hidden = false;
  $('tpl-title').textContent = `${tp.code} · ${tp.title}`;
  const dl = $('tpl-facts');
  dl.replaceChildren();
  const add = (k, v) => dl.append(el('dt', null, t(k)), el('dd', null, v));
  add('aff.col.mode', tp.mode_label);
  add('aff.col.total', tp.total);
  const d = sp.difficulty;
  add('aff.tpl.difficulty', d && d.target ? `${d.target} ± ${d.tolerance}` : t('aff.tpl.none'));
  const imp = sp.importance;
  add('aff.tpl.importance', tp.mode === 'blueprint' && imp ? `X ≥ ${imp.X}% / Y ≤ ${imp.Y}% / Z ≤ ${imp.Z}%` : t('aff.tpl.none'));
  add('aff.tpl.exposure', sp.exposure_cap && sp.exposure_cap < 100 ? `${sp.exposure_cap}%` : t('aff.tpl.none'));
  const sb = $('tpl-sections');
  sb.replaceChildren();
  for (const s of sp.sections || []) {
    const count = s.count ?? (s.items ? s.items.length : '');
    const diff = Array.isArray(s.difficulty) && s.difficulty.length ? `${s.difficulty[0]}–${s.difficulty[1]}` : '';
    sb.append(rowOf([s.title, t(`staff.type.${s.type}`), count, s.points ?? '', diff]));
  }
  drawVerdict(tp.feasible, tp.report, `${fmtTime(tp.checked_at)} · ${verdict(tp.feasible, tp.report.length)}`);
}

function drawVerdict(feasible, report, text) {
  $('tpl-verdict').textContent = feasible ? `${text} — ${t('aff.tpl.report_ok')}` : text;
  $('tpl-verdict').className = feasible ? 'ok' : 'bad';
  lines($('tpl-report'), report);
}

$('tpl-check').addEventListener('click', async () => {
  if (!S.tpl) return;
  $('tpl-check').disabled = true;
  const m = await call({ type: 'paper_template_check', code: S.tpl });
  $('tpl-check').disabled = false;
  if (m.type !== 'paper_template_check') return;
  drawVerdict(m.feasible, m.report, t('aff.tpl.checked', { pool: m.pool, verdict: verdict(m.feasible, m.problems) }));
  loadTemplates();
});

$('upload-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const file = $('upload-file').files[0];
  if (!file) { showError({ code: 'empty_file' }); return; }
  const text = await file.text();
  // The server closes a connection that sends more than server.max_message bytes.
  if (new TextEncoder().encode(text).length + file.name.length + 200 > S.maxMessage) {
    showError(null);
    $('error').textContent = t('aff.up.too_big', { n: S.maxMessage });
    $('error').hidden = false;
    return;
  }
  $('upload-submit').disabled = true;
  const m = await call({ type: 'paper_template_import', file: file.name, text, dry_run: $('upload-dry').checked });
  $('upload-submit').disabled = false;
  if (m.type !== 'paper_template_import') return;
  $('upload-report').hidden = false;
  const res = $('upload-result');
  if (!m.valid) {
    res.textContent = t('aff.up.invalid', { n: m.problems });
    res.className = 'bad';
  } else {
    res.textContent = `${t('aff.up.ok', { code: m.code, mode: m.mode_label, sections: m.sections, total: m.total,
      verdict: verdict(m.feasible, m.problems) })} ${t(m.stored ? 'aff.up.stored' : 'aff.up.dry_done')}`;
    res.className = m.feasible ? 'ok' : 'bad';
  }
  lines($('upload-diag'), m.diag);
  if (m.stored) { await loadTemplates(); showTemplate(m.code); }
});

// ---- sessions ----

async function loadSessions() {
  const m = await call({ type: 'exam_sessions' });
  if (m.type !== 'exam_sessions') return;
  const body = $('sessions');
  body.replaceChildren();
  for (const s of m.sessions) {
    const tr = rowOf([s.code, s.title, s.template || s.paper || '', s.forms ? t('aff.forms.n', { n: s.forms }) : t('aff.forms.per'),
      fmtTime(s.opens_at), fmtTime(s.closes_at), s.candidates, s.papers, fmtTime(s.prepared_at)]);
    tr.className = `row-link${S.session === s.code ? ' selected' : ''}`;
    tr.dataset.code = s.code;
    tr.addEventListener('click', () => selectSession(s));
    body.append(tr);
  }
  if (!m.sessions.length) {
    const td = el('td', 'muted', t('aff.ses.empty'));
    td.colSpan = 9;
    const tr = el('tr');
    tr.append(td);
    body.append(tr);
  }
}

function selectSession(s) {
  S.session = s.code;
  for (const tr of $('sessions').children) tr.classList.toggle('selected', tr.dataset.code === s.code);
  $('ses').hidden = false;
  $('ses-title').textContent = `${s.code} · ${s.title}`;
  $('ses-result').textContent = '';
  $('ses-diag').replaceChildren();
  $('ses-report').textContent = '';
}

async function busy(btn, fn) {
  btn.disabled = true;
  try { await fn(); } finally { btn.disabled = false; }
}

$('ses-prepare').addEventListener('click', () => busy($('ses-prepare'), async () => {
  const m = await call({ type: 'session_prepare', code: S.session });
  if (m.type !== 'session_prepare') return;
  const res = $('ses-result');
  $('ses-report').textContent = '';
  if (!m.ok) {
    res.textContent = t('aff.prep.bad');
    res.className = 'bad';
    lines($('ses-diag'), m.diag);
    return;
  }
  let text = t('aff.prep.ok', m);
  if (m.made) text += ` ${m.exposure_limit ? t('aff.prep.exposure', { max: m.max_on, limit: m.exposure_limit }) : t('aff.prep.nocap', { max: m.max_on })}`;
  if (m.neighbours_same) text += ` ${t('aff.prep.neigh', { n: m.neighbours_same })}`;
  res.textContent = text;
  res.className = 'ok';
  lines($('ses-diag'), m.diag);
  await loadSessions();
}));

$('ses-verify').addEventListener('click', () => busy($('ses-verify'), async () => {
  const m = await call({ type: 'session_verify', code: S.session });
  if (m.type !== 'session_verify') return;
  const res = $('ses-result');
  res.textContent = m.ok ? t('aff.ver.ok', { n: m.checked }) : t('aff.ver.bad', { p: m.problems, n: m.checked });
  res.className = m.ok ? 'ok' : 'bad';
  lines($('ses-diag'), m.diag);
}));

$('ses-report-btn').addEventListener('click', () => busy($('ses-report-btn'), async () => {
  const m = await call({ type: 'session_report', code: S.session });
  if (m.type === 'session_report') $('ses-report').textContent = m.text;
}));

// ---- routing and language ----

const VIEWS = ['login', 'templates', 'sessions', 'wait'];
function show(v) {
  for (const x of VIEWS) $(`view-${x}`).hidden = x !== v;
  $('staff-nav').hidden = !S.staff;
  $('staff-who').hidden = !S.staff;
}

async function route() {
  if (!S.connected) { show('wait'); return; }
  if (!S.staff) { show('login'); return; }
  const view = (location.hash.match(/^#\/([a-z]+)/) || [null, 'templates'])[1];
  if (view === 'sessions') { show('sessions'); await loadSessions(); return; }
  show('templates');
  await loadTemplates();
  if (S.tpl) showTemplate(S.tpl);
}
window.addEventListener('hashchange', () => { showError(null); route(); });

function applyI18n() {
  document.documentElement.lang = S.lang === 'en' ? 'en' : 'zh-CN';
  document.title = t('aff.title');
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll('[data-i18n-aria]')) e.setAttribute('aria-label', t(e.dataset.i18nAria));
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
