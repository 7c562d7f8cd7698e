// Donghaeng Care live console (CONTRACT §4–§5, DESIGN §6).
// Plain browser module: no build step, no framework. The page is served with
// `script-src 'self'; style-src 'self'`, so there is no inline script or style
// anywhere, and every value that comes from the server is put on the page with
// textContent / createElement only — never innerHTML.

import { createAdminView } from './admin-view.js';
import { api, HttpError } from './api.js';
import { $, el } from './dom.js';
import { formatTime, formatValue, localizeReason, relSpan, tzShort, updateRel } from './format.js';
import { label, t } from './i18n.js';
import { LANG_KEY, prefs, SOUND_KEY, writeStored } from './prefs.js';
import { createResidentViews } from './resident-view.js';

const SEVERITY_RANK = { critical: 2, warning: 1, info: 0 };
const SEVERITIES = ['critical', 'warning', 'info'];
const LEVELS = ['dong', 'nurse', 'health_center'];
const OUTCOMES = ['visited', 'phoned', 'false_alarm', 'hospital', 'emergency_services', 'other'];
const ACTION_TIMEOUT_MS = 10_000;
const TICK_MS = 30_000;
const REPLAY_LIMIT = 5000; // the server replays at most this many changes on (re)connect
const PAGE_LIMIT = 1000;

// ---------------------------------------------------------------------------
// State

const state = {
  staff: null,
  alerts: new Map(), // unresolved alerts by id
  seqById: new Map(), // highest seq held per alert id (resolved ones too, so stale replays are ignored)
  lastSeq: 0, // replay cursor for the socket handshake
  residents: new Map(),
  residentRequested: new Map(), // residentId -> last time we refetched because of it
  filters: { dong: '', status: '', level: '' },
  selectedId: null,
  selectedAlert: null,
  pending: new Set(), // alert ids with an action in flight
  errors: new Map(), // alert id -> error text shown on the card
  fresh: new Set(), // new critical alerts not yet acknowledged or looked at (card highlight)
  flashing: new Set(), // new critical alerts driving the title flash
  socket: null,
  connected: false,
  loaded: false,
  session: 0, // bumps on logout so late async results of an old session are dropped
  view: 'board', // board | residents | resident | admin (from the location hash)
  changedResidents: new Set(), // residents whose alerts changed since the last render
};

const cards = new Map(); // alert id -> card element (kept while the alert is unresolved)
const cardKeys = new Map(); // alert id -> render key of its card content

function isAlert(a) {
  return a !== null && typeof a === 'object' && typeof a.id === 'string' && typeof a.seq === 'number' && typeof a.status === 'string';
}

// ---------------------------------------------------------------------------
// Alerts: one Map by id; an incoming alert applies only if its seq is newer.

function applyAlert(a, { fromSocket = false, initial = false } = {}) {
  if (!isAlert(a)) return;
  if (fromSocket && a.seq > state.lastSeq) state.lastSeq = a.seq;
  const held = state.seqById.get(a.id);
  if (held !== undefined && a.seq <= held) return;
  state.seqById.set(a.id, a.seq);
  const prev = state.alerts.get(a.id);

  if (a.status === 'resolved') state.alerts.delete(a.id);
  else state.alerts.set(a.id, a);

  const criticalOpen = a.status === 'open' && a.severity === 'critical';
  if (!initial && criticalOpen && (!prev || prev.severity !== 'critical')) notifyCritical(a);
  if (!criticalOpen) {
    state.fresh.delete(a.id);
    if (state.flashing.delete(a.id) && state.flashing.size === 0) stopTitleFlash();
  }
  if (a.status === 'resolved') state.errors.delete(a.id);
  if (state.selectedId === a.id) state.selectedAlert = a;
  if (!state.residents.has(a.residentId)) requestResident(a.residentId);
  state.changedResidents.add(a.residentId);
  scheduleRender();
}

/**
 * The snapshot: GET /api/alerts (unresolved, newest first, paged). The replay
 * cursor is the highest seq seen in it; resolved alerts are fetched first so
 * their seq can only be a lower bound too (no change is skipped).
 * With reconcile, alerts we hold that are neither in the snapshot nor newer
 * than it were resolved meanwhile and go.
 */
async function loadSnapshot({ reconcile = false } = {}) {
  const session = state.session;
  let cursor = 0;
  const recent = await api('GET', '/api/alerts?status=resolved&limit=20');
  for (const a of recent.alerts || []) if (isAlert(a) && a.seq > cursor) cursor = a.seq;
  const seen = new Set();
  const all = [];
  let before = null;
  for (let page = 0; page < 50; page++) {
    const q = `/api/alerts?limit=${PAGE_LIMIT}${before ? `&before=${encodeURIComponent(before)}` : ''}`;
    const res = await api('GET', q);
    for (const a of res.alerts || []) {
      if (!isAlert(a)) continue;
      all.push(a);
      seen.add(a.id);
      if (a.seq > cursor) cursor = a.seq;
    }
    if (!res.next) break;
    before = res.next;
  }
  if (session !== state.session) return;
  for (const a of all) applyAlert(a, { initial: true });
  if (reconcile) {
    for (const [id, a] of state.alerts) {
      if (!seen.has(id) && a.seq <= cursor) {
        state.alerts.delete(id);
        state.fresh.delete(id);
        state.flashing.delete(id);
      }
    }
    if (state.flashing.size === 0) stopTitleFlash();
  }
  if (cursor > state.lastSeq) state.lastSeq = cursor;
  state.loaded = true;
  scheduleRender();
}

