// Kaochang candidate client (protocol kaochang.v1, docs/PROTOCOL.md).
//
// The promise: never lose an answer, and never show 已保存 for what the server does not
// hold. Every change gets the next per-attempt `seq` and sits in a pending map (mirrored in
// sessionStorage, keyed by ticket) until the server's `ack` for it: `applied` (the server
// now holds this change: 已保存) or not (the server holds another change of the item at least
// as new, `held_seq`, e.g. from a second tab: this page's value is dropped and a fresh
// `paper` brings the server's). After a reconnect or a reload everything still pending is
// sent again (a replay of what the server holds is acked as applied). Every `paper` is the
// truth for the items without a newer pending change, and the seq counter continues from
// its `last_seq` at least. The server owns time: the countdown is only a display of
// `deadline - server_time`.

// i18n.js is loaded with this module's own ?v= so a new build busts the cache of both.
const VERSION = new URL(import.meta.url).search;
const { translate, LANGS } = await import(`./i18n.js${VERSION}`);
const { renderItem: renderItemView, BLANK_SEP } = await import(`./item-view.js${VERSION}`);
const { parseSealed, openSealed } = await import(`./seal.js${VERSION}`);

const PROTOCOL = 'kaochang.v1';
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5000;
const HEARTBEAT_MS = 15000;
const WATCHDOG_MS = 5000;
const SILENCE_MS = 20000;        // a request unanswered this long: the link is dead, reconnect
const RED_UNDER_MS = 5 * 60 * 1000;
const RETRY_MS = 1500;           // busy / internal: retry after this
const MAX_EVENTS_PER_HEARTBEAT = 32;
const MAX_EVENTS_QUEUED = 256;
const TYPING_MS = 800;           // text answers are sent once typing pauses this long
const SUBMIT_WAIT_MS = 15000;    // submit even if some answer is still unacknowledged by then
const POLL_AFTER_DEADLINE_MS = 5000;
const SEQ_AHEAD = 1000000;       // the server refuses a seq this far beyond its last_seq (bad_seq)

// ---------------------------------------------------------------------------------------
// Storage (sessionStorage survives a reload of this tab; localStorage holds the language)

const store = {
  get(k) { try { return sessionStorage.getItem(k); } catch { return null; } },
  set(k, v) { try { sessionStorage.setItem(k, v); } catch { /* storage full or off */ } },
  del(k) { try { sessionStorage.removeItem(k); } catch { /* ignore */ } },
};
const K_TOKEN = 'kc.token';
const kSeq = (ticket) => `kc.seq.${ticket}`;
const kPending = (ticket) => `kc.pending.${ticket}`;
const kIndex = (ticket) => `kc.index.${ticket}`;
// The last whole paper the server sent (with its hash): `start` sends the hash and the server
// answers {"unchanged":true} instead of the items when it still is the paper.
const kPaper = (ticket) => `kc.paper.${ticket}`;
const HASH_RE = /^[0-9a-f]{64}$/;

function initialLang() {
  let saved = null;
  try { saved = localStorage.getItem('kc.lang'); } catch { /* ignore */ }
  return LANGS.includes(saved) ? saved : 'zh-CN';
}

// ---------------------------------------------------------------------------------------
// State

const S = {
  lang: initialLang(),
  screen: 'wait',

  ws: null,
  connected: false,
  everConnected: false,
  failedOnce: false,          // a connection attempt has failed
  lostOnce: false,            // an open connection has been lost
  backoff: BACKOFF_MIN_MS,
  reconnectTimer: 0,
  lastRx: 0,
  nextId: 1,
  reqs: new Map(),            // request id -> {kind, ...}

  token: store.get(K_TOKEN),
  authed: false,              // this connection is logged in
  ready: false,               // this connection has received `paper` (answers may be sent)
  ticket: null,
  welcome: null,
  pendingLogin: null,
  wantStart: false,
  starting: false,

  paper: null,
  held: null,                 // {hash, paper}: the last whole paper received, for `paper_hash`
  sealed: null,               // {hash, body}: the paper fetched sealed before the start (memory only)
  fetching: false,
  items: [],
  index: 0,
  types: new Map(),           // answerable item -> its type
  answers: new Map(),         // item -> response shown ("" = none; fill blanks joined by U+001F)
  committedSeq: new Map(),    // item -> highest seq the server is known to hold
  pending: new Map(),         // item -> {response, seq}: the newest change, not yet acked as applied
  saveState: new Map(),       // item -> 'saving' | 'saved' | 'stale' | 'error'
  saveErr: new Map(),         // item -> error code
  maxSeq: 0,
  serverLastSeq: 0,           // last_seq of the last paper

  deadline: null,             // server ms
  syncServer: 0,              // server_time at the last sync ...
  syncPerf: 0,                // ... and performance.now() then (monotonic)
  locked: false,
  lastPoll: 0,

  submitRequested: false,
  submitSent: false,
  submitAskedAt: 0,
  final: null,                // {reason, score, submitted_at}

  events: [],
  error: null,                // {key, params} shown in the current screen
};

const $ = (id) => document.getElementById(id);
const t = (key, params) => translate(S.lang, key, params);

// ---------------------------------------------------------------------------------------
// Connection

