import { h, fmt, table, kpi } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { journeyGraph, columns } from '../charts.js';

export async function list() {
  const journeys = await api('/api/journeys');
  return {
    element: h('div', {}, h('h1', {}, t('journeys')), h('div', { class: 'card' }, journeys.length === 0 ? h('p', { class: 'muted' }, t('none')) :
      table([t('name'), t('status'), { label: t('version'), num: true }, t('updated')], journeys.map((j) => ({
        cells: [{ text: h('a', { href: `#/journeys/${encodeURIComponent(j.id)}`, 'data-testid': `journey-${j.id}` }, `${j.name} (${j.id})`) },
          { text: h('span', { class: `status ${j.status}` }, j.status) }, j.version, fmt.time(j.updatedAt)],
      })), 'journeys'))),
  };
}

export async function detail(id) {
  const v = await api(`/api/analytics/journeys/${encodeURIComponent(id)}`);
  const labels = { entered: t('entered'), current: t('current'), control: t('control') };
  const splits = v.splits.map((s) => h('div', { class: 'card' }, h('h2', {}, `${t('splits')}: ${s.node}`),
    table([t('branch'), { label: t('assigned'), num: true }, { label: t('converted'), num: true }, { label: t('conversion'), num: true }, { label: t('interval'), num: true }, { label: t('vsControl'), num: true }],
      s.branches.map((b) => ({
        attrs: { 'data-branch': b.name },
        cells: [b.control ? `${b.name} (${t('control')})` : b.name, { text: fmt.n(b.assigned), attrs: { 'data-testid': `branch-${s.node}-${b.name}-assigned` } },
          { text: fmt.n(b.converted), attrs: { 'data-testid': `branch-${s.node}-${b.name}-converted` } },
          { text: fmt.pct(b.conversion.rate), attrs: { 'data-testid': `branch-${s.node}-${b.name}-rate` } },
          b.conversion.rate === null ? '–' : `${fmt.pct(b.conversion.low)} – ${fmt.pct(b.conversion.high)}`,
          b.versusControl ? `${fmt.diff(b.versusControl.difference)} (${fmt.diff(b.versusControl.low)} … ${fmt.diff(b.versusControl.high)})${b.versusControl.significant ? ' ★' : ''}` : '–'],
      })), `split-${s.node}`)));
  return {
    refresh: 5000,
    element: h('div', {},
      h('h1', {}, `${v.name} `, h('span', { class: `status ${v.status}` }, v.status), h('span', { class: 'muted' }, ` v${v.version}`)),
      h('div', { class: 'kpis' }, kpi(t('entered'), fmt.n(v.entered), 'journey-entered'), kpi(t('current'), fmt.n(v.active), 'journey-active'),
        kpi(t('completed'), fmt.n(v.completed), 'journey-completed'), kpi(t('exited'), fmt.n(v.exited), 'journey-exited'),
        kpi(t('conversion'), `${fmt.n(v.conversion.successes)} · ${fmt.pct(v.conversion.rate)}`, 'journey-converted')),
      h('div', { class: 'card' }, h('h2', {}, t('graph')), journeyGraph(v, labels)),
      splits,
      h('div', { class: 'card' }, h('h2', {}, t('daily')), v.daily.length === 0 ? h('p', { class: 'muted' }, t('none')) : [
        columns(v.daily.map((d) => ({ slot: d.day, label: d.day.slice(5), value: d.entered })), { testid: 'journey-daily' }),
        table([t('day'), { label: t('entered'), num: true }, { label: t('completed'), num: true }, { label: t('exited'), num: true }, { label: t('converted'), num: true }],
          v.daily.map((d) => ({ cells: [d.day, fmt.n(d.entered), fmt.n(d.completed), fmt.n(d.exited), fmt.n(d.converted)] })), 'journey-days')]),
      h('p', { class: 'muted' }, `${t('source')}: ${t('counters')} · ${t('asOf')} ${fmt.time(v.freshness.asOf)}`)),
  };
}
