// Elements are built, never parsed from strings: nothing the API returns can become markup.
const svgNs = 'http://www.w3.org/2000/svg';
const svgTags = new Set(['svg', 'g', 'rect', 'path', 'text', 'line', 'title', 'defs', 'marker', 'polygon', 'tspan']);

export function h(tag, attrs = {}, ...children) {
  const el = svgTags.has(tag) ? document.createElementNS(svgNs, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const fmt = {
  n: (x) => (x ?? 0).toLocaleString('en-US'),
  pct: (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`),
  diff: (x) => (x === null || x === undefined ? '–' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} pt`),
  time: (s) => (s ? new Date(s).toLocaleString() : '–'),
};

export function table(headers, rows, testid) {
  return h('table', { 'data-testid': testid },
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { class: x.num ? 'num' : undefined }, x.label ?? x)))),
    h('tbody', {}, rows.map((r) => h('tr', r.attrs ?? {}, r.cells.map((c, i) => h('td', { class: headers[i]?.num ? 'num' : undefined, ...(c?.attrs ?? {}) }, c?.text ?? c))))));
}

export function kpi(label, value, testid) {
  return h('div', { class: 'kpi' }, h('div', { class: 'value', 'data-testid': testid }, value), h('div', { class: 'label' }, label));
}