async function loadSnapshotWithRetry(opts) {
  const session = state.session;
  for (let attempt = 0; session === state.session; attempt++) {
    try {
      await loadSnapshot(opts);
      showBanner(null);
      return true;
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) {
        sessionExpired();
        return false;
      }
      showBanner('loadFailed');
      await new Promise((r) => setTimeout(r, Math.min(30_000, 2000 * 2 ** attempt)));
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// Residents (alerts carry only residentId)

let residentTimer = null;

async function loadResidents() {
  const session = state.session;
  try {
    const res = await api('GET', '/api/residents');
    if (session !== state.session) return;
    state.residents.clear();
    for (const r of res.residents || []) if (r && typeof r.id === 'string') state.residents.set(r.id, r);
    rebuildDongOptions();
    scheduleRender();
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) sessionExpired();
  }
}

/** Refetch the residents when an alert names one we don't know (at most every 15 s per id). */
function requestResident(id) {
  if (typeof id !== 'string') return;
  const last = state.residentRequested.get(id) || 0;
  if (Date.now() - last < 15_000) return;
  state.residentRequested.set(id, Date.now());
  if (residentTimer) return;
  residentTimer = setTimeout(() => {
    residentTimer = null;
    void loadResidents();
  }, 400);
}

// ---------------------------------------------------------------------------
// Socket.io /console

function setConnection(connected) {
  state.connected = connected;
  const node = $('#connection');
  node.dataset.state = connected ? 'connected' : 'disconnected';
  node.querySelector('.conn-label').textContent = t(connected ? 'connConnected' : 'connDisconnected');
}

function connectSocket() {
  if (typeof io !== 'function') {
    setConnection(false);
    return;
  }
  const session = state.session;
  // The auth *function* runs on every (re)connect, so the server replays everything after the newest seq we hold.
  const socket = io('/console', {
    auth: (cb) => cb(prefs.token ? { token: prefs.token, lastSeq: state.lastSeq } : { lastSeq: state.lastSeq }),
  });
  state.socket = socket;
  let replayed = 0;

  socket.on('connect', () => {
    replayed = 0;
    setConnection(true);
  });
  socket.on('disconnect', (reason) => {
    setConnection(false);
    // A server-side disconnect is not retried by the client on its own.
    if (reason === 'io server disconnect') setTimeout(() => session === state.session && socket.connect(), 2000);
  });
  socket.on('connect_error', (err) => {
    setConnection(false);
    if (err && err.message === 'unauthenticated') {
      // The middleware refused us; the client does not retry by itself. Check the session over REST.
      api('GET', '/api/me')
        .then((me) => {
          if (!me || !me.staff) {
            sessionExpired();
            return;
          }
          prefs.token = null; // fall back to the cookie
          setTimeout(() => session === state.session && socket.connect(), 2000);
        })
        .catch((e) => {
          if (e instanceof HttpError && e.status === 401) sessionExpired();
          else setTimeout(() => session === state.session && socket.connect(), 5000);
        });
    }
  });
  socket.on('alert', (a) => {
    replayed++;
    applyAlert(a, { fromSocket: true });
  });
  socket.on('ready', (info) => {
    let scopeChanged = false;
    if (info && info.staff && typeof info.staff.username === 'string') {
      const before = state.staff ? `${state.staff.role}|${(state.staff.dongs || []).join(',')}` : '';
      state.staff = { ...state.staff, ...info.staff };
      scopeChanged = before !== `${state.staff.role}|${(state.staff.dongs || []).join(',')}`;
      renderHeader();
      renderNav();
    }
    // The replay is capped; if it was cut short, or the scope changed (an admin moved us), take a fresh snapshot.
    if (scopeChanged) {
      state.alerts.clear();
      void loadResidents();
      void loadSnapshotWithRetry({ reconcile: true });
    } else if ((info && info.truncated) || replayed >= REPLAY_LIMIT) void loadSnapshotWithRetry({ reconcile: true });
    else if (info && typeof info.lastSeq === 'number' && info.lastSeq > state.lastSeq) state.lastSeq = info.lastSeq;
    replayed = 0;
  });
}

function disconnectSocket() {
  if (state.socket) {
    state.socket.removeAllListeners();
    state.socket.disconnect();
    state.socket = null;
  }
  setConnection(false);
}

// ---------------------------------------------------------------------------
// Actions: over the socket when connected, REST otherwise.

function socketAction(action, payload) {
  return new Promise((resolve) => {
    state.socket.timeout(ACTION_TIMEOUT_MS).emit(action, payload, (err, reply) => {
      if (err) resolve({ ok: false, error: 'timeout' });
      else resolve(reply && typeof reply === 'object' ? reply : { ok: false, error: 'internal' });
    });
  });
}

async function restAction(id, action, body) {
  try {
    const alert = await api('POST', `/api/alerts/${encodeURIComponent(id)}/${action}`, body);
    return { ok: true, alert };
  } catch (err) {
    if (err instanceof HttpError) return { ok: false, error: err.code, message: err.message, status: err.status };
    return { ok: false, error: 'internal' };
  }
}

function errorText(code) {
  switch (code) {
    case 'conflict':
      return t('errConflict');
    case 'not_found':
      return t('errNotFound');
    case 'bad_request':
      return t('errBadRequest');
    case 'timeout':
      return t('errTimeout');
    case 'network':
      return t('errNetwork');
    case 'rate_limited':
      return t('errRateLimited');
    default:
      return t('errGeneric');
  }
}

async function performAction(id, action, body) {
  if (state.pending.has(id)) return false;
  state.pending.add(id);
  state.errors.delete(id);
  renderBoard();
  let reply;
  try {
    reply = state.socket && state.socket.connected
      ? await socketAction(action, { id, ...body })
      : await restAction(id, action, body);
  } finally {
    state.pending.delete(id);
  }
  if (reply.ok) {
    if (action === 'ack') {
      state.fresh.delete(id);
      if (state.flashing.delete(id) && state.flashing.size === 0) stopTitleFlash();
    }
    applyAlert(reply.alert);
    renderBoard();
    return true;
  }
  if (reply.error === 'unauthenticated' || reply.status === 401) {
    sessionExpired();
    return false;
  }
  state.errors.set(id, errorText(reply.error));
  renderBoard();
  return false;
}

// ---------------------------------------------------------------------------
// Critical alert: short beep and a title flash

let audioCtx = null;

function audioContext() {
  const Ctor = window.AudioContext || window.webkitAudioContext;
  if (!Ctor) return null;
  if (!audioCtx) audioCtx = new Ctor();
  return audioCtx;
}

/** Called on user gestures so the beep is allowed to play later (autoplay policy). */
function unlockAudio() {
  try {
    const ctx = audioContext();
    if (ctx && ctx.state === 'suspended') void ctx.resume().catch(() => {});
  } catch {
    // no audio on this machine
  }
}

function beep() {
  if (!prefs.sound) return;
  try {
    const ctx = audioContext();
    if (!ctx) return;
    if (ctx.state === 'suspended') void ctx.resume().catch(() => {});
    const start = ctx.currentTime + 0.02;
    for (const [offset, freq] of [[0, 880], [0.22, 660]]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.2);
    }
  } catch {
    // autoplay blocked or no audio device: the title flash and the card still show it
  }
}

