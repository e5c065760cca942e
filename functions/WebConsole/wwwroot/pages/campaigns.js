import { h, fmt, table, kpi } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { bars, columns } from '../charts.js';

export async function list() {
  const campaigns = await api('/api/campaigns');
  return {
    refresh: 5000,
    element: h('div', {}, h('h1', {}, t('campaigns')), h('div', { class: 'card' }, campaigns.length === 0 ? h('p', { class: 'muted' }, t('none')) :
      table([t('name'), t('status'), t('updated')], campaigns.map((c) => ({
        cells: [{ text: h('a', { href: `#/campaigns/${encodeURIComponent(c.id)}`, 'data-testid': `campaign-${c.id}` }, c.name) },
          { text: h('span', { class: `status ${c.status}` }, c.status) }, fmt.time(c.createdAt)],
      })), 'campaigns'))),
  };
}

function reasons(title, counts, testid, cls) {
  const items = Object.entries(counts ?? {}).filter(([, n]) => n > 0).map(([name, value]) => ({ name, value, cls }));
  return h('div', {}, h('h2', {}, title), items.length === 0 ? h('p', { class: 'muted' }, t('none')) : bars(items, { testid, share: false }));
}

export async function detail(id) {
  const v = await api(`/api/analytics/campaigns/${encodeURIComponent(id)}`);
  const p = v.progress;
  const settled = Math.max(0, p.targeted - p.pending);
  const cancel = h('button', {
    class: 'danger', type: 'button', 'data-testid': 'cancel-campaign', onclick: async () => {
      if (!window.confirm(t('cancelConfirm'))) return;
      await api(`/api/campaigns/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    },
  }, t('cancel'));
  return {
    refresh: v.done ? null : 1500,
    element: h('div', {},
      h('h1', {}, `${v.name} `, h('span', { class: `status ${v.status}`, 'data-testid': 'campaign-status' }, v.status), ' ', v.done || v.status === 'cancelled' ? null : cancel),
      h('div', { class: 'card' }, h('h2', {}, t('progress')),
        h('svg', { width: 600, height: 26, 'data-testid': 'campaign-progress', 'data-settled': settled, 'data-targeted': p.targeted },
          h('rect', { x: 0, y: 4, width: 600, height: 18, rx: 4, fill: '#e4e7ec' }),
          h('rect', { class: 'bar', x: 0, y: 4, height: 18, rx: 4, width: p.targeted === 0 ? 0 : (settled / p.targeted) * 600 })),
        h('p', {}, h('span', { 'data-testid': 'campaign-settled' }, fmt.n(settled)), ` / `, h('span', { 'data-testid': 'campaign-targeted' }, fmt.n(p.targeted)))),
      h('div', { class: 'kpis' }, kpi(t('targeted'), fmt.n(p.targeted), 'campaign-kpi-targeted'), kpi(t('sent'), fmt.n(p.sent), 'campaign-kpi-sent'),
        kpi(t('delivered'), fmt.n(p.delivered), 'campaign-kpi-delivered'), kpi(t('failed'), fmt.n(p.failed), 'campaign-kpi-failed'),
        kpi(t('suppressed'), fmt.n(p.suppressedTotal), 'campaign-kpi-suppressed'), kpi(t('holdout'), fmt.n(p.holdout), 'campaign-kpi-holdout'),
        kpi(t('pending'), fmt.n(p.pending), 'campaign-kpi-pending')),
      h('div', { class: 'card' }, reasons(`${t('suppressed')} · ${t('reason')}`, p.suppressed, 'campaign-suppressed', 'bar warn'),
        reasons(`${t('failed')} · ${t('reason')}`, p.failedBy, 'campaign-failed', 'bar bad')),
      h('div', { class: 'card' }, h('h2', {}, `${t('sent')} · ${t('perMinute')}`), v.perMinute.length === 0 ? h('p', { class: 'muted' }, t('none')) :
        columns(v.perMinute.map((m) => ({ slot: m.at, label: m.at.slice(11), value: m.progress.sent })), { testid: 'campaign-minutes' }))),
  };
}