function wsUrl() {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

function connect() {
  clearTimeout(S.reconnectTimer);
  S.reconnectTimer = 0;
  let ws;
  try {
    ws = new WebSocket(wsUrl(), PROTOCOL);
  } catch {
    scheduleReconnect();
    return;
  }
  S.ws = ws;
  ws.binaryType = 'arraybuffer';        // the sealed paper is the one binary message
  ws.onopen = () => {
    if (S.ws !== ws) return;
    S.connected = true;
    S.everConnected = true;
    S.backoff = BACKOFF_MIN_MS;
    S.lastRx = performance.now();
    renderBanner();
    onOpen();
  };
  ws.onmessage = (ev) => {
    if (S.ws !== ws) return;
    S.lastRx = performance.now();
    if (ev.data instanceof ArrayBuffer) { onSealed(ev.data); return; }
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m && typeof m === 'object') handle(m);
  };
  ws.onerror = () => { /* a close event follows */ };
  ws.onclose = () => { if (S.ws === ws) onClosed(); };
}

// Drops the current socket (if any) and schedules a reconnect.
function dropSocket() {
  const ws = S.ws;
  if (ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(); } catch { /* ignore */ }
  }
  onClosed();
}

function onClosed() {
  S.ws = null;
  if (S.connected) S.lostOnce = true;
  else S.failedOnce = true;
  S.connected = false;
  S.authed = false;
  S.ready = false;
  S.starting = false;
  S.fetching = false;
  S.submitSent = false;
  // Events of heartbeats that got no reply go out again with the next one.
  const lost = [];
  for (const r of S.reqs.values()) if (r.kind === 'heartbeat' && r.events) lost.push(...r.events);
  if (lost.length) S.events.unshift(...lost);
  S.reqs.clear();
  for (const item of S.pending.keys()) S.saveState.set(item, 'saving');
  renderBanner();
  renderExamStatus();
  scheduleReconnect();
}

function scheduleReconnect() {
  if (S.reconnectTimer || S.takenOver) return;
  const delay = S.backoff;
  S.backoff = Math.min(S.backoff * 2, BACKOFF_MAX_MS);
  S.reconnectTimer = setTimeout(connect, delay);
}

function send(msg, req) {
  if (!S.ws || !S.connected || S.ws.readyState !== WebSocket.OPEN) return false;
  if (req) {
    msg.id = S.nextId++;
    req.at = performance.now();
    S.reqs.set(msg.id, req);
  }
  try {
    S.ws.send(JSON.stringify(msg));
  } catch {
    if (req) S.reqs.delete(msg.id);
    return false;
  }
  return true;
}

function onOpen() {
  if (S.token) {
    send({ type: 'resume', token: S.token }, { kind: 'resume' });
  } else {
    if (S.pendingLogin) sendLogin();
    else if (S.screen === 'wait') showScreen('login');
    send({ type: 'time' }, { kind: 'time' });
  }
}

function sendLogin() {
  const l = S.pendingLogin;
  if (!l) return;
  if (send({ type: 'login', ticket: l.ticket, id_number: l.id_number }, { kind: 'login' })) {
    setError(null);
  } else {
    setError('err.offline_login');
  }
}

function sendStart() {
  if (S.starting) return;
  const msg = { type: 'start' };
  if (S.held) msg.paper_hash = S.held.hash;     // the items come only if the paper changed
  else if (S.sealed) msg.sealed_hash = S.sealed.hash;   // only the key comes
  if (send(msg, { kind: 'start' })) S.starting = true;
  renderInfo();
}

function sendAnswer(item) {
  const p = S.pending.get(item);
  if (!p || !S.ready) return;
  // A fill-in item's blanks travel as an array (docs/PROTOCOL.md); "" clears it.
  const response = S.types.get(item) === 'fill' && p.response ? p.response.split(BLANK_SEP) : p.response;
  send({ type: 'answer', item, response, seq: p.seq }, { kind: 'answer', item, seq: p.seq });
}

function resendPending() {
  for (const item of S.pending.keys()) sendAnswer(item);
}

// Re-authenticates this connection (after `unauthenticated` / `not_started`).
function reauth() {
  S.authed = false;
  S.ready = false;
  renderBanner();
  if (S.token) send({ type: 'resume', token: S.token }, { kind: 'resume' });
  else showScreen('login');
}

// ---------------------------------------------------------------------------------------
// Messages from the server

// Which requests a reply without our id settles (pushes, or a server that omits the id).
const SETTLES = {
  welcome: (r) => r.kind === 'login' || r.kind === 'resume',
  paper: (r) => r.kind === 'start',
  submitted: (r) => r.kind === 'submit',
  time: (r) => r.kind === 'heartbeat' || r.kind === 'time',
};

function handle(m) {
  let req = Number.isInteger(m.id) ? S.reqs.get(m.id) : undefined;
  if (req) {
    S.reqs.delete(m.id);
  } else if (m.type === 'ack') {
    for (const [id, r] of S.reqs) {
      if (r.kind === 'answer' && r.item === m.item && r.seq <= m.seq) S.reqs.delete(id);
    }
  } else if (SETTLES[m.type]) {
    for (const [id, r] of S.reqs) {
      if (SETTLES[m.type](r)) { S.reqs.delete(id); req = r; break; }
    }
  }
  switch (m.type) {
    case 'welcome': onWelcome(m); break;
    case 'paper': onPaper(m); break;
    case 'ack': onAck(m); break;
    case 'submitted': onSubmitted(m); break;
    case 'time':
      if (Number.isFinite(m.server_time)) setClock(m.server_time, m.deadline);
      break;
    case 'resync':
      // Pushes were dropped for this slow connection: the paper reply has everything.
      if (S.authed) { S.starting = false; sendStart(); }
      break;
    case 'error':
      if (m.code === 'taken_over') onTakenOver();
      else onError(m, req);
      break;
    default: break;
  }
}

