// One item of any type, as a candidate sees it: read-only (preview, review) or answerable.
// Independent of the candidate app and the staff pages, so both can use it.
//
// Item shape: the candidate paper's ({item, type, stem, options:[{key,text}], points, blanks})
// or the staff bank's ({uid, type, stem, options:[text], points, answer, spec, children}).
// Rich text (stem, options, explanation) is HTML sanitized by the server at import and is the
// only thing ever inserted with innerHTML; everything else goes in as text.

export const BLANK_SEP = '\u001f';

const TYPE_LABELS = {
  'zh-CN': {
    single: '单选题', multi: '多选题', tf: '判断题', fill: '填空题', short: '简答题',
    essay: '论述题', composite: '组合题', practical: '实操题',
    true: '正确', false: '错误', blank: '第 {n} 空', points: '{p} 分', minutes: '考核时间：{n} 分钟',
    equipment: '设备要求', criteria: '评分标准', veto: '否决项', answer_here: '在此作答',
    sub: '第 {n} 小题',
  },
  en: {
    single: 'Single choice', multi: 'Multiple choice', tf: 'True / false', fill: 'Fill in the blanks',
    short: 'Short answer', essay: 'Essay', composite: 'Case study', practical: 'Practical task',
    true: 'True', false: 'False', blank: 'Blank {n}', points: '{p} points', minutes: 'Time allowed: {n} minutes',
    equipment: 'Equipment', criteria: 'Scoring criteria', veto: 'Veto', answer_here: 'Write your answer here',
    sub: 'Part {n}',
  },
};

