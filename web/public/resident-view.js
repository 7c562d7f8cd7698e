// Residents: the list (#/residents) and one resident's page (#/residents/<id>) with
// profile, devices, last activity, open and past alerts, and the vitals charts.

import { api, HttpError } from './api.js';
import { el } from './dom.js';
import { formatDuration, formatTime, formatValue, localizeReason, relSpan } from './format.js';
import { label, t } from './i18n.js';
import { CHART_READING_TYPES, renderVitalChart, VITAL_CHARTS } from './vitals-chart.js';

const RANGES = { '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000, '30d': 30 * 24 * 3_600_000 };
const SEVERITY_RANK = { critical: 2, warning: 1, info: 0 };

/**
 * ctx: { listRoot, pageRoot, openAlerts(): Alert[], onResidents(list), sessionExpired(), showAlert(id) }
 */
export function createResidentViews(ctx) {
  const view = {
    mode: null, // 'list' | 'page'
    residents: null, // list view data
    query: '',
    residentId: null,
    detail: null, // GET /api/residents/:id
    error: null,
    range: '7d',
    readings: null, // { type: readings[] } for the current range, or 'failed'
    charts: [],
    nav: 0, // bumps on every navigation; late answers of an older one are dropped
    readingsLoad: 0, // bumps on every readings request (a range change too)
    refreshTimer: null,
  };

  function failed(err) {
    if (err instanceof HttpError && err.status === 401) {
      ctx.sessionExpired();
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------------------
  // List

  async function showList() {
    view.mode = 'list';
    view.residentId = null;
    destroyCharts();
    const nav = ++view.nav;
    renderList();
    try {
      const res = await api('GET', '/api/residents');
      if (nav !== view.nav) return;
      view.residents = Array.isArray(res.residents) ? res.residents : [];
      ctx.onResidents(view.residents);
    } catch (err) {
      if (failed(err) || nav !== view.nav) return;
      view.residents = view.residents || [];
      view.error = 'residentLoadFailed';
    }
    renderList();
  }

  function openCounts() {
    const counts = new Map();
    for (const a of ctx.openAlerts()) {
      const c = counts.get(a.residentId) || { n: 0, worst: -1, severity: null };
      c.n++;
      if ((SEVERITY_RANK[a.severity] ?? -1) > c.worst) {
        c.worst = SEVERITY_RANK[a.severity];
        c.severity = a.severity;
      }
      counts.set(a.residentId, c);
    }
    return counts;
  }

  function age(birthYear) {
    if (typeof birthYear !== 'number') return '—';
    return t('ageValue', { y: birthYear, a: new Date().getFullYear() - birthYear });
  }

  function renderList() {
    if (view.mode !== 'list') return;
    const root = ctx.listRoot;
    const focused = document.activeElement && document.activeElement.id === 'residents-search';
    const search = el('input', {
      className: 'search',
      attrs: { id: 'residents-search', type: 'search', placeholder: t('residentsSearch'), 'aria-label': t('residentsSearch'), value: view.query },
    });
    search.addEventListener('input', () => {
      view.query = search.value;
      renderListBody();
    });
    const head = el('div', { className: 'page-head' }, [
      el('h2', { text: t('residentsTitle') }),
      el('span', { className: 'muted', attrs: { id: 'residents-count' } }),
      el('div', { className: 'spacer' }),
      search,
    ]);
    const body = el('div', { attrs: { id: 'residents-body' } });
    root.replaceChildren(head, body);
    renderListBody();
    if (focused) {
      search.focus();
      search.setSelectionRange(search.value.length, search.value.length);
    }
  }

  function renderListBody() {
    const body = ctx.listRoot.querySelector('#residents-body');
    if (!body) return;
    if (!view.residents) {
      body.replaceChildren(el('p', { className: 'board-empty', text: t('residentLoading') }));
      return;
    }
    const q = view.query.trim().toLowerCase();
    const counts = openCounts();
    const list = view.residents
      .filter((r) => !q || [r.displayName, r.id, r.dong].some((v) => typeof v === 'string' && v.toLowerCase().includes(q)))
      .sort((a, b) => {
        const ca = counts.get(a.id);
        const cb = counts.get(b.id);
        const byWorst = (cb ? cb.worst : -1) - (ca ? ca.worst : -1);
        if (byWorst !== 0) return byWorst;
        return String(a.displayName).localeCompare(String(b.displayName), 'ko');
      });
    ctx.listRoot.querySelector('#residents-count').textContent = t('residentsCount', { n: view.residents.length });
    if (list.length === 0) {
      body.replaceChildren(el('p', { className: 'board-empty', text: t(view.residents.length ? 'residentsNoMatch' : 'residentsEmpty') }));
      return;
    }
    const table = el('table', { className: 'table residents-table' }, [
      el('thead', {}, [el('tr', {}, ['colName', 'colDong', 'colBirth', 'colLastActivity', 'colOpenAlerts', 'colEnabled'].map((k) => el('th', { text: t(k) })))]),
      el('tbody', {}, list.map((r) => {
        const c = counts.get(r.id);
        return el('tr', { data: { residentId: r.id }, className: r.enabled === false ? 'is-disabled' : '' }, [
          el('td', {}, [
            el('a', { className: 'name', text: r.displayName, attrs: { href: `#/residents/${encodeURIComponent(r.id)}` } }),
            el('span', { className: 'rid', text: ` ${r.id}` }),
          ]),
          el('td', { text: r.dong }),
          el('td', { text: age(r.birthYear) }),
          el('td', {}, typeof r.lastActivityAt === 'number'
            ? [el('span', { text: `${formatTime(r.lastActivityAt)} ` }), relSpan(r.lastActivityAt, 'rel')]
            : [el('span', { className: 'muted', text: t('noActivity') })]),
          el('td', {}, [c ? el('span', { className: `badge sev-${c.severity}`, text: String(c.n) }) : el('span', { className: 'muted', text: '0' })]),
          el('td', {}, [el('span', { className: `chip ${r.enabled === false ? '' : 'status-acknowledged'}`, text: t(r.enabled === false ? 'enabledOff' : 'enabledOn') })]),
        ]);
      })),
    ]);
    body.replaceChildren(table);
  }

  // ---------------------------------------------------------------------------
  // One resident

  async function showResident(id) {
    const same = view.mode === 'page' && view.residentId === id;
    view.mode = 'page';
    view.residentId = id;
    view.nav++;
    if (!same) {
      view.detail = null;
      view.readings = null;
      view.error = null;
    }
    renderPage();
    await Promise.all([loadDetail(), loadReadings()]);
  }

  async function loadDetail() {
    const nav = view.nav;
    const id = view.residentId;
    try {
      const detail = await api('GET', `/api/residents/${encodeURIComponent(id)}`);
      if (nav !== view.nav) return;
      view.detail = detail;
      view.error = null;
    } catch (err) {
      if (failed(err) || nav !== view.nav) return;
      view.error = err instanceof HttpError && err.status === 404 ? 'residentNotFound' : 'residentLoadFailed';
    }
    renderPage();
  }

  async function loadReadings() {
    const load = ++view.readingsLoad;
    const nav = view.nav;
    const id = view.residentId;
    const to = Date.now();
    const from = to - RANGES[view.range];
    view.readings = null;
    renderCharts();
    const q = `from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}`;
    try {
      const answers = await Promise.all(CHART_READING_TYPES.map((type) =>
        api('GET', `/api/residents/${encodeURIComponent(id)}/readings?type=${type}&${q}`)));
      if (load !== view.readingsLoad || nav !== view.nav) return;
      view.readings = { from, to, byType: Object.fromEntries(answers.map((a, i) => [CHART_READING_TYPES[i], a.readings || []])) };
    } catch (err) {
      if (failed(err) || load !== view.readingsLoad || nav !== view.nav) return;
      view.readings = 'failed';
    }
    renderCharts();
  }

  function destroyCharts() {
    for (const c of view.charts) c.destroy();
    view.charts = [];
  }

  function section(titleKey, children, extra = {}) {
    return el('section', { className: `panel ${extra.className || ''}`, data: extra.data || {} }, [
      el('h3', { className: 'panel-title', text: t(titleKey) }, extra.titleExtra ? [extra.titleExtra] : []),
      ...children,
    ]);
  }

  function renderPage() {
    if (view.mode !== 'page') return;
    const root = ctx.pageRoot;
    const back = el('a', { className: 'back-link', text: t('backToResidents'), attrs: { href: '#/residents' } });
    if (view.error) {
      destroyCharts();
      root.replaceChildren(back, el('p', { className: 'banner', text: t(view.error) }));
      return;
    }
    const r = view.detail;
    if (!r) {
      destroyCharts();
      root.replaceChildren(back, el('p', { className: 'board-empty', text: t('residentLoading') }));
      return;
    }
    root.dataset.residentId = r.id;
    const open = ctx.openAlerts().filter((a) => a.residentId === r.id);
    const devices = Array.isArray(r.devices) ? r.devices : [];
    const online = devices.filter((d) => d.enabled && d.status && d.status.connectivity === 'online').length;
    const worst = open.reduce((w, a) => ((SEVERITY_RANK[a.severity] ?? -1) > (SEVERITY_RANK[w] ?? -1) ? a.severity : w), null);

    const head = el('div', { className: 'resident-head' }, [
      el('div', { className: 'resident-title' }, [
        el('h2', { className: 'resident-name', text: r.displayName }),
        el('span', { className: 'chip', text: t('dongCode', { code: r.dong }) }),
        typeof r.birthYear === 'number' ? el('span', { className: 'chip', text: age(r.birthYear) }) : null,
        el('span', { className: `chip ${r.enabled === false ? '' : 'status-acknowledged'}`, text: t(r.enabled === false ? 'enabledOff' : 'enabledOn') }),
        el('code', { className: 'rid', text: r.id }),
      ]),
      el('div', { className: 'summary' }, [
        summaryBox('summaryLastActivity', typeof r.lastActivityAt === 'number'
          ? [el('strong', { text: formatTime(r.lastActivityAt) }), relSpan(r.lastActivityAt, 'rel')]
          : [el('strong', { className: 'muted', text: t('noActivity') })]),
        summaryBox('summaryOpen', [el('strong', { text: String(open.length) })], worst ? `sev-${worst}` : ''),
        summaryBox('summaryDevices', [el('strong', { text: t('devicesOnline', { on: online, n: devices.filter((d) => d.enabled).length }) })]),
        summaryBox('fPhone', [el('strong', { text: r.phone || '—' })]),
      ]),
    ]);

    const profile = el('dl', { className: 'detail-grid' });
    const add = (k, v) => profile.append(el('dt', { text: t(k) }), el('dd', {}, [typeof v === 'string' ? document.createTextNode(v) : v]));
    add('fResidentId', el('code', { text: r.id }));
    add('fDong', r.dong);
    add('fPhone', r.phone || '—');
    add('fBirthYear', age(r.birthYear));
    add('fInactivity', t('inactivityRule', { dur: formatDuration((r.inactivityHours ?? 24) * 3_600_000) }));
    add('fStatus2', t(r.enabled === false ? 'enabledOff' : 'enabledOn'));
    add('fRegistered', formatTime(r.createdAt));

    const deviceTable = devices.length === 0
      ? el('p', { className: 'muted', text: t('devicesEmpty') })
      : el('table', { className: 'table devices-table' }, [
        el('thead', {}, [el('tr', {}, ['colKind', 'colConn', 'colBattery', 'colLastSeen'].map((k) => el('th', { text: t(k) })))]),
        el('tbody', {}, devices.map((d) => {
          const s = d.status || { connectivity: 'unknown', battery: null, lastSeenAt: null };
          const conn = d.enabled ? s.connectivity : 'disabled';
          return el('tr', { data: { deviceId: d.id, connectivity: conn }, className: d.enabled ? '' : 'is-disabled' }, [
            el('td', {}, [el('div', { text: label('deviceKind', d.kind) }), el('code', { className: 'rid', text: d.id })]),
            el('td', {}, [el('span', { className: `conn conn-${conn}`, text: d.enabled ? label('conn', s.connectivity) : t('deviceDisabled') })]),
            el('td', {}, [typeof s.battery === 'number'
              ? el('span', { className: `battery${s.battery <= 20 ? ' is-low' : ''}`, text: `${s.battery}%` })
              : el('span', { className: 'muted', text: '—' })]),
            el('td', {}, typeof s.lastSeenAt === 'number' ? [relSpan(s.lastSeenAt, 'rel')] : [el('span', { className: 'muted', text: '—' })]),
          ]);
        })),
      ]);

    const openList = alertList(open.sort((a, b) => (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) || b.openedAt - a.openedAt), true);
    const pastList = alertList(Array.isArray(r.recentAlerts) ? r.recentAlerts : [], false);

    const rangeButtons = el('div', { className: 'segmented', attrs: { role: 'group' } }, Object.keys(RANGES).map((key) =>
      el('button', {
        className: `btn ${view.range === key ? 'is-active' : ''}`,
        text: label('range', key),
        attrs: { type: 'button', 'aria-pressed': view.range === key ? 'true' : 'false' },
        data: { range: key },
      })));
    rangeButtons.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-range]');
      if (!b || b.dataset.range === view.range) return;
      view.range = b.dataset.range;
      for (const x of rangeButtons.children) {
        x.classList.toggle('is-active', x.dataset.range === view.range);
        x.setAttribute('aria-pressed', x.dataset.range === view.range ? 'true' : 'false');
      }
      void loadReadings();
    });

    const charts = el('div', { className: 'vitals', attrs: { id: 'vitals' } });
    const layout = el('div', { className: 'resident-layout' }, [
      el('div', { className: 'resident-main' }, [
        section('secVitals', [charts], { className: 'vitals-panel', titleExtra: rangeButtons }),
      ]),
      el('div', { className: 'resident-side' }, [
        section('secOpenAlerts', [openList], { data: { section: 'open-alerts' } }),
        section('secDevices', [deviceTable], { data: { section: 'devices' } }),
        section('secProfile', [profile]),
        section('secPastAlerts', [pastList], { data: { section: 'past-alerts' } }),
      ]),
    ]);

    destroyCharts();
    root.replaceChildren(back, head, layout);
    renderCharts();
  }

  function summaryBox(key, children, className = '') {
    return el('div', { className: `summary-box ${className}` }, [el('span', { className: 'summary-label', text: t(key) }), ...children]);
  }

  function alertList(alerts, live) {
    if (alerts.length === 0) return el('p', { className: 'muted', text: t('alertsNone') });
    return el('ul', { className: 'alert-list' }, alerts.map((a) => {
      const resolvedBy = live ? null : [...(a.history || [])].reverse().find((h) => h.action === 'resolved');
      return el('li', { className: `alert-item sev-${a.severity}`, data: { alertId: a.id, status: a.status } }, [
        el('div', { className: 'alert-item-line' }, [
          el('span', { className: `badge sev-${a.severity}`, text: label('sev', a.severity) }),
          el('span', { className: 'kind', text: label('kind', a.kind) }),
          el('span', { className: 'value', text: formatValue(a) }),
          el('span', { className: 'spacer' }),
          live
            ? el('span', { className: `chip status-${a.status}`, text: label('status', a.status) })
            : el('span', { className: 'chip', text: a.outcome ? label('outcome', a.outcome) : label('status', a.status) }),
        ]),
        el('div', { className: 'alert-item-sub' }, [
          el('span', { text: formatTime(a.openedAt) }),
          a.reason ? el('span', { className: 'muted', text: localizeReason(a.reason) }) : null,
          resolvedBy ? el('span', { className: 'muted', text: `${label('history', 'resolved')} ${formatTime(resolvedBy.at)} · ${resolvedBy.by}` }) : null,
          live ? el('button', { className: 'btn btn-quiet btn-small', text: t('viewOnBoard'), attrs: { type: 'button' }, data: { showAlert: a.id } }) : null,
        ]),
      ]);
    }));
  }

  function renderCharts() {
    const box = ctx.pageRoot.querySelector('#vitals');
    if (!box || view.mode !== 'page') return;
    destroyCharts();
    const readings = view.readings;
    if (readings === null) {
      box.dataset.state = 'loading';
      box.replaceChildren(el('p', { className: 'vital-empty', text: t('chartLoading') }));
      return;
    }
    if (readings === 'failed') {
      box.dataset.state = 'failed';
      box.replaceChildren(el('p', { className: 'banner', text: t('chartFailed') }));
      return;
    }
    const bands = view.detail ? view.detail.bands : null;
    const range = { from: readings.from, to: readings.to };
    const cards = [];
    const empty = [];
    for (const chart of VITAL_CHARTS) {
      const rendered = renderVitalChart(chart, readings.byType, bands, range);
      if (Number(rendered.node.dataset.points) > 0) {
        cards.push(rendered.node);
        view.charts.push(rendered);
      } else {
        empty.push(label('chartTitle', chart.id).replace(/\s*\(.*\)$/, ''));
      }
    }
    box.dataset.state = 'ready';
    box.replaceChildren(
      ...(cards.length ? [el('div', { className: 'vital-grid' }, cards)] : [el('p', { className: 'vital-empty', text: t('chartNoneAtAll') })]),
      empty.length && cards.length ? el('p', { className: 'muted vital-missing', text: t('chartEmptyTypes', { list: empty.join(', ') }) }) : null,
    );
  }

  ctx.pageRoot.addEventListener('click', (e) => {
    const b = e.target.closest('[data-show-alert]');
    if (b) ctx.showAlert(b.dataset.showAlert);
  });

  return {
    showList,
    showResident,
    hide() {
      view.mode = null;
      view.nav++;
      destroyCharts();
    },
    /** An alert changed: the list's counts and the open resident's page follow it live. */
    onAlert(a) {
      if (view.mode === 'list') renderListBody();
      if (view.mode === 'page' && a && a.residentId === view.residentId) {
        // Open alerts come from the live board state; past ones and last activity from the server, a moment later.
        renderPage();
        clearTimeout(view.refreshTimer);
        view.refreshTimer = setTimeout(() => void loadDetail(), 800);
      }
    },
    rerender() {
      if (view.mode === 'list') renderList();
      if (view.mode === 'page') renderPage();
    },
  };
}