// Another window of this candidate (or this one after a reconnect the server had not
// noticed yet) resumed the attempt: the server closed this connection. Reconnecting by
// itself would take the attempt back and the two windows would fight; the candidate
// decides here instead.
function onTakenOver() {
  S.takenOver = true;
  S.locked = true;
  $('taken-over').hidden = false;
  renderExam();
}

function takeBack() {
  S.takenOver = false;
  S.locked = false;
  $('taken-over').hidden = true;
  S.backoff = BACKOFF_MIN_MS;
  if (!S.ws) connect();
}

function onWelcome(m) {
  S.authed = true;
  S.welcome = m;
  S.pendingLogin = null;
  if (typeof m.token === 'string' && m.token) {
    S.token = m.token;
    store.set(K_TOKEN, m.token);
  }
  const ticket = m.candidate && m.candidate.ticket ? String(m.candidate.ticket) : '';
  if (ticket !== S.ticket) loadLocal(ticket);
  if (Number.isFinite(m.server_time)) setClock(m.server_time, m.attempt ? m.attempt.deadline : null);
  $('login-idno').value = '';
  renderHeader();
  renderBanner();
  const status = m.attempt ? m.attempt.status : 'not_started';
  if (status === 'not_started' && !S.wantStart) {
    fetchSealed();
    showScreen('info');
    renderInfo();
  } else {
    sendStart();
  }
}

// While the candidate waits for the start: the paper, sealed, so that the start itself needs
// only its key (a hall starting at once would otherwise wait for every paper at once).
function fetchSealed() {
  if (S.held || S.sealed || S.fetching) return;
  if (send({ type: 'paper_fetch' }, { kind: 'fetch' })) S.fetching = true;
}

function onSealed(buf) {
  for (const [id, r] of S.reqs) if (r.kind === 'fetch') { S.reqs.delete(id); break; }
  S.fetching = false;
  const sealed = parseSealed(buf);
  if (sealed) S.sealed = sealed;        // else: the start brings the whole paper
}

// The local state of one ticket: highest seq used, answers not yet acknowledged, position.
function loadLocal(ticket) {
  S.ticket = ticket;
  S.pending.clear();
  S.saveState.clear();
  S.saveErr.clear();
  S.maxSeq = Number(store.get(kSeq(ticket))) || 0;
  try {
    const raw = JSON.parse(store.get(kPending(ticket)) || '{}');
    for (const [item, p] of Object.entries(raw)) {
      if (p && typeof p.response === 'string' && Number.isInteger(p.seq)) {
        S.pending.set(Number(item), { response: p.response, seq: p.seq });
        S.maxSeq = Math.max(S.maxSeq, p.seq);
      }
    }
  } catch { /* corrupt: ignore */ }
  S.index = Number(store.get(kIndex(ticket))) || 0;
  S.held = null;
  S.sealed = null;
  try {
    const held = JSON.parse(store.get(kPaper(ticket)) || 'null');
    if (held && HASH_RE.test(held.hash) && Array.isArray(held.items)) S.held = { hash: held.hash, paper: held };
  } catch { /* corrupt: the next start fetches the whole paper */ }
}

// Keeps the whole paper: in memory, and in sessionStorage when it fits (a reload then needs
// no items either); without it a reload just sends no hash.
function keepPaper(paper) {
  if (!HASH_RE.test(paper.hash)) { S.held = null; return; }
  S.held = { hash: paper.hash, paper };
  if (!S.ticket) return;
  store.del(kPaper(S.ticket));       // never an old paper under a new hash
  store.set(kPaper(S.ticket), JSON.stringify(paper));
}

function savePending() {
  if (!S.ticket) return;
  const o = {};
  for (const [item, p] of S.pending) o[item] = p;
  store.set(kPending(S.ticket), JSON.stringify(o));
}

function nextSeq() {
  S.maxSeq += 1;
  if (S.ticket) store.set(kSeq(S.ticket), String(S.maxSeq));
  return S.maxSeq;
}

