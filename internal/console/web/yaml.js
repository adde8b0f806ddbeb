// yaml.js: JSON -> YAML, enough for Kubernetes objects, so that no YAML
// library is needed. Strings that YAML would read as something else
// (true, 1.0, null, "a: b", a leading '-' or '*', ...) are written as JSON
// strings, which are valid YAML double-quoted scalars; multi-line
// strings become literal blocks. The edited text goes back to the server
// as application/apply-patch+yaml, which parses it.

const plain = /^[A-Za-z_./][A-Za-z0-9_./ -]*$/;
const special = /^(true|false|yes|no|on|off|y|n|null|~)$/i;
const numeric = /^[-+]?(\.?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?|\.inf|\.nan|0x[0-9a-f]+|0o[0-7]+)$/i;

function scalar(s) {
  if (s === '' || !plain.test(s) || special.test(s) || numeric.test(s) || / $/.test(s) || s.includes(' #') || s.includes(': ')) {
    return JSON.stringify(s);
  }
  return s;
}

function key(k) {
  return scalar(String(k));
}

function block(s, indent) {
  // A literal block keeps the text as is; "|-" drops the final newline
  // the text does not have. Leading spaces on the first line would need
  // an indentation indicator: those stay JSON strings.
  const chomp = s.endsWith('\n') ? '|' : '|-';
  const body = s.endsWith('\n') ? s.slice(0, -1) : s;
  return chomp + '\n' + body.split('\n').map((l) => (l ? indent + l : '')).join('\n');
}

function canBlock(s) {
  return s.includes('\n') && !/^[ \t]/.test(s) && !/[\r\t]/.test(s) && !/ \n|\n\n$/.test(s) && !/[\u0000-\u0008\u000b-\u001f]/.test(s);
}

function value(v, indent) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return canBlock(v) ? block(v, indent + '  ') : scalar(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null; // a collection: written on the following lines
}

function emit(v, indent, out) {
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = value(item, indent);
      if (s !== null) { out.push(`${indent}- ${s}`); continue; }
      if (isEmpty(item)) { out.push(`${indent}- ${Array.isArray(item) ? '[]' : '{}'}`); continue; }
      const inner = [];
      emit(item, indent + '  ', inner);
      // the first line of the item goes after the dash
      out.push(`${indent}- ${inner[0].slice(indent.length + 2)}`, ...inner.slice(1));
    }
    return;
  }
  for (const [k, item] of Object.entries(v)) {
    const s = value(item, indent);
    if (s !== null) { out.push(`${indent}${key(k)}: ${s}`); continue; }
    if (isEmpty(item)) { out.push(`${indent}${key(k)}: ${Array.isArray(item) ? '[]' : '{}'}`); continue; }
    out.push(`${indent}${key(k)}:`);
    emit(item, Array.isArray(item) ? indent : indent + '  ', out);
  }
}

function isEmpty(v) {
  return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
}

export function toYAML(obj) {
  const s = value(obj, '');
  if (s !== null) return s + '\n';
  if (isEmpty(obj)) return (Array.isArray(obj) ? '[]' : '{}') + '\n';
  const out = [];
  emit(obj, '', out);
  return out.join('\n') + '\n';
}
