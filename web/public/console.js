// Donghaeng Care live console (CONTRACT §4–§5, DESIGN §6).
// Plain browser module: no build step, no framework. The page is served with
// `script-src 'self'; style-src 'self'`, so there is no inline script or style
// anywhere, and every value that comes from the server is put on the page with
// textContent / createElement only — never innerHTML.

const LANG_KEY = 'dh.console.lang';
const SOUND_KEY = 'dh.console.sound';
const SEVERITY_RANK = { critical: 2, warning: 1, info: 0 };
const SEVERITIES = ['critical', 'warning', 'info'];
const LEVELS = ['dong', 'nurse', 'health_center'];
const OUTCOMES = ['visited', 'phoned', 'false_alarm', 'hospital', 'emergency_services', 'other'];
const ACTION_TIMEOUT_MS = 10_000;
const TICK_MS = 30_000;
const REPLAY_LIMIT = 5000; // the server replays at most this many changes on (re)connect
const PAGE_LIMIT = 1000;

// ---------------------------------------------------------------------------
// Wording (reference/glossary-ko.md): Korean first, English second.

const DICT = {
  ko: {
    appTitle: '동행케어 관제',
    loginHeading: '관제 로그인',
    username: '아이디',
    password: '비밀번호',
    loginSubmit: '로그인',
    loginBusy: '로그인 중…',
    loginWrong: '아이디 또는 비밀번호가 올바르지 않습니다.',
    loginThrottled: '로그인 시도가 너무 많습니다. 잠시 후 다시 시도하세요.',
    loginFailed: '로그인하지 못했습니다. 잠시 후 다시 시도하세요.',
    sessionExpired: '세션이 만료되었습니다. 다시 로그인하세요.',
    networkError: '서버에 연결할 수 없습니다.',
    logout: '로그아웃',
    langToggle: 'English',
    connConnected: '실시간 연결됨',
    connDisconnected: '연결 끊김 — 재연결 중',
    soundOn: '알림음 켜짐',
    soundOff: '알림음 꺼짐',
    counterUnacked: '미확인 {n}',
    filterDong: '동',
    filterStatus: '상태',
    filterLevel: '단계',
    filterAll: '전체',
    statusAll: '전체 (미해결)',
    shownCount: '{shown} / {total}건',
    emptyAll: '미해결 경보가 없습니다.',
    emptyFiltered: '조건에 맞는 경보가 없습니다.',
    loading: '경보를 불러오는 중…',
    loadFailed: '경보 목록을 불러오지 못했습니다 — 다시 시도 중',
    colSeverity: '등급',
    colAlert: '경보 · 값',
    colResident: '대상자 · 동',
    colState: '상태 · 단계',
    colTime: '발생 시각 ({tz})',
    colActions: '조치',
    unknownResident: '(이름 미확인)',
    dongCode: '동 {code}',
    countTimes: '{n}회 감지',
    recovered: '정상 신호 재개',
    lastSeen: '최근 {rel}',
    escalateTarget: { nurse: '방문간호사에게 상향 보고', health_center: '보건소에 상향 보고' },
    escalateNote: '상향 보고 사유 (필수)',
    resolveNote: '메모 (선택)',
    notePlaceholder: '예: 전화 시도 — 응답 없음',
    outcomeSelect: '처리 결과 선택',
    outcomeLabel: '처리 결과',
    cancel: '취소',
    noteRequired: '내용을 입력하세요.',
    outcomeRequired: '처리 결과를 선택하세요.',
    errConflict: '이미 상태가 바뀐 경보입니다.',
    errNotFound: '경보를 찾을 수 없습니다 (담당 범위 밖).',
    errBadRequest: '입력값이 올바르지 않습니다.',
    errTimeout: '서버 응답이 없습니다. 다시 시도하세요.',
    errNetwork: '서버에 연결할 수 없습니다.',
    errRateLimited: '요청이 너무 많습니다. 잠시 후 다시 시도하세요.',
    errGeneric: '처리하지 못했습니다.',
    detailTitle: '경보 상세',
    close: '닫기',
    fResident: '대상자',
    fDong: '동',
    fKind: '종류',
    fValue: '값',
    fReason: '사유',
    fSeverity: '등급',
    fStatus: '상태',
    fLevel: '단계',
    fOpened: '발생',
    fLastSeen: '최근 감지',
    fCount: '감지 횟수',
    fRecovered: '정상 신호 재개',
    fLastActivity: '마지막 활동',
    fOutcome: '처리 결과',
    fAlertId: '경보 ID',
    historyTitle: '처리 기록',
    historyEmpty: '기록이 없습니다.',
    bySystem: '시스템',
    justNow: '방금 전',
    ago: '{d} 전',
    durMin: '{m}분',
    durHour: '{h}시간',
    durHourMin: '{h}시간 {m}분',
    durDay: '{d}일',
    durDayHour: '{d}일 {h}시간',
    inactivityValue: '활동 없음 {dur}',
    fallConfidence: '신뢰도 {p}%',
    titlePrefix: '(긴급)',
    titleFlash: '새 긴급 경보 {n}건',
    userLabel: '{name} ({role})',
    sev: { critical: '긴급', warning: '주의', info: '참고' },
    status: { open: '미확인', acknowledged: '확인 중', resolved: '종결' },
    level: { dong: '동', nurse: '방문간호사', health_center: '보건소' },
    kind: {
      missed_checkin: '안부 미확인',
      abnormal_vital: '건강수치 이상',
      sos: '응급호출',
      fall: '낙상 감지',
      device_offline: '기기 연결 끊김',
    },
    action: { ack: '확인', escalate: '상향 보고', resolve: '종결 처리', note: '기록 추가' },
    outcome: {
      phoned: '전화로 안부 확인',
      visited: '방문 확인',
      hospital: '병원 이송·진료',
      emergency_services: '112·119 출동',
      false_alarm: '오경보',
      other: '기타',
    },
    history: {
      opened: '발생',
      repeated: '반복 감지',
      severity_raised: '등급 상향',
      notified: '통보',
      recovered: '정상 신호 재개',
      acknowledged: '확인',
      escalated: '상향 보고',
      resolved: '종결',
      note: '기록 추가',
    },
    role: { staff: '동 담당자', nurse: '방문간호사', health_center: '보건소', admin: '관리자' },
    vital: {
      spo2: 'SpO2',
      heart_rate: '심박수',
      respiratory_rate: '호흡수',
      temperature: '체온',
      systolic: '수축기 혈압',
      diastolic: '이완기 혈압',
      blood_pressure: '혈압',
      glucose: '혈당',
      weight: '체중',
    },
    unit: {
      spo2: '%',
      heart_rate: ' bpm',
      respiratory_rate: '회/분',
      temperature: '℃',
      systolic: ' mmHg',
      diastolic: ' mmHg',
      blood_pressure: ' mmHg',
      glucose: ' mg/dL',
      weight: ' kg',
    },
  },
  en: {
    appTitle: 'Donghaeng Care console',
    loginHeading: 'Console sign-in',
    username: 'Username',
    password: 'Password',
    loginSubmit: 'Sign in',
    loginBusy: 'Signing in…',
    loginWrong: 'Wrong username or password.',
    loginThrottled: 'Too many attempts. Try again in a few minutes.',
    loginFailed: 'Could not sign in. Try again shortly.',
    sessionExpired: 'Your session has ended. Please sign in again.',
    networkError: 'Cannot reach the server.',
    logout: 'Sign out',
    langToggle: '한국어',
    connConnected: 'Live',
    connDisconnected: 'Connection lost — reconnecting',
    soundOn: 'Sound on',
    soundOff: 'Sound off',
    counterUnacked: '{n} open',
    filterDong: 'Dong',
    filterStatus: 'Status',
    filterLevel: 'Level',
    filterAll: 'All',
    statusAll: 'All (unresolved)',
    shownCount: '{shown} / {total}',
    emptyAll: 'No unresolved alerts.',
    emptyFiltered: 'No alerts match the filters.',
    loading: 'Loading alerts…',
    loadFailed: 'Could not load alerts — retrying',
    colSeverity: 'Severity',
    colAlert: 'Alert · value',
    colResident: 'Resident · dong',
    colState: 'Status · level',
    colTime: 'Opened ({tz})',
    colActions: 'Actions',
    unknownResident: '(unknown name)',
    dongCode: 'dong {code}',
    countTimes: 'seen {n}×',
    recovered: 'activity resumed',
    lastSeen: 'last {rel}',
    escalateTarget: { nurse: 'Escalate to visiting nurse', health_center: 'Escalate to public health centre' },
    escalateNote: 'Reason for escalating (required)',
    resolveNote: 'Note (optional)',
    notePlaceholder: 'e.g. "called — no answer"',
    outcomeSelect: 'Choose an outcome',
    outcomeLabel: 'Outcome',
    cancel: 'Cancel',
    noteRequired: 'Please write a note.',
    outcomeRequired: 'Please choose an outcome.',
    errConflict: 'This alert has already changed state.',
    errNotFound: 'Alert not found (outside your scope).',
    errBadRequest: 'The input is not valid.',
    errTimeout: 'No answer from the server. Please try again.',
    errNetwork: 'Cannot reach the server.',
    errRateLimited: 'Too many requests. Try again shortly.',
    errGeneric: 'The action failed.',
    detailTitle: 'Alert details',
    close: 'Close',
    fResident: 'Resident',
    fDong: 'Dong',
    fKind: 'Kind',
    fValue: 'Value',
    fReason: 'Reason',
    fSeverity: 'Severity',
    fStatus: 'Status',
    fLevel: 'Level',
    fOpened: 'Opened',
    fLastSeen: 'Last seen',
    fCount: 'Times seen',
    fRecovered: 'Activity resumed',
    fLastActivity: 'Last activity',
    fOutcome: 'Outcome',
    fAlertId: 'Alert ID',
    historyTitle: 'History',
    historyEmpty: 'No entries.',
    bySystem: 'system',
    justNow: 'just now',
    ago: '{d} ago',
    durMin: '{m} min',
    durHour: '{h} h',
    durHourMin: '{h} h {m} min',
    durDay: '{d} d',
    durDayHour: '{d} d {h} h',
    inactivityValue: 'no activity for {dur}',
    fallConfidence: 'confidence {p}%',
    titlePrefix: '(Critical)',
    titleFlash: '{n} new critical alert(s)',
    userLabel: '{name} ({role})',
    sev: { critical: 'Critical', warning: 'Warning', info: 'Info' },
    status: { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' },
    level: { dong: 'Dong', nurse: 'Visiting nurse', health_center: 'Public health centre' },
    kind: {
      missed_checkin: 'Missed check-in',
      abnormal_vital: 'Abnormal vital sign',
      sos: 'SOS',
      fall: 'Fall detected',
      device_offline: 'Device offline',
    },
    action: { ack: 'Acknowledge', escalate: 'Escalate', resolve: 'Resolve', note: 'Add note' },
    outcome: {
      phoned: 'Reached by phone',
      visited: 'Visited',
      hospital: 'Hospital',
      emergency_services: 'Emergency services (112/119)',
      false_alarm: 'False alarm',
      other: 'Other',
    },
    history: {
      opened: 'Opened',
      repeated: 'Repeated',
      severity_raised: 'Severity raised',
      notified: 'Notified',
      recovered: 'Activity resumed',
      acknowledged: 'Acknowledged',
      escalated: 'Escalated',
      resolved: 'Resolved',
      note: 'Note',
    },
    role: { staff: 'dong staff', nurse: 'visiting nurse', health_center: 'public health centre', admin: 'administrator' },
    vital: {
      spo2: 'SpO2',
      heart_rate: 'Heart rate',
      respiratory_rate: 'Resp. rate',
      temperature: 'Temperature',
      systolic: 'Systolic BP',
      diastolic: 'Diastolic BP',
      blood_pressure: 'Blood pressure',
      glucose: 'Glucose',
      weight: 'Weight',
    },
    unit: {
      spo2: '%',
      heart_rate: ' bpm',
      respiratory_rate: '/min',
      temperature: '℃',
      systolic: ' mmHg',
      diastolic: ' mmHg',
      blood_pressure: ' mmHg',
      glucose: ' mg/dL',
      weight: ' kg',
    },
  },
};

// ---------------------------------------------------------------------------
// State

function readStored(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? fallback : v;
  } catch {
    return fallback;
  }
}
function writeStored(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // private mode or storage disabled: the choice just isn't remembered
  }
}