function onPaper(m) {
  S.starting = false;
  let paper = m.paper || { items: [] };
  if (paper.sealed) {
    let opened = null;
    try {
      if (S.sealed && S.sealed.hash === paper.hash) opened = openSealed(S.sealed, paper.key);
    } catch { /* a damaged copy: ask for the paper itself below */ }
    S.sealed = null;
    if (!opened) { sendStart(); return; }
    paper = { hash: paper.hash, ...opened };
    keepPaper(paper);
  } else if (paper.unchanged) {
    if (S.held && S.held.hash === paper.hash) {
      paper = S.held.paper;             // the paper this page holds is still the paper
    } else {
      // Nothing held under that hash (storage cleared meanwhile): ask for the whole paper.
      S.held = null;
      if (S.ticket) store.del(kPaper(S.ticket));
      sendStart();
      return;
    }
  } else {
    keepPaper(paper);
  }
  S.wantStart = false;
  const attempt = m.attempt || {};
  S.paper = paper;
  S.items = Array.isArray(S.paper.items) ? S.paper.items : [];
  S.types.clear();
  for (const it of S.items) for (const leaf of leavesOf(it)) S.types.set(leaf.item, leaf.type);
  if (Number.isFinite(m.server_time)) setClock(m.server_time, attempt.deadline);

  // Committed answers from the server ...
  S.answers.clear();
  S.committedSeq.clear();
  for (const a of Array.isArray(m.answers) ? m.answers : []) {
    S.answers.set(a.item, Array.isArray(a.response) ? a.response.join(BLANK_SEP) : a.response);
    S.committedSeq.set(a.item, a.seq);
  }
  S.serverLastSeq = Number(m.last_seq) || 0;
  S.maxSeq = Math.max(S.maxSeq, S.serverLastSeq);
  if (S.ticket) store.set(kSeq(S.ticket), String(S.maxSeq));

  if (attempt.status === 'submitted') {
    finish({ reason: attempt.submit_reason, score: attempt.score, submitted_at: attempt.submitted_at });
    return;
  }

  // ... overlaid by local ones the server has not committed yet (higher seq).
  const known = new Set(S.types.keys());
  S.saveState.clear();
  for (const item of S.committedSeq.keys()) S.saveState.set(item, 'saved');
  for (const [item, p] of [...S.pending]) {
    if (known.has(item) && p.seq > (S.committedSeq.get(item) || 0)) {
      S.answers.set(item, p.response);
      S.saveState.set(item, 'saving');
    } else {
      S.pending.delete(item);
    }
  }
  savePending();
  S.ready = true;
  S.index = Math.min(Math.max(0, S.index), Math.max(0, S.items.length - 1));
  const rem = remainingMs();
  S.locked = rem != null && rem <= 0;
  if (S.screen !== 'exam') setError(null);
  showScreen('exam');
  buildNav();
  renderExam();
  tick();
  resendPending();
  maybeSubmit();
}

// An ack names the change (item, seq), whether the server now holds it (applied) and the seq
// it holds for the item (held_seq). Only the newest local change of an item decides its
// state; acks of older ones change nothing but what is known to be held.
function onAck(m) {
  const item = m.item;
  const seq = Number(m.seq) || 0;
  const applied = m.applied === true;
  const held = Number(m.held_seq) || 0;
  S.committedSeq.set(item, Math.max(S.committedSeq.get(item) || 0, held));
  const p = S.pending.get(item);
  if (p && applied && p.seq === seq) {
    S.pending.delete(item);
    savePending();
    S.saveState.set(item, 'saved');
    S.saveErr.delete(item);
  } else if (p && !applied && (held > p.seq || (held === p.seq && seq === p.seq))) {
    // The server holds another change of this item, at least as new as this page's newest
    // (another tab or device): this page's value will never be applied. Stop sending it and
    // take the server's value and seq from a fresh paper.
    S.pending.delete(item);
    savePending();
    S.saveState.set(item, 'stale');
    S.saveErr.delete(item);
    refreshPaper();
  } else if (!p && applied && S.saveState.get(item) === 'saving') {
    S.saveState.set(item, 'saved');
  }
  renderExamStatus();
  maybeSubmit();
}

// Asks for the paper again (start is idempotent): its answers are what the server holds.
function refreshPaper() {
  if (S.ready && !S.final) sendStart();
}

// The highest seq this page can go on from when the server refused one as too far ahead:
// what the server was last known to hold, and pending changes numbered sanely.
function saneMaxSeq(skip) {
  let n = Math.max(S.serverLastSeq, 0, ...S.committedSeq.values());
  const limit = n + SEQ_AHEAD;
  for (const [item, p] of S.pending) if (item !== skip && p.seq <= limit) n = Math.max(n, p.seq);
  return n;
}

function onSubmitted(m) {
  finish({ reason: m.reason, score: m.score, submitted_at: m.submitted_at });
}

function finish(f) {
  S.final = f;
  S.locked = true;
  S.submitRequested = false;
  S.pending.clear();
  savePending();
  closeConfirm();
  setError(null);
  showScreen('final');
  renderFinal();
}

function onError(m, req) {
  const code = String(m.code || 'unknown');
  const kind = req ? req.kind : null;
  switch (kind) {
    case 'login':
      S.pendingLogin = null;
      setError(errKey(code), { field: m.field || '', code, s: Math.ceil((Number(m.retry_after_ms) || 0) / 1000) });
      renderLogin();
      return;
    case 'resume':
      if (code === 'bad_token') {
        S.token = null;
        store.del(K_TOKEN);
        showScreen('login');
        setError('err.bad_token');
      } else if (code === 'busy' || code === 'internal') {
        setTimeout(() => { if (S.connected && !S.authed) reauth(); }, RETRY_MS);
      } else {
        setError(errKey(code), { field: m.field || '', code });
      }
      return;
    case 'fetch':
      // Without the sealed copy the start brings the paper itself; busy: once more later.
      S.fetching = false;
      if (code === 'busy' || code === 'internal') setTimeout(() => { if (S.authed && !S.ready) fetchSealed(); }, RETRY_MS);
      return;
    case 'start':
      S.starting = false;
      if (code === 'unauthenticated') { reauth(); return; }
      if (code === 'bad_field' && m.field === 'sealed_hash') { S.sealed = null; sendStart(); return; }
      if (code === 'bad_field' && m.field === 'paper_hash' && S.held) {
        // A held paper the server cannot take the hash of: forget it, fetch the paper whole.
        S.held = null;
        if (S.ticket) store.del(kPaper(S.ticket));
        sendStart();
        return;
      }
      if (code === 'busy' || code === 'internal') {
        setTimeout(() => { if (S.authed && !S.ready) sendStart(); }, RETRY_MS);
        return;
      }
      S.wantStart = false;
      if (S.screen !== 'exam') showScreen('info');
      setError(errKey(code), { field: m.field || '', code });
      renderInfo();
      return;
    case 'answer':
      onAnswerError(code, req, m);
      return;
    case 'submit':
      S.submitSent = false;
      if (code === 'unauthenticated' || code === 'not_started') { reauth(); return; }
      if (code === 'busy' || code === 'internal') { setTimeout(maybeSubmit, RETRY_MS); return; }
      setError(errKey(code), { field: m.field || '', code });
      return;
    case 'heartbeat':
    case 'time':
      if (code === 'unauthenticated' && S.token) reauth();
      return;
    default:
      // No request of ours: too_large or a protocol mismatch; say so.
      setError(errKey(code), { field: m.field || '', code });
  }
}

