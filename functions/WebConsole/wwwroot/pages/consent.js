import { h, fmt, table } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { bars, columns } from '../charts.js';
import { refreshButton } from './audience.js';

export async function page() {
  const a = await api('/api/analytics/audience');
  const head = h('h1', {}, t('consent'), ' ', refreshButton(() => window.dispatchEvent(new HashChangeEvent('hashchange'))));
  if (!a.freshness) return { element: h('div', {}, head, h('p', { class: 'muted' }, t('noSnapshot'))) };
  return {
    element: h('div', {}, head,
      h('p', { class: 'muted' }, `${t('people')}: ${fmt.n(a.people)} · ${t('source')}: ${t('analysisJob')} · ${t('asOf')} ${fmt.time(a.freshness.asOf)}`),
      h('div', { class: 'card' }, h('h2', {}, t('consentRate')), a.consent.length === 0 ? h('p', { class: 'muted' }, t('none')) : [
        bars(a.consent.map((c) => ({ name: `${c.purpose}/${c.channel}`, value: c.granted, share: c.share.rate })), { testid: 'consent-rates' }),
        table(['purpose', t('channel'), { label: t('granted'), num: true }, { label: t('withdrawn'), num: true }, { label: t('consentRate'), num: true }, { label: t('interval'), num: true }],
          a.consent.map((c) => ({ cells: [c.purpose, c.channel, fmt.n(c.granted), fmt.n(c.withdrawn), fmt.pct(c.share.rate), `${fmt.pct(c.share.low)} – ${fmt.pct(c.share.high)}`] })), 'consent-table')]),
      h('div', { class: 'card' }, h('h2', {}, t('withdrawals')), a.withdrawalsByDay.length === 0 ? h('p', { class: 'muted' }, t('none')) :
        columns(a.withdrawalsByDay.map((d) => ({ slot: d.name, label: d.name.slice(5), value: d.people })), { testid: 'withdrawals' }))),
  };
}