const state = {
  lang: readStored(LANG_KEY, 'ko') === 'en' ? 'en' : 'ko',
  sound: readStored(SOUND_KEY, 'on') !== 'off',
  tz: 'Asia/Seoul',
  staff: null,
  token: null, // kept in memory only; the HttpOnly cookie carries the session otherwise
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
};

const cards = new Map(); // alert id -> card element (kept while the alert is unresolved)
const cardKeys = new Map(); // alert id -> render key of its card content

// ---------------------------------------------------------------------------
// Small helpers

const $ = (sel) => document.querySelector(sel);

function lookup(table, path) {
  let v = table;
  for (const part of path.split('.')) {
    if (v === undefined || v === null) return undefined;
    v = v[part];
  }
  return v;
}

function t(key, vars) {
  let s = lookup(DICT[state.lang], key);
  if (typeof s !== 'string') s = lookup(DICT.ko, key);
  if (typeof s !== 'string') return key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (Object.hasOwn(vars, k) ? String(vars[k]) : m));
  return s;
}

/** A label from one of the dictionary's maps; unknown codes show as they are. */
function label(group, code) {
  const s = lookup(DICT[state.lang], `${group}.${code}`) ?? lookup(DICT.ko, `${group}.${code}`);
  return typeof s === 'string' ? s : String(code ?? '');
}