function onAnswerError(code, req, m) {
  const { item, seq } = req;
  const p = S.pending.get(item);
  const current = p && p.seq === seq;
  switch (code) {
    case 'busy':
    case 'internal':
      if (current) setTimeout(() => { if (S.pending.get(item) === p) sendAnswer(item); }, RETRY_MS);
      return;
    case 'unauthenticated':
    case 'not_started':
      reauth();          // resume -> start -> paper resends everything pending
      return;
    case 'submitted':
      if (current) { S.pending.delete(item); savePending(); }
      S.locked = true;
      sendStart();       // the paper tells the final state
      return;
    case 'time_over':
      S.locked = true;
      break;
    case 'bad_seq':
      // This page's seq counter ran far beyond what the server holds (storage from an old
      // page, say): number the change again from what the server holds and send it again.
      if (current && !p.renumbered) {
        S.maxSeq = saneMaxSeq(item);
        S.pending.set(item, { response: p.response, seq: nextSeq(), renumbered: true });
        savePending();
        sendAnswer(item);
        return;
      }
      break;
    default:
      break;
  }
  // The answer can never be saved as it is (bad_field, not_saved, time_over): say so and drop it.
  if (current) {
    S.pending.delete(item);
    savePending();
    S.saveState.set(item, 'error');
    S.saveErr.set(item, code);
  }
  if (code !== 'time_over') setError(errKey(code), { field: m.field || '', code });
  renderExam();
  maybeSubmit();
}

function errKey(code) {
  const known = ['bad_credentials', 'bad_token', 'unauthenticated', 'not_open', 'not_started',
    'time_over', 'submitted', 'busy', 'internal', 'not_saved', 'too_large', 'bad_field', 'bad_json',
    'unknown_type', 'bad_seq', 'already_connected', 'throttled'];
  return known.includes(code) ? `err.${code}` : 'err.unknown';
}

// ---------------------------------------------------------------------------------------
// Time (server-owned)

function setClock(serverTime, deadline) {
  S.syncServer = serverTime;
  S.syncPerf = performance.now();
  if (deadline !== undefined && deadline !== null) S.deadline = deadline;
}

function serverNow() {
  return S.syncServer + (performance.now() - S.syncPerf);
}

function remainingMs() {
  return S.deadline == null ? null : S.deadline - serverNow();
}

