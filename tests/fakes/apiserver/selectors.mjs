// labelSelector and fieldSelector, as list/watch/deletecollection take them.
import { badRequest } from './status.mjs';

// Splits on commas that are not inside a "(...)" value set.
function splitTerms(s) {
  const terms = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim()) terms.push(cur.trim());
  return terms;
}

// Returns a predicate over a labels object. Supports =, ==, !=, in, notin, key, !key.
export function parseLabelSelector(text) {
  if (!text) return () => true;
  const tests = splitTerms(text).map((term) => {
    let m;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const [, key, op, list] = m;
      const values = list.split(',').map((v) => v.trim()).filter(Boolean);
      return op === 'in'
        ? (l) => key in l && values.includes(l[key])
        : (l) => !(key in l) || !values.includes(l[key]);
    }
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term))) {
      const [, key, op, value] = m;
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    if ((m = /^!([\w./-]+)$/.exec(term))) return (l) => !(m[1] in l);
    if ((m = /^([\w./-]+)$/.exec(term))) return (l) => m[1] in l;
    throw badRequest(`unable to parse requirement: found '${term}', expected a label selector`);
  });
  return (labels) => tests.every((t) => t(labels ?? {}));
}

function fieldValue(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

// Returns a predicate over an object. Supports metadata.name, metadata.namespace and any
// other dotted path (status.phase, spec.nodeName) with =, == and !=.
export function parseFieldSelector(text) {
  if (!text) return () => true;
  const tests = splitTerms(text).map((term) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, path, op, value] = m;
    return op === '!=' ? (o) => String(fieldValue(o, path) ?? '') !== value
      : (o) => String(fieldValue(o, path) ?? '') === value;
  });
  return (obj) => tests.every((t) => t(obj));
}
