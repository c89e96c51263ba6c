// node deploy/check-engines.mjs LOCKFILE
// Checks this Node against the `engines.node` range of every package a package-lock.json
// (lockfileVersion 2 or 3) installs, before `npm ci` runs: a package that refuses this Node
// would otherwise fail later, inside a test, with its own message. No dependencies: it runs
// on a machine that has nothing from npm yet. Exit 0 when all accept this Node, 1 otherwise.
// `node check-engines.mjs --satisfies VERSION RANGE` tests one range (exit 0 or 1).
import { readFileSync } from 'node:fs';

const parse = (v) => {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?$/.exec(v.trim());
  if (!m) throw new Error(`cannot read version "${v}"`);
  // Missing or wildcard parts are null: "18" and "18.x" mean any 18.
  return m.slice(1, 4).map((p) => (p === undefined || /^[xX*]$/.test(p) ? null : Number(p)));
};
const cmp = (a, b) => { for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1; return 0; };
const fill = (p, n) => p.map((x) => (x === null ? n : x));

// The smallest version a partial version names, and the first version past it ("18.2" -> [18,2,0], [18,3,0]).
const low = (p) => fill(p, 0);
const next = (p) => {
  if (p[0] === null) return [Infinity, 0, 0];
  if (p[1] === null) return [p[0] + 1, 0, 0];
  if (p[2] === null) return [p[0], p[1] + 1, 0];
  return [p[0], p[1], p[2] + 1];
};

// One comparator ("<op><version>") as a test of a full version.
function comparator(op, ver) {
  const p = parse(ver);
  switch (op) {
    case '>=': return (v) => cmp(v, low(p)) >= 0;
    case '>': return (v) => cmp(v, next(p)) >= 0;
    case '<': return (v) => cmp(v, low(p)) < 0;
    case '<=': return (v) => cmp(v, next(p)) < 0;
    case '^': {
      const l = low(p);
      const i = l[0] > 0 || p[1] === null ? 0 : l[1] > 0 || p[2] === null ? 1 : 2;
      const u = l.map((x, j) => (j < i ? x : j === i ? x + 1 : 0));
      return (v) => cmp(v, l) >= 0 && cmp(v, u) < 0;
    }
    case '~': {
      const l = low(p);
      const u = p[1] === null ? [l[0] + 1, 0, 0] : [l[0], l[1] + 1, 0];
      return (v) => cmp(v, l) >= 0 && cmp(v, u) < 0;
    }
    default: return (v) => cmp(v, low(p)) >= 0 && cmp(v, next(p)) < 0;  // "=", "" or x-range
  }
}

function satisfies(version, range) {
  const v = fill(parse(version), 0);
  return range.split('||').some((alt) => {
    alt = alt.trim();
    if (alt === '' || alt === '*') return true;
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(alt);
    if (hyphen) return comparator('>=', hyphen[1])(v) && comparator('<=', hyphen[2])(v);
    // "> = 18" is written ">= 18" by some packages: glue operators to their versions.
    const parts = alt.replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/);
    return parts.every((c) => {
      const m = /^(>=|<=|>|<|=|\^|~>?)?(.*)$/.exec(c);
      return comparator((m[1] || '').replace('~>', '~'), m[2])(v);
    });
  });
}

const [, , first, ...rest] = process.argv;
if (first === '--satisfies' && rest.length === 2) {
  process.exit(satisfies(rest[0], rest[1]) ? 0 : 1);
}
if (!first || rest.length) {
  console.error('usage: node check-engines.mjs package-lock.json | --satisfies VERSION RANGE');
  process.exit(2);
}
const lock = JSON.parse(readFileSync(first, 'utf8'));
const node = process.versions.node;
const bad = [];
for (const [where, pkg] of Object.entries(lock.packages || {})) {
  const range = pkg.engines && typeof pkg.engines === 'object' ? pkg.engines.node : undefined;
  if (typeof range !== 'string') continue;
  const name = where === '' ? `${lock.name || 'the project'} (package.json)`
    : `${where.replace(/^.*node_modules\//, '')}@${pkg.version}`;
  try {
    if (!satisfies(node, range)) bad.push(`${name} needs Node ${range}`);
  } catch (e) {
    bad.push(`${name}: engines.node "${range}": ${e.message}`);
  }
}
if (bad.length) {
  console.error(`check-engines: this Node is ${node} (${process.execPath}); in ${first}:`);
  for (const b of bad) console.error(`  ${b}`);
  process.exit(1);
}