function formatRemaining(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const p2 = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${p2(m)}:${p2(s)}` : `${p2(m)}:${p2(s)}`;
}

function tick() {
  if (S.screen !== 'exam') return;
  const ms = remainingMs();
  const el = $('countdown');
  if (ms == null) {
    el.textContent = '--:--';
    return;
  }
  el.textContent = formatRemaining(ms);
  el.classList.toggle('urgent', ms < RED_UNDER_MS);
  if (ms <= 0) {
    if (!S.locked) {
      S.locked = true;
      closeConfirm();
      renderExam();
    }
    // The server submits at the deadline and pushes `submitted`; should the push be lost,
    // ask for the attempt's state now and then.
    const now = performance.now();
    if (S.ready && -ms > POLL_AFTER_DEADLINE_MS && now - S.lastPoll > POLL_AFTER_DEADLINE_MS) {
      S.lastPoll = now;
      S.starting = false;
      sendStart();
    }
  }
}

// ---------------------------------------------------------------------------------------
// Heartbeat, liveness and client events

// A request unanswered for SILENCE_MS means a dead link (a half-open TCP connection gives
// no close event) or a lost request: reconnect; resume then resends whatever is pending.
// Timers of a hidden tab may run late, but replies still arrive and settle requests, so a
// late timer alone never drops a healthy connection.
function watchdog() {
  if (!S.connected) return;
  const now = performance.now();
  for (const r of S.reqs.values()) {
    if (now - r.at > SILENCE_MS) {
      dropSocket();
      return;
    }
  }
}

function heartbeat() {
  if (!S.connected) return;
  if (S.authed) {
    const events = S.events.splice(0, MAX_EVENTS_PER_HEARTBEAT);
    const msg = { type: 'heartbeat', client_time: Date.now() };
    if (events.length) msg.events = events;
    if (!send(msg, { kind: 'heartbeat', events })) S.events.unshift(...events);
  } else {
    send({ type: 'time' }, { kind: 'time' });
  }
}

function recordEvent(kind) {
  if (!S.ticket || S.screen !== 'exam') return;
  S.events.push({ kind, at: Date.now() });
  if (S.events.length > MAX_EVENTS_QUEUED) S.events.splice(0, S.events.length - MAX_EVENTS_QUEUED);
}

window.addEventListener('blur', () => recordEvent('blur'));
window.addEventListener('focus', () => recordEvent('focus'));
document.addEventListener('visibilitychange', () => {
  recordEvent(document.visibilityState === 'hidden' ? 'visibility_hidden' : 'visibility_visible');
  if (document.visibilityState === 'visible' && S.connected) send({ type: 'time' }, { kind: 'time' });
});
document.addEventListener('copy', () => recordEvent('copy'));
document.addEventListener('paste', () => recordEvent('paste'));
document.addEventListener('fullscreenchange', () => {
  if (!document.fullscreenElement) recordEvent('fullscreen_exit');
});

// ---------------------------------------------------------------------------------------
// Answering and submitting

function canAnswer() {
  return S.screen === 'exam' && !S.locked && !S.final && !S.submitRequested;
}

function choose(item, response) {
  if (!canAnswer()) {
    renderItem();
    return;
  }
  if ((S.answers.get(item) || '') === response) return;
  const seq = nextSeq();
  S.answers.set(item, response);
  S.pending.set(item, { response, seq });
  savePending();
  S.saveState.set(item, 'saving');
  S.saveErr.delete(item);
  sendAnswer(item);
  renderExamStatus();
}


// The items a candidate answers: an item itself, or a composite's sub-items.
function leavesOf(it) {
  return it.type === 'composite' ? (Array.isArray(it.children) ? it.children : []) : [it];
}

function isAnswered(it) {
  const leaves = leavesOf(it);
  return leaves.length > 0 && leaves.every((l) => !!(S.answers.get(l.item) || ''));
}

// The save state of an item shown on one screen: its worst sub-item's for a composite.
function saveStateOf(it) {
  const states = leavesOf(it).map((l) => S.saveState.get(l.item));
  for (const s of ['error', 'stale', 'saving', 'saved']) if (states.includes(s)) return s;
  return undefined;
}

// Answers typed into text fields wait for a pause; choices go at once.
const typing = new Map();   // item -> {timer, response}
function respond(leaf, response) {
  if (leaf.type === 'fill' || leaf.type === 'short' || leaf.type === 'essay') {
    const t0 = typing.get(leaf.item);
    if (t0) clearTimeout(t0.timer);
    const entry = { response, timer: setTimeout(() => { typing.delete(leaf.item); choose(leaf.item, response); }, TYPING_MS) };
    typing.set(leaf.item, entry);
    return;
  }
  choose(leaf.item, response);
}

function flushTyping() {
  for (const [item, e] of [...typing]) {
    clearTimeout(e.timer);
    typing.delete(item);
    choose(item, e.response);
  }
}

function unansweredCount() {
  return S.items.filter((it) => !isAnswered(it)).length;
}

function openConfirm() {
  if (!canAnswer()) return;
  flushTyping();
  const n = unansweredCount();
  $('confirm-unanswered').textContent = n > 0
    ? t('confirm.unanswered', { n })
    : t('confirm.all_answered', { n: S.items.length });
  $('confirm-unanswered').classList.toggle('warn', n > 0);
  const d = $('confirm-dialog');
  if (!d.open) d.showModal();
  $('cancel-submit').focus();
}

function closeConfirm() {
  const d = $('confirm-dialog');
  if (d.open) d.close();
}

function confirmSubmit() {
  closeConfirm();
  if (S.final) return;
  S.submitRequested = true;
  S.submitAskedAt = performance.now();
  renderExam();
  maybeSubmit();
  // Unacknowledged answers hold the submit back, but not for ever.
  setTimeout(() => maybeSubmit(true), SUBMIT_WAIT_MS + 100);
}

function maybeSubmit(force = false) {
  if (!S.submitRequested || S.submitSent || !S.ready || S.final) return;
  const waited = performance.now() - S.submitAskedAt >= SUBMIT_WAIT_MS;
  if (S.pending.size > 0 && !(force && waited)) {
    renderSubmitProgress('submit.waiting');
    return;
  }
  if (send({ type: 'submit' }, { kind: 'submit' })) {
    S.submitSent = true;
    renderSubmitProgress('submit.sending');
  }
}

function logout() {
  S.token = null;
  store.del(K_TOKEN);
  if (S.ticket) store.del(kPaper(S.ticket));
  S.welcome = null;
  S.paper = null;
  S.held = null;
  S.items = [];
  S.final = null;
  S.ticket = null;
  S.wantStart = false;
  S.submitRequested = false;
  for (const e of typing.values()) clearTimeout(e.timer);
  typing.clear();
  S.types.clear();
  S.answers.clear();
  S.pending.clear();
  S.saveState.clear();
  S.events = [];
  setError(null);
  showScreen('login');
  renderHeader();
  // A fresh connection is a logged-out one.
  dropSocket();
  S.lostOnce = false;
  renderBanner();
  clearTimeout(S.reconnectTimer);
  S.reconnectTimer = 0;
  S.backoff = BACKOFF_MIN_MS;
  connect();
}

// ---------------------------------------------------------------------------------------
// Rendering

const SCREENS = ['wait', 'login', 'info', 'exam', 'final'];

function showScreen(name) {
  if (S.screen !== name) setError(null);
  S.screen = name;
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== name;
  $('exam-head').hidden = !(name === 'exam' || name === 'final') || !S.welcome;
  $('clock').hidden = name !== 'exam';
  document.body.dataset.screen = name;
  placeError();
  renderBanner();
}

function setError(key, params) {
  S.error = key ? { key, params } : null;
  renderError();
}

function renderError() {
  const el = $('error');
  if (!S.error) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.textContent = t(S.error.key, S.error.params);
  el.hidden = false;
}

function placeError() {
  const slot = document.querySelector(`#screen-${S.screen} .error-slot`);
  const el = $('error');
  if (slot && el.parentElement !== slot) slot.appendChild(el);
}