function label(lang, key, params) {
  let s = (TYPE_LABELS[lang] || TYPE_LABELS['zh-CN'])[key] ?? TYPE_LABELS['zh-CN'][key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function rich(tag, cls, html) {
  const e = el(tag, cls);
  e.innerHTML = html || '';       // sanitized server-side (the only innerHTML use)
  return e;
}

function optionsOf(item) {
  return (item.options || []).map((o, i) =>
    (typeof o === 'string' ? { key: String.fromCharCode(65 + i), text: o } : o));
}

/** The number of blanks of a fill item: given, or the key's, or the stem's markers. */
export function blankCount(item) {
  if (Number.isInteger(item.blanks) && item.blanks > 0) return item.blanks;
  if (typeof item.answer === 'string' && item.answer) {
    let n = 1;
    for (let i = 0; i < item.answer.length; i++) {
      if (item.answer[i] === '\\') i++;
      else if (item.answer[i] === '|') n++;
    }
    return n;
  }
  const m = (item.stem || '').match(/（\s*）|\(\s*\)|_{3,}|\{\{\d+\}\}/g);
  return m ? m.length : 1;
}

/**
 * Renders item into container (which is emptied).
 * opts: {lang, answerable, response, onChange(response), no, idPrefix, testPrefix,
 *        childResponse(child), onChildChange(child, response)}
 * testPrefix, when given, names the parts for tests (data-testid `${testPrefix}option-B`,
 * `${testPrefix}blank-1`, ...; the stem is `item-stem` at the top level).
 * childResponse/onChildChange let a composite's sub-items be answered one by one (the
 * candidate app); without them a composite's response is a JSON array of its sub-items'.
 * Returns {get(): the current response string}.
 */
export function renderItem(container, item, opts = {}) {
  const lang = opts.lang || 'zh-CN';
  const answerable = !!opts.answerable;
  const prefix = opts.idPrefix || `iv${Math.random().toString(36).slice(2, 8)}`;
  const tp = opts.testPrefix;
  const tid = (e, name) => { if (tp !== undefined) e.dataset.testid = `${tp}${name}`; return e; };
  container.replaceChildren();
  const root = el('div', `iv iv-${item.type}`);
  root.dataset.type = item.type;
  container.append(root);

  const head = el('div', 'iv-head');
  head.append(el('span', 'iv-type', label(lang, item.type)));
  if (item.points !== undefined && item.points !== null) head.append(el('span', 'iv-points', label(lang, 'points', { p: item.points })));
  root.append(head);
  const stem = rich('div', 'iv-stem item-stem', item.stem);
  if (tp === '') stem.dataset.testid = 'item-stem';
  else tid(stem, 'stem');
  root.append(stem);

  let get = () => opts.response || '';
  const change = () => { if (opts.onChange) opts.onChange(get()); };

  if (item.type === 'single' || item.type === 'multi' || item.type === 'tf') {
    const multi = item.type === 'multi';
    const opts2 = item.type === 'tf'
      ? [{ key: 'T', text: null, label: label(lang, 'true') }, { key: 'F', text: null, label: label(lang, 'false') }]
      : optionsOf(item);
    const box = el('div', 'iv-options options');
    box.setAttribute('role', multi ? 'group' : 'radiogroup');
    const chosen = new Set((opts.response || '').split(''));
    const inputs = [];
    for (const o of opts2) {
      const row = tid(el('label', 'iv-option option'), `option-${o.key}`);
      const input = tid(document.createElement('input'), `option-input-${o.key}`);
      input.type = multi ? 'checkbox' : 'radio';
      input.name = `${prefix}-opt`;
      input.value = o.key;
      input.checked = chosen.has(o.key);
      input.disabled = !answerable;
      input.addEventListener('change', () => {
        for (const i of inputs) i.closest('label').classList.toggle('selected', i.checked);
        change();
      });
      inputs.push(input);
      row.classList.toggle('selected', input.checked);
      row.append(input, el('span', 'iv-key option-key', o.key === 'T' || o.key === 'F' ? '' : o.key));
      if (o.text !== null) row.append(rich('span', 'iv-text option-text', o.text));
      else row.append(el('span', 'iv-text option-text', o.label));
      row.dataset.key = o.key;
      box.append(row);
    }
    root.append(box);
    get = () => inputs.filter((i) => i.checked).map((i) => i.value).sort().join('');
  } else if (item.type === 'fill') {
    const n = blankCount(item);
    const parts = (opts.response || '').split(BLANK_SEP);
    const box = el('div', 'iv-blanks');
    const inputs = [];
    for (let i = 0; i < n; i++) {
      const row = el('label', 'iv-blank');
      row.append(el('span', 'iv-blank-no', label(lang, 'blank', { n: i + 1 })));
      const input = tid(document.createElement('input'), `blank-${i + 1}`);
      input.type = 'text';
      input.maxLength = 200;
      input.value = parts[i] || '';
      input.disabled = !answerable;
      input.addEventListener('input', change);
      inputs.push(input);
      row.append(input);
      box.append(row);
    }
    root.append(box);
    get = () => {
      const v = inputs.map((i) => i.value);
      while (v.length && v[v.length - 1] === '') v.pop();
      return v.join(BLANK_SEP);
    };
  } else if (item.type === 'short' || item.type === 'essay') {
    const ta = tid(document.createElement('textarea'), 'text-answer');
    ta.className = 'iv-text-answer';
    ta.rows = item.type === 'essay' ? 12 : 5;
    ta.maxLength = 4000;
    ta.placeholder = label(lang, 'answer_here');
    ta.value = opts.response || '';
    ta.disabled = !answerable;
    ta.addEventListener('input', change);
    root.append(ta);
    get = () => ta.value;
  } else if (item.type === 'composite') {
    const subs = el('ol', 'iv-subs');
    const children = item.children || [];
    const perChild = typeof opts.childResponse === 'function' && typeof opts.onChildChange === 'function';
    let responses = [];
    if (perChild) responses = children.map((c) => opts.childResponse(c) || '');
    else try { responses = JSON.parse(opts.response || '[]'); } catch { responses = []; }
    const getters = children.map((c, i) => {
      const li = el('li', 'iv-sub');
      li.append(el('div', 'iv-sub-no', label(lang, 'sub', { n: i + 1 })));
      const holder = el('div');
      li.append(holder);
      subs.append(li);
      return renderItem(holder, c, {
        lang, answerable, response: responses[i] || '', idPrefix: `${prefix}-${i}`,
        testPrefix: tp === undefined ? undefined : `${tp}sub${i + 1}-`,
        onChange: perChild ? (r) => opts.onChildChange(c, r) : change,
      }).get;
    });
    root.append(subs);
    get = () => JSON.stringify(getters.map((g) => g()));
  } else if (item.type === 'practical') {
    const spec = item.spec || {};
    const card = el('div', 'iv-task');
    const minutes = spec.time_minutes ?? item.time_minutes;
    if (minutes) card.append(el('p', 'iv-minutes', label(lang, 'minutes', { n: minutes })));
    const equipment = spec.equipment ?? item.equipment;
    if (equipment) {
      card.append(el('h4', null, label(lang, 'equipment')));
      card.append(el('p', 'iv-equipment', equipment));
    }
    const criteria = spec.criteria ?? item.criteria;
    if (Array.isArray(criteria) && criteria.length) {
      card.append(el('h4', null, label(lang, 'criteria')));
      const ul = el('ul', 'iv-criteria');
      for (const c of criteria) {
        const li = el('li', c.veto ? 'iv-veto' : null);
        li.append(el('span', 'iv-crit-points', c.veto ? label(lang, 'veto') : label(lang, 'points', { p: c.points })));
        li.append(el('span', 'iv-crit-text', c.text));
        ul.append(li);
      }
      card.append(ul);
    }
    root.append(card);
    get = () => '';
  }
  return { get };
}