/** createElement with text set through textContent only. */
function el(tag, opts = {}, children = []) {
  const node = document.createElement(tag);
  if (opts.className) node.className = opts.className;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  if (opts.attrs) {
    for (const [k, v] of Object.entries(opts.attrs)) {
      if (v === undefined || v === null || v === false) continue;
      node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  if (opts.data) for (const [k, v] of Object.entries(opts.data)) node.dataset[k] = String(v);
  for (const c of children) if (c) node.append(c);
  return node;
}

function isAlert(a) {
  return a !== null && typeof a === 'object' && typeof a.id === 'string' && typeof a.seq === 'number' && typeof a.status === 'string';
}

// ---------------------------------------------------------------------------
// Time: absolute in tzDisplay as `2026-11-27 14:05`, plus relative ("12분 전").

let dateFormat = null;
let dateFormatTz = null;

function formatTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  if (!dateFormat || dateFormatTz !== state.tz) {
    const opts = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    try {
      dateFormat = new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: state.tz });
    } catch {
      dateFormat = new Intl.DateTimeFormat('en-GB', opts); // unknown zone: the browser's own
    }
    dateFormatTz = state.tz;
  }
  const p = {};
  for (const part of dateFormat.formatToParts(new Date(ms))) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

function tzShort() {
  if (state.tz === 'Asia/Seoul') return 'KST';
  try {
    const part = new Intl.DateTimeFormat('en-US', { timeZone: state.tz, timeZoneName: 'short' })
      .formatToParts(new Date())
      .find((x) => x.type === 'timeZoneName');
    return part ? part.value : state.tz;
  } catch {
    return state.tz;
  }
}