function renderBanner() {
  // Up means usable: connected and, for a candidate who has a token, logged in again.
  const up = S.connected && (S.authed || !S.token);
  const down = !up && (S.lostOnce || S.failedOnce);
  $('banner').hidden = !down;
  if (down) {
    $('banner-text').textContent = t(S.everConnected || S.token ? 'conn.lost' : 'conn.connecting');
    $('banner-detail').hidden = !(S.screen === 'exam' && S.pending.size > 0);
  }
}

function applyI18n() {
  document.documentElement.lang = S.lang === 'en' ? 'en' : 'zh-CN';
  document.title = t('app.title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of document.querySelectorAll('[data-i18n-aria]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAria));
  }
  $('wait-text').textContent = t(S.token ? 'conn.resuming' : 'conn.connecting');
  renderError();
  renderBanner();
  renderLogin();
  renderInfo();
  if (S.items.length) {
    buildNav();
    renderExam();
  }
  renderFinal();
}

function renderHeader() {
  const w = S.welcome;
  $('head-session').textContent = w && w.session ? w.session.title || '' : '';
  $('head-name').textContent = w && w.candidate ? w.candidate.name || '' : '';
  $('head-ticket').textContent = w && w.candidate ? w.candidate.ticket || '' : '';
}

function renderLogin() {
  const busy = !!S.pendingLogin;
  const b = $('login-submit');
  b.disabled = busy;
  b.textContent = t(busy ? 'login.busy' : 'login.submit');
}

function formatDuration(s) {
  s = Number(s) || 0;
  if (s < 60) return t('duration.seconds', { n: s });
  return t('duration.minutes', { n: Math.round(s / 60) });
}

function renderInfo() {
  const w = S.welcome;
  if (w) {
    $('info-name').textContent = w.candidate ? w.candidate.name : '';
    $('info-ticket').textContent = w.candidate ? w.candidate.ticket : '';
    $('info-session').textContent = w.session ? w.session.title : '';
    $('info-duration').textContent = w.session ? formatDuration(w.session.duration_s) : '';
  }
  const b = $('start-exam');
  const busy = S.starting || S.wantStart;
  b.disabled = busy;
  b.textContent = t(busy ? 'info.starting' : 'info.start');
}

function buildNav() {
  const grid = $('nav-grid');
  grid.textContent = '';
  S.items.forEach((it, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'nav-btn';
    b.dataset.testid = `nav-${i + 1}`;
    b.dataset.index = String(i);
    b.textContent = String(it.no || i + 1);
    grid.appendChild(b);
  });
}

function renderNav() {
  const buttons = $('nav-grid').children;
  let answered = 0;
  S.items.forEach((it, i) => {
    const b = buttons[i];
    if (!b) return;
    const has = isAnswered(it);
    if (has) answered++;
    const state = saveStateOf(it);
    b.classList.toggle('answered', has);
    b.classList.toggle('current', i === S.index);
    b.classList.toggle('unsaved', state === 'error' || (has && state === 'saving' && !S.connected));
    if (i === S.index) b.setAttribute('aria-current', 'step');
    else b.removeAttribute('aria-current');
    b.setAttribute('aria-label', `${t('exam.nav.item', { no: it.no || i + 1 })} · ${t(has ? 'exam.legend.answered' : 'exam.legend.unanswered')}`);
  });
  $('answered-count').textContent = t('exam.answered', { a: answered, n: S.items.length });
}

function renderItem() {
  const it = S.items[S.index];
  const body = $('item-body');
  if (!it) {
    body.textContent = '';
    return;
  }
  const prevSection = S.index > 0 ? S.items[S.index - 1].section : null;
  $('item-section').textContent = it.section || '';
  $('item-section').classList.toggle('repeat', !!it.section && it.section === prevSection);
  $('item-no').textContent = t('exam.item', { no: it.no || S.index + 1 });
  const shown = (leaf) => (typing.has(leaf.item) ? typing.get(leaf.item).response : S.answers.get(leaf.item) || '');
  renderItemView(body, it, {
    lang: S.lang,
    answerable: canAnswer(),
    response: it.type === 'composite' ? '' : shown(it),
    onChange: (r) => respond(it, r),
    childResponse: shown,
    onChildChange: respond,
    idPrefix: `item-${it.item}`,
    testPrefix: '',
  });
  $('prev').disabled = S.index <= 0;
  $('next').disabled = S.index >= S.items.length - 1;
}