let flashTimer = null;
let flashOn = false;

function baseTitle() {
  return t('appTitle');
}

function notifyCritical(a) {
  state.fresh.add(a.id);
  state.flashing.add(a.id);
  beep();
  startTitleFlash();
}

function startTitleFlash() {
  if (flashTimer) {
    updateFlashTitle();
    return;
  }
  flashOn = true;
  updateFlashTitle();
  flashTimer = setInterval(() => {
    flashOn = !flashOn;
    updateFlashTitle();
  }, 1000);
}

function updateFlashTitle() {
  // Both phases keep the "(긴급)" prefix, so the tab stays marked while it blinks.
  document.title = flashOn
    ? `${t('titlePrefix')} ${t('titleFlash', { n: state.flashing.size })}`
    : `${t('titlePrefix')} ${baseTitle()}`;
}

function stopTitleFlash() {
  state.flashing.clear();
  if (flashTimer) window.clearInterval(flashTimer);
  flashTimer = null;
  document.title = baseTitle();
}

// ---------------------------------------------------------------------------
// Rendering

let renderQueued = false;

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    renderAll();
  }, 0);
}

function renderAll() {
  if (!state.staff) return;
  renderCounters();
  rebuildDongOptions();
  renderBoard();
  renderDetail();
  for (const residentId of state.changedResidents) residentViews.onAlert({ residentId });
  state.changedResidents.clear();
}

function applyStaticText() {
  document.documentElement.lang = prefs.lang;
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  if (!flashTimer) document.title = baseTitle();
  else updateFlashTitle();
  $('#col-time').textContent = t('colTime', { tz: tzShort() });
  $('#sound-toggle').textContent = t(prefs.sound ? 'soundOn' : 'soundOff');
  $('#sound-toggle').setAttribute('aria-pressed', prefs.sound ? 'true' : 'false');
  setConnection(state.connected);
  renderHeader();
}

function renderHeader() {
  const name = $('#user-name');
  if (!state.staff) {
    name.textContent = '';
    return;
  }
  name.textContent = t('userLabel', { name: state.staff.displayName || state.staff.username, role: label('role', state.staff.role) });
}

function renderCounters() {
  const totals = { critical: 0, warning: 0, info: 0 };
  const open = { critical: 0, warning: 0, info: 0 };
  for (const a of state.alerts.values()) {
    if (!(a.severity in totals)) continue;
    totals[a.severity]++;
    if (a.status === 'open') open[a.severity]++;
  }
  for (const sev of SEVERITIES) {
    const box = document.querySelector(`[data-counter="${sev}"]`);
    box.querySelector('.counter-value').textContent = String(totals[sev]);
    box.querySelector('.counter-sub').textContent = t('counterUnacked', { n: open[sev] });
    box.classList.toggle('is-zero', totals[sev] === 0);
    box.dataset.count = String(totals[sev]);
    box.dataset.open = String(open[sev]);
  }
  // Seen from every page: the open critical alerts, on the board's tab.
  const badge = $('#nav-critical');
  badge.textContent = t('navCritical', { n: open.critical });
  badge.hidden = open.critical === 0;
}