function formatDuration(ms) {
  const totalMin = Math.max(0, Math.floor(ms / 60_000));
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  if (d > 0) return h > 0 ? t('durDayHour', { d, h }) : t('durDay', { d });
  if (h > 0) return m > 0 ? t('durHourMin', { h, m }) : t('durHour', { h });
  return t('durMin', { m });
}

function relativeTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const diff = Date.now() - ms;
  if (diff < 60_000) return t('justNow');
  return t('ago', { d: formatDuration(diff) });
}

/** A span whose text is kept fresh by the ticker. */
function relSpan(ms, className, template) {
  const span = el('span', { className, data: { relTs: ms } });
  if (template) span.dataset.relTemplate = template;
  updateRel(span);
  return span;
}

function updateRel(span) {
  const ms = Number(span.dataset.relTs);
  const rel = relativeTime(ms);
  span.textContent = span.dataset.relTemplate ? t(span.dataset.relTemplate, { rel }) : rel;
}

// ---------------------------------------------------------------------------
// Values with units

function roundValue(v) {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 10) / 10);
}

function formatValue(a) {
  const v = a.lastValue;
  const rule = String(a.rule ?? '');
  if (a.kind === 'missed_checkin' && typeof v === 'number') return t('inactivityValue', { dur: formatDuration(v * 60_000) });
  if (a.kind === 'fall') {
    if (typeof v === 'number') return t('fallConfidence', { p: Math.round(v <= 1 ? v * 100 : v) });
    return '';
  }
  if (v === null || v === undefined || v === '') return '';
  const name = lookup(DICT[state.lang], `vital.${rule}`);
  const text = typeof v === 'number' ? roundValue(v) : String(v);
  if (typeof name === 'string') return `${name} ${text}${label('unit', rule)}`;
  return rule ? `${rule} ${text}` : text;
}

