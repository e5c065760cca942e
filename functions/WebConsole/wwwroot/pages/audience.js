import { h, fmt, table } from '../dom.js';
import { api, runJob } from '../api.js';
import { t } from '../i18n.js';
import { bars, columns } from '../charts.js';

// RFM tiers and lifecycle stages by their Chinese names, as marketers here say them.
const tierNames = {
  important_value: '重要价值客户', important_develop: '重要发展客户', important_maintain: '重要保持客户', important_retain: '重要挽留客户',
  general_value: '一般价值客户', general_develop: '一般发展客户', general_maintain: '一般保持客户', general_retain: '一般挽留客户', none: '未评分',
  new: '新客', active: '活跃', churn_risk: '流失风险', dormant: '沉睡', unknown: '未知',
};

export function refreshButton(onDone) {
  const status = h('span', { class: 'muted', 'data-testid': 'snapshot-status' });
  const button = h('button', {
    type: 'button', 'data-testid': 'refresh-snapshot', onclick: async () => {
      button.disabled = true;
      const job = await runJob({ kind: 'audience' }, (j) => { status.textContent = ` ${t('running')} ${j.progress.done}/${j.progress.partitions}`; });
      status.textContent = ` ${job.status}`;
      onDone();
    },
  }, t('refresh'));
  return h('span', {}, button, status);
}

export async function page() {
  const a = await api('/api/analytics/audience');
  const reload = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const head = h('h1', {}, t('audience'), ' ', refreshButton(reload));
  if (!a.freshness) return { element: h('div', {}, head, h('p', { class: 'muted', 'data-testid': 'no-snapshot' }, t('noSnapshot'))) };
  const named = (x) => ({ name: x.name, label: `${tierNames[x.name] ?? x.name} · ${x.name}`, value: x.people, share: x.share });
  return {
    element: h('div', {}, head,
      h('p', { class: 'muted' }, `${t('people')}: `, h('b', { 'data-testid': 'audience-people' }, fmt.n(a.people)), ` · ${t('source')}: ${t('analysisJob')} · ${t('asOf')} ${fmt.time(a.freshness.asOf)}`),
      h('div', { class: 'card' }, h('h2', {}, t('segments')), a.segments.length === 0 ? h('p', { class: 'muted' }, t('none')) :
        bars(a.segments.map((s) => ({ name: s.id, label: s.name, value: s.people, share: s.share })), { testid: 'segments' })),
      h('div', { class: 'card' }, h('h2', {}, t('rfm')), bars(a.rfm.map(named), { testid: 'rfm' })),
      h('div', { class: 'card' }, h('h2', {}, t('lifecycle')), bars(a.lifecycle.map(named), { testid: 'lifecycle', cls: 'bar alt' })),
      h('div', { class: 'card' }, h('h2', {}, `${t('segments')} · ${t('daily')}`), a.history.length === 0 ? h('p', { class: 'muted' }, t('none')) :
        table([t('day'), { label: t('people'), num: true }, ...a.segments.map((s) => ({ label: s.name, num: true }))],
          a.history.map((d) => ({ cells: [d.day, fmt.n(d.people), ...a.segments.map((s) => fmt.n(d.segments[s.id] ?? 0))] })), 'segment-history'),
        a.history.length > 1 ? columns(a.history.map((d) => ({ slot: d.day, label: d.day.slice(5), value: d.people })), { testid: 'people-history' }) : null)),
  };
}