function knownDongs() {
  const dongs = new Set();
  if (state.staff && Array.isArray(state.staff.dongs)) for (const d of state.staff.dongs) if (d !== '*') dongs.add(d);
  for (const r of state.residents.values()) if (typeof r.dong === 'string') dongs.add(r.dong);
  for (const a of state.alerts.values()) if (typeof a.dong === 'string') dongs.add(a.dong);
  return [...dongs].sort();
}

let dongOptionsKey = '';

function rebuildDongOptions() {
  const dongs = knownDongs();
  const key = `${prefs.lang}|${dongs.join(',')}`;
  if (key === dongOptionsKey) return;
  dongOptionsKey = key;
  const select = $('#filter-dong');
  const current = state.filters.dong;
  const options = [el('option', { text: t('filterAll'), attrs: { value: '' } })];
  for (const d of dongs) options.push(el('option', { text: d, attrs: { value: d } }));
  if (current && !dongs.includes(current)) options.push(el('option', { text: current, attrs: { value: current } }));
  select.replaceChildren(...options);
  select.value = current;
}

function compareAlerts(a, b) {
  const bySeverity = (SEVERITY_RANK[b.severity] ?? -1) - (SEVERITY_RANK[a.severity] ?? -1);
  if (bySeverity !== 0) return bySeverity;
  const byAge = (a.openedAt ?? 0) - (b.openedAt ?? 0); // oldest first
  if (byAge !== 0) return byAge;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function visibleAlerts() {
  const { dong, status, level } = state.filters;
  return [...state.alerts.values()]
    .filter((a) => (!dong || a.dong === dong) && (!status || a.status === status) && (!level || a.level === level))
    .sort(compareAlerts);
}

function residentName(id) {
  const r = state.residents.get(id);
  return r && typeof r.displayName === 'string' ? r.displayName : null;
}

function renderBoard() {
  const board = $('#board');
  const list = visibleAlerts();

  // Forget cards of alerts that are gone (resolved).
  for (const id of [...cards.keys()]) {
    if (!state.alerts.has(id)) {
      cards.get(id).remove();
      cards.delete(id);
      cardKeys.delete(id);
    }
  }

  const wanted = new Set(list.map((a) => a.id));
  for (const child of [...board.children]) if (!wanted.has(child.dataset.alertId)) child.remove();

  list.forEach((a, i) => {
    let card = cards.get(a.id);
    if (!card) {
      card = createCard(a.id);
      cards.set(a.id, card);
    }
    updateCard(card, a);
    // Move only what is out of place, so an open form keeps its focus and text.
    if (board.children[i] !== card) board.insertBefore(card, board.children[i] || null);
  });

  const empty = $('#board-empty');
  if (!state.loaded) {
    empty.textContent = t('loading');
    empty.hidden = false;
  } else if (list.length === 0) {
    empty.textContent = t(state.alerts.size === 0 ? 'emptyAll' : 'emptyFiltered');
    empty.hidden = false;
  } else {
    empty.hidden = true;
  }
  $('#shown-count').textContent = t('shownCount', { shown: list.length, total: state.alerts.size });
  renderCounters();
}

function createCard(id) {
  const card = el('article', {
    className: 'card',
    attrs: { role: 'listitem', tabindex: '0' },
    data: { alertId: id },
  });
  card.append(
    el('div', { className: 'card-main' }),
    el('p', { className: 'card-error', attrs: { role: 'alert', hidden: true } }),
    el('div', { className: 'form-slot', attrs: { hidden: true } }),
  );
  return card;
}

function updateCard(card, a) {
  card.dataset.status = a.status;
  card.dataset.severity = a.severity;
  card.dataset.kind = a.kind;
  card.dataset.level = a.level;
  card.className = `card sev-${a.severity} status-${a.status}`;
  card.classList.toggle('is-fresh', state.fresh.has(a.id));
  card.classList.toggle('is-selected', state.selectedId === a.id);
  card.classList.toggle('is-pending', state.pending.has(a.id));
  card.setAttribute('aria-busy', state.pending.has(a.id) ? 'true' : 'false');

  const errNode = card.querySelector('.card-error');
  const err = state.errors.get(a.id);
  errNode.textContent = err || '';
  errNode.hidden = !err;

  const key = [a.seq, prefs.lang, residentName(a.residentId) ?? '', state.pending.has(a.id) ? 1 : 0].join('|');
  if (cardKeys.get(a.id) === key) return;
  cardKeys.set(a.id, key);

  const name = residentName(a.residentId);
  const value = formatValue(a);

  const sevCell = el('div', { className: 'c-sev' }, [el('span', { className: `badge sev-${a.severity}`, text: label('sev', a.severity) })]);

  const alertCell = el('div', { className: 'c-alert' }, [
    el('div', { className: 'kind', text: label('kind', a.kind) }),
    value ? el('div', { className: 'value', text: value }) : null,
  ]);

  const residentCell = el('div', { className: 'c-resident' }, [
    el('a', {
      className: name ? 'name' : 'name is-unknown',
      text: name ?? t('unknownResident'),
      attrs: { href: residentHref(a.residentId), title: t('openResident') },
    }),
    el('div', { className: 'sub' }, [
      el('span', { className: 'rid', text: a.residentId }),
      el('span', { className: 'sep', text: '·', attrs: { 'aria-hidden': 'true' } }),
      el('span', { className: 'dong', text: t('dongCode', { code: a.dong }) }),
    ]),
  ]);

  const stateCell = el('div', { className: 'c-state' }, [
    el('span', { className: `chip status-${a.status}`, text: label('status', a.status) }),
    el('span', { className: `chip level-${a.level}`, text: label('level', a.level) }),
    a.count > 1 ? el('span', { className: 'chip count', text: t('countTimes', { n: a.count }) }) : null,
  ]);

  const timeCell = el('div', { className: 'c-time' }, [
    el('div', { className: 'abs', text: formatTime(a.openedAt) }),
    el('div', { className: 'rel-line' }, [
      relSpan(a.openedAt, 'rel'),
      a.lastSeenAt && a.lastSeenAt - a.openedAt >= 60_000 ? relSpan(a.lastSeenAt, 'rel last-seen', 'lastSeen') : null,
    ]),
  ]);

  const busy = state.pending.has(a.id);
  const actions = el('div', { className: 'c-actions' });
  if (a.status === 'open') actions.append(actionButton('ack', 'btn btn-primary', busy));
  if (LEVELS.indexOf(a.level) < LEVELS.length - 1) actions.append(actionButton('escalate', 'btn', busy));
  actions.append(actionButton('resolve', 'btn', busy), actionButton('note', 'btn btn-quiet', busy));

  const reasonCell = el('div', { className: 'c-reason' }, [
    a.recoveredAt
      ? el('span', { className: 'recovered' }, [
        el('span', { className: 'recovered-label', text: t('recovered') }),
        el('span', { className: 'recovered-time', text: ` ${formatTime(a.recoveredAt)}` }),
      ])
      : null,
    a.reason ? el('span', { className: 'reason', text: localizeReason(a.reason) }) : null,
  ]);

  card.querySelector('.card-main').replaceChildren(sevCell, alertCell, residentCell, stateCell, timeCell, actions, reasonCell);
  card.setAttribute('aria-label', `${label('sev', a.severity)} ${label('kind', a.kind)} ${name ?? a.residentId}`);

  // An open form whose action no longer applies goes away.
  const slot = card.querySelector('.form-slot');
  if (slot.dataset.form === 'escalate' && LEVELS.indexOf(a.level) >= LEVELS.length - 1) closeForm(card);
}

function actionButton(action, className, disabled) {
  return el('button', {
    className: `${className} act-${action}`,
    text: label('action', action),
    attrs: { type: 'button', disabled },
    data: { action },
  });
}

// ---------------------------------------------------------------------------
// Inline forms (escalate / resolve / note), built with the DOM

function closeForm(card) {
  const slot = card.querySelector('.form-slot');
  slot.replaceChildren();
  slot.hidden = true;
  delete slot.dataset.form;
}

function openForm(card, kind) {
  const slot = card.querySelector('.form-slot');
  if (slot.dataset.form === kind) {
    closeForm(card);
    return;
  }
  const a = state.alerts.get(card.dataset.alertId);
  if (!a) return;
  const form = el('form', { className: `inline-form form-${kind}`, attrs: { novalidate: true }, data: { form: kind } });
  const fields = el('div', { className: 'form-fields' });
  let submitText = label('action', kind);

  if (kind === 'escalate') {
    const next = LEVELS[LEVELS.indexOf(a.level) + 1];
    if (!next) return;
    submitText = t(`escalateTarget.${next}`);
    fields.append(el('textarea', {
      attrs: { name: 'note', rows: '2', maxlength: '2000', required: true, placeholder: t('escalateNote'), 'aria-label': t('escalateNote') },
    }));
  } else if (kind === 'resolve') {
    const select = el('select', { attrs: { name: 'outcome', required: true, 'aria-label': t('outcomeLabel') } }, [
      el('option', { text: t('outcomeSelect'), attrs: { value: '', disabled: true, selected: true } }),
      ...OUTCOMES.map((o) => el('option', { text: label('outcome', o), attrs: { value: o } })),
    ]);
    fields.append(select, el('textarea', {
      attrs: { name: 'note', rows: '2', maxlength: '2000', placeholder: t('resolveNote'), 'aria-label': t('resolveNote') },
    }));
  } else if (kind === 'note') {
    fields.append(el('textarea', {
      attrs: { name: 'note', rows: '2', maxlength: '2000', required: true, placeholder: t('notePlaceholder'), 'aria-label': label('action', 'note') },
    }));
  } else {
    return;
  }

  form.append(
    fields,
    el('p', { className: 'form-error', attrs: { role: 'alert', hidden: true } }),
    el('div', { className: 'form-buttons' }, [
      el('button', { className: 'btn btn-primary', text: submitText, attrs: { type: 'submit' } }),
      el('button', { className: 'btn btn-quiet', text: t('cancel'), attrs: { type: 'button' }, data: { formCancel: '1' } }),
    ]),
  );
  slot.replaceChildren(form);
  slot.dataset.form = kind;
  slot.hidden = false;
  const first = form.querySelector('select, textarea');
  if (first) first.focus();
}

async function submitForm(card, form) {
  const id = card.dataset.alertId;
  const kind = form.dataset.form;
  const errNode = form.querySelector('.form-error');
  const showError = (text) => {
    errNode.textContent = text;
    errNode.hidden = !text;
  };
  const noteField = form.querySelector('[name="note"]');
  const note = noteField ? noteField.value.trim() : '';
  let body;
  if (kind === 'escalate' || kind === 'note') {
    if (!note) {
      showError(t('noteRequired'));
      noteField.focus();
      return;
    }
    body = { note };
  } else if (kind === 'resolve') {
    const outcome = form.querySelector('[name="outcome"]').value;
    if (!OUTCOMES.includes(outcome)) {
      showError(t('outcomeRequired'));
      form.querySelector('[name="outcome"]').focus();
      return;
    }
    body = note ? { outcome, note } : { outcome };
  } else {
    return;
  }
  showError('');
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  const ok = await performAction(id, kind, body);
  if (ok) {
    if (cards.has(id)) closeForm(card);
  } else {
    for (const b of form.querySelectorAll('button')) b.disabled = false;
    const text = state.errors.get(id);
    if (text) {
      state.errors.delete(id);
      showError(text);
      renderBoard();
    }
  }
}

// ---------------------------------------------------------------------------
// Detail side panel: the alert and its history

function selectAlert(id) {
  const a = state.alerts.get(id);
  if (!a) return;
  state.selectedId = id;
  state.selectedAlert = a;
  state.fresh.delete(id);
  renderBoard();
  renderDetail();
}

function closeDetail() {
  state.selectedId = null;
  state.selectedAlert = null;
  renderBoard();
  renderDetail();
}

function kv(labelText, valueNode) {
  return [el('dt', { text: labelText }), el('dd', {}, [valueNode])];
}

function historyNote(entry) {
  const note = typeof entry.note === 'string' ? entry.note : '';
  if (entry.action === 'resolved') {
    const m = /^([a-z_]+)(?::\s?([\s\S]*))?$/.exec(note);
    if (m && OUTCOMES.includes(m[1])) return m[2] ? `${label('outcome', m[1])} — ${m[2]}` : label('outcome', m[1]);
  }
  if (entry.action === 'notified' && LEVELS.includes(note)) return label('level', note);
  return entry.by === 'system' ? localizeReason(note) : note;
}

function renderDetail() {
  const panel = $('#detail');
  const a = state.selectedAlert;
  if (!a) {
    panel.hidden = true;
    panel.replaceChildren();
    delete panel.dataset.detailId;
    return;
  }
  panel.hidden = false;
  panel.dataset.detailId = a.id; // not data-alert-id: that hook is for board cards only
  panel.dataset.status = a.status;

  const resident = state.residents.get(a.residentId);
  const name = residentName(a.residentId);
  const value = formatValue(a);

  const head = el('div', { className: 'detail-head' }, [
    el('h2', { text: t('detailTitle') }),
    el('button', { className: 'btn btn-quiet', text: t('close'), attrs: { type: 'button', id: 'detail-close' } }),
  ]);

  const title = el('div', { className: 'detail-title' }, [
    el('span', { className: `badge sev-${a.severity}`, text: label('sev', a.severity) }),
    el('span', { className: 'kind', text: label('kind', a.kind) }),
    el('span', { className: `chip status-${a.status}`, text: label('status', a.status) }),
  ]);

  const dl = el('dl', { className: 'detail-grid' });
  const add = (k, v) => dl.append(...kv(k, typeof v === 'string' ? document.createTextNode(v) : v));
  add(t('fResident'), el('span', {}, [
    el('a', { className: 'name', text: name ?? t('unknownResident'), attrs: { href: residentHref(a.residentId) } }),
    el('span', { className: 'rid', text: ` ${a.residentId}` }),
  ]));
  add(t('fDong'), a.dong);
  if (value) add(t('fValue'), value);
  if (a.reason) add(t('fReason'), localizeReason(a.reason));
  add(t('fLevel'), label('level', a.level));
  add(t('fOpened'), el('span', {}, [document.createTextNode(`${formatTime(a.openedAt)} `), relSpan(a.openedAt, 'rel')]));
  add(t('fLastSeen'), el('span', {}, [document.createTextNode(`${formatTime(a.lastSeenAt)} `), relSpan(a.lastSeenAt, 'rel')]));
  add(t('fCount'), String(a.count ?? 1));
  if (a.recoveredAt) add(t('fRecovered'), formatTime(a.recoveredAt));
  if (resident && typeof resident.lastActivityAt === 'number') {
    add(t('fLastActivity'), el('span', {}, [document.createTextNode(`${formatTime(resident.lastActivityAt)} `), relSpan(resident.lastActivityAt, 'rel')]));
  }
  if (a.outcome) add(t('fOutcome'), label('outcome', a.outcome));
  add(t('fAlertId'), el('code', { text: a.id }));

  const entries = Array.isArray(a.history) ? [...a.history] : [];
  const list = el('ol', { className: 'history' });
  for (const h of entries.reverse()) {
    const by = h.by === 'system' ? t('bySystem') : String(h.by ?? '');
    const note = historyNote(h);
    list.append(el('li', { className: `history-entry h-${h.action}`, data: { historyAction: h.action } }, [
      el('div', { className: 'h-line' }, [
        el('span', { className: 'h-time', text: formatTime(h.at) }),
        el('span', { className: 'h-action', text: label('history', h.action) }),
        el('span', { className: 'h-by', text: by }),
      ]),
      note ? el('div', { className: 'h-note', text: note }) : null,
    ]));
  }

  panel.replaceChildren(
    head,
    title,
    dl,
    el('p', { className: 'detail-links' }, [el('a', { className: 'btn btn-small', text: t('openResident'), attrs: { href: residentHref(a.residentId) } })]),
    el('h3', { text: t('historyTitle') }),
    entries.length ? list : el('p', { className: 'muted', text: t('historyEmpty') }),
  );
}

// ---------------------------------------------------------------------------
// Pages: the board, the residents, one resident, administration (location hash)

const residentViews = createResidentViews({
  listRoot: $('#residents-view'),
  pageRoot: $('#resident-view'),
  openAlerts: () => [...state.alerts.values()],
  onResidents(list) {
    for (const r of list) if (r && typeof r.id === 'string') state.residents.set(r.id, r);
    scheduleRender();
  },
  sessionExpired: () => sessionExpired(),
  showAlert(id) {
    location.hash = '#/';
    selectAlert(id);
  },
});

const adminView = createAdminView({
  root: $('#admin-view'),
  sessionExpired: () => sessionExpired(),
  onResidentsChanged: () => void loadResidents(),
});

function residentHref(id) {
  return `#/residents/${encodeURIComponent(id)}`;
}

function renderNav() {
  const admin = Boolean(state.staff && state.staff.role === 'admin');
  document.querySelector('#nav [data-nav="admin"]').hidden = !admin;
  for (const link of document.querySelectorAll('#nav [data-nav]')) {
    const current = link.dataset.nav === state.view || (link.dataset.nav === 'residents' && state.view === 'resident');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function route() {
  if (!state.staff) return;
  const path = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const resident = /^\/residents\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  let next = 'board';
  if (resident) next = 'resident';
  else if (path === '/residents') next = 'residents';
  else if (path === '/admin' && state.staff.role === 'admin') next = 'admin';
  const previous = state.view;
  state.view = next;
  for (const node of document.querySelectorAll('#console-view [data-view]')) node.hidden = node.dataset.view !== next;
  renderNav();
  if (previous === 'admin' && next !== 'admin') adminView.hide();
  if (next !== 'resident' && next !== 'residents') residentViews.hide();
  if (next === 'resident') void residentViews.showResident(resident[1]);
  else if (next === 'residents') void residentViews.showList();
  else if (next === 'admin') adminView.show();
  if (previous !== next) {
    // Back on the board for one alert ("경보 보기"): show its card; any other page starts at the top.
    const card = next === 'board' && state.selectedId ? cards.get(state.selectedId) : null;
    if (card) card.scrollIntoView({ block: 'center' });
    else window.scrollTo(0, 0);
  }
}

// ---------------------------------------------------------------------------
// Views, login, logout

function showBanner(key) {
  const banner = $('#load-banner');
  banner.textContent = key ? t(key) : '';
  banner.hidden = !key;
}

/** The login form, or the console with its header controls: never both. */
function showSignedIn(signedIn) {
  $('#login-view').hidden = signedIn;
  for (const id of ['#console-view', '#nav', '#connection', '#user-name', '#logout', '#sound-toggle']) $(id).hidden = !signedIn;
}

function showLogin(messageKey) {
  showSignedIn(false);
  const error = $('#login-error');
  error.textContent = messageKey ? t(messageKey) : '';
  error.hidden = !messageKey;
  const user = document.querySelector('#login-form [name="username"]');
  if (user && !user.value) user.focus();
}

function resetSession() {
  state.session++;
  disconnectSocket();
  stopTitleFlash();
  state.staff = null;
  prefs.token = null;
  state.alerts.clear();
  state.seqById.clear();
  state.lastSeq = 0;
  state.residents.clear();
  state.residentRequested.clear();
  state.selectedId = null;
  state.selectedAlert = null;
  state.pending.clear();
  state.errors.clear();
  state.fresh.clear();
  state.loaded = false;
  for (const card of cards.values()) card.remove();
  cards.clear();
  cardKeys.clear();
  dongOptionsKey = '';
  renderDetail();
  showBanner(null);
  residentViews.hide();
  adminView.hide();
  state.view = 'board';
}

function sessionExpired() {
  if (!state.staff) return;
  resetSession();
  showLogin('sessionExpired');
}

async function startConsole(staff) {
  state.staff = staff;
  showSignedIn(true);
  applyStaticText();
  renderNav();
  rebuildDongOptions();
  renderBoard();
  route();
  void loadResidents();
  const session = state.session;
  const ok = await loadSnapshotWithRetry();
  if (ok && session === state.session) connectSocket();
}

async function onLogin(event) {
  event.preventDefault();
  unlockAudio();
  const form = event.currentTarget;
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  const error = $('#login-error');
  const button = form.querySelector('button[type="submit"]');
  if (!username || !password) {
    error.textContent = t('loginWrong');
    error.hidden = false;
    return;
  }
  button.disabled = true;
  button.textContent = t('loginBusy');
  try {
    const res = await api('POST', '/api/login', { username, password });
    form.elements.password.value = '';
    error.hidden = true;
    error.textContent = '';
    prefs.token = typeof res.token === 'string' ? res.token : null;
    void startConsole(res.staff);
  } catch (err) {
    const status = err instanceof HttpError ? err.status : 0;
    const key = status === 401 || status === 400 ? 'loginWrong' : status === 429 ? 'loginThrottled' : status === 0 ? 'networkError' : 'loginFailed';
    error.textContent = t(key);
    error.hidden = false;
    form.elements.password.select();
  } finally {
    button.disabled = false;
    button.textContent = t('loginSubmit');
  }
}

async function onLogout() {
  try {
    await api('POST', '/api/logout', {});
  } catch {
    // the session is dropped locally either way
  }
  resetSession();
  showLogin(null);
}

// ---------------------------------------------------------------------------
// Wiring

function onBoardClick(event) {
  const card = event.target.closest('.card');
  if (!card) return;
  const id = card.dataset.alertId;
  const button = event.target.closest('button');
  if (button) {
    if (button.dataset.formCancel) {
      closeForm(card);
      card.focus();
      return;
    }
    const action = button.dataset.action;
    if (action === 'ack') void performAction(id, 'ack', {});
    else if (action === 'escalate' || action === 'resolve' || action === 'note') openForm(card, action);
    return;
  }
  if (event.target.closest('form, input, select, textarea, a')) return;
  selectAlert(id);
}

function onBoardSubmit(event) {
  const form = event.target.closest('form[data-form]');
  const card = event.target.closest('.card');
  if (!form || !card) return;
  event.preventDefault();
  void submitForm(card, form);
}

function onBoardKey(event) {
  const card = event.target.closest('.card');
  if (!card) return;
  if (event.key === 'Escape' && event.target.closest('form')) {
    closeForm(card);
    card.focus();
    return;
  }
  if ((event.key === 'Enter' || event.key === ' ') && event.target === card) {
    event.preventDefault();
    selectAlert(card.dataset.alertId);
  }
}

function tick() {
  for (const span of document.querySelectorAll('[data-rel-ts]')) updateRel(span);
}

async function loadConfig() {
  try {
    const res = await fetch('/config.json', { credentials: 'same-origin' });
    if (res.ok) {
      const cfg = await res.json();
      if (cfg && typeof cfg.tzDisplay === 'string' && cfg.tzDisplay) prefs.tz = cfg.tzDisplay;
    }
  } catch {
    // keep the default zone
  }
}

async function init() {
  $('#login-form').addEventListener('submit', onLogin);
  $('#logout').addEventListener('click', () => void onLogout());
  $('#lang-toggle').addEventListener('click', () => {
    prefs.lang = prefs.lang === 'ko' ? 'en' : 'ko';
    writeStored(LANG_KEY, prefs.lang);
    dongOptionsKey = '';
    cardKeys.clear();
    for (const card of cards.values()) closeForm(card);
    applyStaticText();
    const loginError = $('#login-error');
    if (!loginError.hidden) loginError.hidden = true;
    renderAll();
    residentViews.rerender();
    adminView.rerender();
  });
  window.addEventListener('hashchange', route);
  $('#sound-toggle').addEventListener('click', () => {
    prefs.sound = !prefs.sound;
    writeStored(SOUND_KEY, prefs.sound ? 'on' : 'off');
    if (prefs.sound) unlockAudio();
    applyStaticText();
  });
  for (const [id, key] of [['#filter-dong', 'dong'], ['#filter-status', 'status'], ['#filter-level', 'level']]) {
    $(id).addEventListener('change', (e) => {
      state.filters[key] = e.target.value;
      renderBoard();
    });
  }
  const board = $('#board');
  board.addEventListener('click', onBoardClick);
  board.addEventListener('submit', onBoardSubmit);
  board.addEventListener('keydown', onBoardKey);
  $('#detail').addEventListener('click', (e) => {
    if (e.target.closest('#detail-close')) closeDetail();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.selectedId && !e.target.closest('form')) closeDetail();
  });
  document.addEventListener('pointerdown', unlockAudio, { passive: true });
  document.addEventListener('keydown', unlockAudio);
  window.addEventListener('focus', () => {
    if (flashTimer) stopTitleFlash();
  });
  setInterval(tick, TICK_MS);

  applyStaticText();
  await loadConfig();
  applyStaticText();
  try {
    const me = await api('GET', '/api/me');
    if (me && me.staff) {
      void startConsole(me.staff);
      return;
    }
    showLogin(null);
  } catch (err) {
    showLogin(err instanceof HttpError && err.status !== 401 ? 'networkError' : null);
  }
}

void init();