// ---------------------------------------------------------------------------
// HTTP

class HttpError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || (status === 0 ? 'network' : 'internal');
  }
}

async function api(method, path, body) {
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (state.token) init.headers.authorization = `Bearer ${state.token}`;
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new HttpError(0, null);
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  if (!res.ok) throw new HttpError(res.status, json);
  return json;
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
    auth: (cb) => cb(state.token ? { token: state.token, lastSeq: state.lastSeq } : { lastSeq: state.lastSeq }),
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
          state.token = null; // fall back to the cookie
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
    if (info && info.staff && typeof info.staff.username === 'string') {
      state.staff = { ...state.staff, ...info.staff };
      renderHeader();
    }
    // The replay is capped; if it was cut short, take a fresh snapshot.
    if ((info && info.truncated) || replayed >= REPLAY_LIMIT) void loadSnapshotWithRetry({ reconcile: true });
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
  if (!state.sound) return;
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
}

function applyStaticText() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  if (!flashTimer) document.title = baseTitle();
  else updateFlashTitle();
  $('#col-time').textContent = t('colTime', { tz: tzShort() });
  $('#sound-toggle').textContent = t(state.sound ? 'soundOn' : 'soundOff');
  $('#sound-toggle').setAttribute('aria-pressed', state.sound ? 'true' : 'false');
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
  const key = `${state.lang}|${dongs.join(',')}`;
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

  const key = [a.seq, state.lang, residentName(a.residentId) ?? '', state.pending.has(a.id) ? 1 : 0].join('|');
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
    el('div', { className: name ? 'name' : 'name is-unknown', text: name ?? t('unknownResident') }),
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
    a.reason ? el('span', { className: 'reason', text: a.reason }) : null,
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
  return note;
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
    el('span', { className: 'name', text: name ?? t('unknownResident') }),
    el('span', { className: 'rid', text: ` ${a.residentId}` }),
  ]));
  add(t('fDong'), a.dong);
  if (value) add(t('fValue'), value);
  if (a.reason) add(t('fReason'), a.reason);
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
    el('h3', { text: t('historyTitle') }),
    entries.length ? list : el('p', { className: 'muted', text: t('historyEmpty') }),
  );
}

// ---------------------------------------------------------------------------
// Views, login, logout

function showBanner(key) {
  const banner = $('#load-banner');
  banner.textContent = key ? t(key) : '';
  banner.hidden = !key;
}

function showLogin(messageKey) {
  $('#console-view').hidden = true;
  $('#login-view').hidden = false;
  $('#connection').hidden = true;
  $('#user-name').hidden = true;
  $('#logout').hidden = true;
  $('#sound-toggle').hidden = true;
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
  state.token = null;
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
}

function sessionExpired() {
  if (!state.staff) return;
  resetSession();
  showLogin('sessionExpired');
}

async function startConsole(staff) {
  state.staff = staff;
  $('#login-view').hidden = true;
  $('#console-view').hidden = false;
  $('#connection').hidden = false;
  $('#user-name').hidden = false;
  $('#logout').hidden = false;
  $('#sound-toggle').hidden = false;
  applyStaticText();
  rebuildDongOptions();
  renderBoard();
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
    state.token = typeof res.token === 'string' ? res.token : null;
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
      if (cfg && typeof cfg.tzDisplay === 'string' && cfg.tzDisplay) state.tz = cfg.tzDisplay;
    }
  } catch {
    // keep the default zone
  }
}

async function init() {
  $('#login-form').addEventListener('submit', onLogin);
  $('#logout').addEventListener('click', () => void onLogout());
  $('#lang-toggle').addEventListener('click', () => {
    state.lang = state.lang === 'ko' ? 'en' : 'ko';
    writeStored(LANG_KEY, state.lang);
    dongOptionsKey = '';
    cardKeys.clear();
    for (const card of cards.values()) closeForm(card);
    applyStaticText();
    const loginError = $('#login-error');
    if (!loginError.hidden) loginError.hidden = true;
    renderAll();
  });
  $('#sound-toggle').addEventListener('click', () => {
    state.sound = !state.sound;
    writeStored(SOUND_KEY, state.sound ? 'on' : 'off');
    if (state.sound) unlockAudio();
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
