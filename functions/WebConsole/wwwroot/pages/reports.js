import { h, fmt, table } from '../dom.js';
import { runJob } from '../api.js';
import { t } from '../i18n.js';
import { bars } from '../charts.js';

function funnelCard() {
  const steps = h('input', { name: 'steps', value: 'view, add_to_cart, order_paid', size: 40, 'data-testid': 'funnel-steps' });
  const windowDays = h('input', { name: 'windowDays', type: 'number', value: 7, min: 1, max: 90, 'data-testid': 'funnel-window' });
  const out = h('div', { 'data-testid': 'funnel-result' });
  const form = h('form', {
    class: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      out.replaceChildren(h('p', { class: 'muted' }, t('running')));
      try {
        const job = await runJob({ kind: 'funnel', steps: steps.value.split(',').map((s) => s.trim()).filter(Boolean), windowDays: Number(windowDays.value) },
          (j) => out.replaceChildren(h('p', { class: 'muted', 'data-testid': 'funnel-progress' }, `${t('running')} ${j.progress.done}/${j.progress.partitions}`)));
        if (job.status !== 'done') { out.replaceChildren(h('p', { class: 'error' }, job.error ?? job.status)); return; }
        out.replaceChildren(h('p', { class: 'muted' }, `${t('people')}: ${fmt.n(job.people)}`),
          bars(job.funnel.map((s) => ({ name: s.event, label: `${s.step}. ${s.event}`, value: s.people, share: s.fromFirst.rate })), { testid: 'funnel-bars' }),
          table([t('step'), { label: t('people'), num: true }, { label: t('fromPrevious'), num: true }, { label: t('fromFirst'), num: true }],
            job.funnel.map((s) => ({ attrs: { 'data-step': s.step }, cells: [`${s.step}. ${s.event}`, { text: fmt.n(s.people), attrs: { 'data-testid': `funnel-step-${s.step}` } }, fmt.pct(s.fromPrevious.rate), fmt.pct(s.fromFirst.rate)] })), 'funnel-table'));
      } catch (err) { out.replaceChildren(h('p', { class: 'error' }, err.message)); }
    },
  }, h('label', {}, t('steps'), steps), h('label', {}, t('windowDays'), windowDays), h('button', { class: 'primary', type: 'submit', 'data-testid': 'run-funnel' }, t('run')));
  return h('div', { class: 'card' }, h('h2', {}, t('funnel')), form, out);
}

function cohortCard() {
  const weeks = h('input', { name: 'weeks', type: 'number', value: 8, min: 1, max: 25, 'data-testid': 'cohort-weeks' });
  const out = h('div', { 'data-testid': 'cohort-result' });
  const form = h('form', {
    class: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      out.replaceChildren(h('p', { class: 'muted' }, t('running')));
      try {
        const job = await runJob({ kind: 'cohort', weeks: Number(weeks.value) });
        if (job.status !== 'done') { out.replaceChildren(h('p', { class: 'error' }, job.error ?? job.status)); return; }
        const n = Number(weeks.value);
        out.replaceChildren(job.cohort.length === 0 ? h('p', { class: 'muted' }, t('none')) :
          table([t('week'), { label: t('people'), num: true }, ...Array.from({ length: n }, (_, k) => ({ label: `+${k}`, num: true }))],
            job.cohort.map((r) => ({ attrs: { 'data-week': r.week }, cells: [r.week, fmt.n(r.people), ...Array.from({ length: n }, (_, k) => k < r.share.length ? fmt.pct(r.share[k]) : '')] })), 'cohort-table'));
      } catch (err) { out.replaceChildren(h('p', { class: 'error' }, err.message)); }
    },
  }, h('label', {}, t('weeks'), weeks), h('button', { class: 'primary', type: 'submit', 'data-testid': 'run-cohort' }, t('run')));
  return h('div', { class: 'card' }, h('h2', {}, t('cohort')), form, out);
}

export async function page() {
  return { element: h('div', {}, h('h1', {}, t('reports')), funnelCard(), cohortCard()) };
}
