import { h, fmt } from './dom.js';

/** Horizontal bars: one row per item, its count drawn beside the bar. */
export function bars(items, { testid, share = true, cls = 'bar' } = {}) {
  const max = Math.max(1, ...items.map((i) => i.value));
  const rowH = 24, labelW = 170, barW = 420, width = labelW + barW + 150;
  return h('svg', { width, height: items.length * rowH + 4, 'data-testid': testid, role: 'img' },
    items.map((item, k) => h('g', { transform: `translate(0, ${k * rowH})`, 'data-name': item.name, 'data-value': item.value },
      h('text', { x: 0, y: 16 }, item.label ?? item.name),
      h('rect', { class: item.cls ?? cls, x: labelW, y: 4, height: 16, width: Math.max(1, (item.value / max) * barW), rx: 3 }),
      h('text', { x: labelW + (item.value / max) * barW + 8, y: 16, class: 'value' }, fmt.n(item.value) + (share && item.share !== undefined ? ` · ${fmt.pct(item.share)}` : '')))));
}

/** Columns over time (days or minutes): one column per slot, the value above it. */
export function columns(points, { testid, height = 140 } = {}) {
  const max = Math.max(1, ...points.map((p) => p.value));
  const colW = Math.max(14, Math.min(48, Math.floor(900 / Math.max(1, points.length))));
  const width = Math.max(300, points.length * colW + 20);
  return h('svg', { width, height: height + 40, 'data-testid': testid, role: 'img' },
    points.map((p, k) => {
      const barH = (p.value / max) * height;
      return h('g', { transform: `translate(${10 + k * colW}, 0)`, 'data-slot': p.slot, 'data-value': p.value },
        h('rect', { class: 'bar alt', x: 2, y: 14 + height - barH, width: colW - 4, height: Math.max(1, barH), rx: 2 }),
        h('text', { x: colW / 2, y: 10 + height - barH, 'text-anchor': 'middle' }, fmt.n(p.value)),
        h('text', { x: colW / 2, y: height + 32, 'text-anchor': 'middle', class: 'muted' }, p.label ?? p.slot));
    }));
}

/**
 * A journey drawn as layers from its start: each node a box with its entered and there-now counts, each edge its
 * branch and the people who left that way. Control branches end at a small "control" mark.
 */
export function journeyGraph(view, labels) {
  // Layers by the longest path from the start, so a node comes after everything that leads to it (loops through
  // waits are cut off after as many rounds as there are nodes).
  const depth = new Map();
  if (view.start) depth.set(view.start, 0);
  for (let round = 0; round < view.nodes.length; round++) {
    let moved = false;
    for (const e of view.edges) {
      if (!e.to || !depth.has(e.from)) continue;
      const d = depth.get(e.from) + 1;
      if (!depth.has(e.to) || (depth.get(e.to) < d && d < view.nodes.length)) { depth.set(e.to, d); moved = true; }
    }
    if (!moved) break;
  }
  for (const n of view.nodes) if (!depth.has(n.id)) depth.set(n.id, (Math.max(0, ...depth.values()) + 1));
  const layers = [];
  for (const [id, d] of depth) (layers[d] ??= []).push(id);
  const boxW = 170, boxH = 62, gapX = 90, gapY = 28;
  const pos = new Map();
  layers.forEach((ids, d) => ids.forEach((id, k) => pos.set(id, { x: 20 + d * (boxW + gapX), y: 20 + k * (boxH + gapY) })));
  const controls = view.edges.filter((e) => !e.to);
  controls.forEach((e, k) => {
    const from = pos.get(e.from);
    pos.set(`control:${e.from}:${e.branch}`, { x: from.x + boxW + gapX, y: from.y + (layers[depth.get(e.from) + 1]?.length ?? 0) * (boxH + gapY) + k * (boxH + gapY) });
  });
  const width = Math.max(...[...pos.values()].map((p) => p.x)) + boxW + 40;
  const height = Math.max(...[...pos.values()].map((p) => p.y)) + boxH + 40;

  const edges = view.edges.map((e) => {
    const a = pos.get(e.from);
    const b = pos.get(e.to ?? `control:${e.from}:${e.branch}`);
    if (!a || !b) return null;
    const x1 = a.x + boxW, y1 = a.y + boxH / 2, x2 = b.x, y2 = b.y + boxH / 2, mx = (x1 + x2) / 2;
    // An edge that skips a layer (or goes back) passes under the boxes between, not through them.
    const skips = b.x - a.x > boxW + gapX || b.x <= a.x;
    const low = Math.max(y1, y2) + boxH / 2 + gapY / 2;
    const d = skips ? `M${x1},${y1} C${x1 + gapX / 2},${low} ${x2 - gapX / 2},${low} ${x2},${y2}` : `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
    return h('g', { class: 'edge', 'data-from': e.from, 'data-branch': e.branch, 'data-people': e.people },
      h('path', { d, 'marker-end': 'url(#arrow)' }),
      h('text', { x: mx, y: skips ? low - 2 : (y1 + y2) / 2 - 4, 'text-anchor': 'middle', 'data-testid': `edge-${e.from}-${e.branch}` }, `${e.branch}: ${fmt.n(e.people)}`));
  });
  const boxes = view.nodes.filter((n) => pos.has(n.id)).map((n) => {
    const p = pos.get(n.id);
    return h('g', { class: `node ${n.type}`, transform: `translate(${p.x}, ${p.y})`, 'data-node': n.id },
      h('rect', { width: boxW, height: boxH, rx: 8 }),
      h('text', { x: 10, y: 18, 'font-weight': 600 }, `${n.id} · ${n.type}`),
      h('text', { x: 10, y: 36 }, `${labels.entered} `, h('tspan', { 'data-testid': `node-${n.id}-entered` }, fmt.n(n.entered))),
      h('text', { x: 10, y: 53 }, `${labels.current} `, h('tspan', { 'data-testid': `node-${n.id}-current` }, fmt.n(n.current))));
  });
  const controlMarks = controls.map((e) => {
    const p = pos.get(`control:${e.from}:${e.branch}`);
    return h('g', { class: 'node exit', transform: `translate(${p.x}, ${p.y})` }, h('rect', { width: boxW, height: boxH, rx: 8 }),
      h('text', { x: 10, y: 36 }, `${labels.control} (${e.branch})`));
  });
  return h('svg', { width, height, 'data-testid': 'journey-graph', role: 'img' },
    h('defs', {}, h('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' },
      h('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#98a2b3' }))),
    edges, boxes, controlMarks);
}
