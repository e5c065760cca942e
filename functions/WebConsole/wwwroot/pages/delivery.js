import { h, fmt, table } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { bars } from '../charts.js';

const join = (counts) => Object.entries(counts ?? {}).map(([k, n]) => `${k}: ${fmt.n(n)}`).join(', ') || '–';

export async function page() {
  const d = await api('/api/analytics/delivery');
  const reasons = {};
  for (const row of d.totals) for (const [k, n] of Object.entries({ ...row.suppressed, ...row.failedBy })) reasons[k] = (reasons[k] ?? 0) + n;
  return {
    refresh: 10000,
    element: h('div', {}, h('h1', {}, t('delivery'), h('span', { class: 'muted' }, ` ${d.from} … ${d.to}`)),
      h('div', { class: 'card' }, h('h2', {}, t('total')), d.totals.length === 0 ? h('p', { class: 'muted' }, t('none')) :
        table([t('channel'), { label: t('sent'), num: true }, { label: t('delivered'), num: true }, { label: t('failed'), num: true }, `${t('failed')} · ${t('reason')}`, `${t('suppressed')} · ${t('reason')}`, `${t('deferred')} · ${t('reason')}`],
          d.totals.map((r) => ({ attrs: { 'data-channel': r.channel }, cells: [r.channel, { text: fmt.n(r.sent), attrs: { 'data-testid': `delivery-${r.channel}-sent` } }, fmt.n(r.delivered), fmt.n(r.failed), join(r.failedBy), join(r.suppressed), join(r.deferred)] })), 'delivery-totals')),
      h('div', { class: 'card' }, h('h2', {}, t('reason')), Object.keys(reasons).length === 0 ? h('p', { class: 'muted' }, t('none')) :
        bars(Object.entries(reasons).map(([name, value]) => ({ name, value, cls: 'bar warn' })), { testid: 'delivery-reasons', share: false })),
      h('div', { class: 'card' }, h('h2', {}, t('daily')), d.days.length === 0 ? h('p', { class: 'muted' }, t('none')) :
        table([t('day'), t('channel'), { label: t('sent'), num: true }, { label: t('delivered'), num: true }, { label: t('failed'), num: true }, `${t('suppressed')} · ${t('reason')}`],
          d.days.map((r) => ({ cells: [r.day, r.channel, fmt.n(r.sent), fmt.n(r.delivered), fmt.n(r.failed), join(r.suppressed)] })), 'delivery-days'))),
  };
}
