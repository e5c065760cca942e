import { h } from './dom.js';
import { api, key, ApiError } from './api.js';
import { t, lang, setLang } from './i18n.js';
import * as journeys from './pages/journeys.js';
import * as campaigns from './pages/campaigns.js';
import * as audience from './pages/audience.js';
import * as delivery from './pages/delivery.js';
import * as consent from './pages/consent.js';
import * as reports from './pages/reports.js';

// Hash routes: #/journeys, #/journeys/{id}, #/campaigns, #/campaigns/{id}, #/audience, #/delivery, #/consent, #/reports.
const routes = [
  [/^#\/journeys\/([^/]+)$/, journeys.detail, 'journeys'],
  [/^#\/journeys$/, journeys.list, 'journeys'],
  [/^#\/campaigns\/([^/]+)$/, campaigns.detail, 'campaigns'],
  [/^#\/campaigns$/, campaigns.list, 'campaigns'],
  [/^#\/audience$/, audience.page, 'audience'],
  [/^#\/delivery$/, delivery.page, 'delivery'],
  [/^#\/consent$/, consent.page, 'consent'],
  [/^#\/reports$/, reports.page, 'reports'],
];

let timer = null;
let generation = 0;

function nav(active) {
  const el = document.getElementById('nav');
  el.replaceChildren(...['journeys', 'campaigns', 'audience', 'delivery', 'consent', 'reports'].map((p) =>
    h('a', { href: `#/${p}`, class: p === active ? 'active' : undefined }, t(p))));
  document.getElementById('lang').textContent = lang() === 'zh' ? 'English' : '中文';
  document.getElementById('signout').textContent = t('signOut');
  document.getElementById('signout').hidden = !key.get();
}

function login(main) {
  nav(null);
  const input = h('input', { type: 'password', id: 'api-key', autocomplete: 'off', 'data-testid': 'api-key' });
  const message = h('p', { class: 'muted' }, t('keyHint'));
  const form = h('form', {
    class: 'card login', onsubmit: async (e) => {
      e.preventDefault();
      key.set(input.value.trim());
      try { await api('/api/journeys'); location.hash = location.hash && location.hash !== '#/login' ? location.hash : '#/journeys'; route(); }
      catch (err) { key.clear(); message.replaceChildren(h('span', { class: 'error', 'data-testid': 'sign-in-error' }, err instanceof ApiError && err.status === 403 ? t('forbidden') : err.message)); }
    },
  }, h('h1', {}, t('signIn')), h('label', {}, t('apiKey'), input), message, h('button', { class: 'primary', type: 'submit', 'data-testid': 'sign-in' }, t('signIn')));
  main.replaceChildren(form);
}

function stopRefresh() {
  clearInterval(timer);
  timer = null;
}

export async function route() {
  stopRefresh();
  const mine = ++generation;
  const main = document.getElementById('main');
  if (!key.get()) return login(main);
  const hash = location.hash || '#/journeys';
  const found = routes.map(([re, page, section]) => [hash.match(re), page, section]).find(([m]) => m);
  if (!found) { location.hash = '#/journeys'; return; }
  const [match, page, section] = found;
  nav(section);
  const draw = async () => {
    try {
      const view = await page(...match.slice(1).map(decodeURIComponent));
      if (mine !== generation) return;
      main.replaceChildren(view.element);
      main.dataset.loaded = String(Date.now());
      if (view.refresh && !timer) timer = setInterval(draw, view.refresh);
      if (!view.refresh) stopRefresh();
    } catch (err) {
      if (mine !== generation) return;
      if (err instanceof ApiError && err.status === 401) { key.clear(); return login(main); }
      main.replaceChildren(h('p', { class: 'error', 'data-testid': 'error' }, err instanceof ApiError && err.status === 403 ? t('forbidden') : err.message));
    }
  };
  await draw();
}

document.getElementById('lang').addEventListener('click', () => { setLang(lang() === 'zh' ? 'en' : 'zh'); route(); });
document.getElementById('signout').addEventListener('click', () => { key.clear(); location.hash = '#/login'; route(); });
window.addEventListener('hashchange', route);
setLang(lang());
route();