function renderSaveStatus() {
  const it = S.items[S.index];
  const el = $('save-status');
  el.className = 'save-status';
  el.removeAttribute('title');
  if (!it) { el.textContent = ''; return; }
  const has = leavesOf(it).some((l) => !!(S.answers.get(l.item) || ''));
  const state = saveStateOf(it);
  let text;
  if (state === 'error') {
    const code = leavesOf(it).map((l) => S.saveErr.get(l.item)).find(Boolean);
    text = t('save.error');
    if (code) el.title = t(errKey(code), { code, field: '' });
    el.classList.add('is-error');
  } else if (state === 'stale') {
    text = t('save.stale');
    el.classList.add('is-saving');
  } else if (state === 'saving') {
    text = t('save.saving');
    el.classList.add('is-saving');
  } else if (has || state === 'saved') {
    text = t('save.saved');
    el.classList.add('is-saved');
  } else {
    text = t('save.none');
    el.classList.add('is-none');
  }
  el.textContent = text;
}

function renderSubmitProgress(key) {
  const el = $('submit-progress');
  if (!key) { el.hidden = true; el.textContent = ''; return; }
  el.hidden = false;
  el.textContent = t(key);
}

function renderExam() {
  if (!S.items.length) return;
  renderNav();
  renderItem();
  renderSaveStatus();
  $('time-up').hidden = !(S.locked && !S.final);
  $('submit').disabled = !canAnswer();
  if (!S.submitRequested) renderSubmitProgress(null);
  else renderSubmitProgress(S.submitSent ? 'submit.sending' : 'submit.waiting');
  document.body.classList.toggle('locked', S.locked);
}

// Cheaper update after an answer changes state: navigator and save status only (the
// inputs already show what the candidate did).
function renderExamStatus() {
  if (S.screen !== 'exam' || !S.items.length) return;
  renderNav();
  renderSaveStatus();
  renderBanner();
}

function formatNumber(x) {
  const n = Number(x);
  if (!Number.isFinite(n)) return '';
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

function renderFinal() {
  const f = S.final;
  if (!f) return;
  $('final-reason').textContent = t(f.reason === 'deadline' ? 'final.reason.deadline' : 'final.reason.candidate');
  const hasScore = typeof f.score === 'number' && Number.isFinite(f.score);
  $('final-score-box').hidden = !hasScore;
  $('final-score').textContent = hasScore ? formatNumber(f.score) : '';
  const subjective = [...S.types.values()].some((ty) => ty === 'short' || ty === 'essay');
  $('final-pending').hidden = !(hasScore && subjective);
  const total = S.paper && S.paper.total_points != null ? formatNumber(S.paper.total_points) : '';
  $('final-total').textContent = total ? t('final.total', { p: total }) : '';
  $('final-at').textContent = Number.isFinite(f.submitted_at)
    ? t('final.at', { t: new Date(f.submitted_at).toLocaleString(S.lang === 'en' ? 'en-GB' : 'zh-CN') })
    : '';
}

function go(index) {
  if (index < 0 || index >= S.items.length) return;
  flushTyping();
  S.index = index;
  if (S.ticket) store.set(kIndex(S.ticket), String(index));
  renderExam();
  $('item').scrollIntoView({ block: 'nearest' });
}

// ---------------------------------------------------------------------------------------
// Wiring

$('lang-toggle').addEventListener('click', () => {
  S.lang = S.lang === 'en' ? 'zh-CN' : 'en';
  try { localStorage.setItem('kc.lang', S.lang); } catch { /* ignore */ }
  applyI18n();
});

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (S.pendingLogin) return;
  const ticket = $('login-ticket').value.trim();
  const idno = $('login-idno').value.trim();
  if (!ticket) { setError('err.empty_ticket'); $('login-ticket').focus(); return; }
  if (!idno) { setError('err.empty_idno'); $('login-idno').focus(); return; }
  S.pendingLogin = { ticket, id_number: idno };
  renderLogin();
  sendLogin();
});

$('start-exam').addEventListener('click', () => {
  setError(null);
  S.wantStart = true;
  sendStart();
});
$('info-logout').addEventListener('click', logout);
$('take-back').addEventListener('click', takeBack);
$('final-logout').addEventListener('click', logout);

$('nav-grid').addEventListener('click', (ev) => {
  const b = ev.target instanceof Element ? ev.target.closest('.nav-btn') : null;
  if (b) go(Number(b.dataset.index));
});
$('prev').addEventListener('click', () => go(S.index - 1));
$('next').addEventListener('click', () => go(S.index + 1));
$('submit').addEventListener('click', openConfirm);
$('cancel-submit').addEventListener('click', closeConfirm);
$('confirm-submit').addEventListener('click', confirmSubmit);

document.addEventListener('keydown', (ev) => {
  if (S.screen !== 'exam' || $('confirm-dialog').open || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if (ev.target instanceof HTMLTextAreaElement) return;
  if (ev.target instanceof HTMLInputElement && ev.target.type !== 'radio' && ev.target.type !== 'checkbox') return;
  if (ev.key === 'PageDown') { go(S.index + 1); ev.preventDefault(); }
  if (ev.key === 'PageUp') { go(S.index - 1); ev.preventDefault(); }
});

window.addEventListener('pagehide', () => { flushTyping(); savePending(); });

applyI18n();
showScreen(S.token ? 'wait' : 'login');
setInterval(tick, 250);
setInterval(heartbeat, HEARTBEAT_MS);
setInterval(watchdog, WATCHDOG_MS);
connect();
