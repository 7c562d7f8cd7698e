import { el } from './dom.js';
import { DICT, label, lookup, t } from './i18n.js';
import { prefs } from './prefs.js';

// ---------------------------------------------------------------------------
// Time: absolute in tzDisplay as `2026-11-27 14:05`, plus relative ("12분 전").

let dateFormat = null;
let dateFormatTz = null;

export function formatTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  if (!dateFormat || dateFormatTz !== prefs.tz) {
    const opts = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    try {
      dateFormat = new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: prefs.tz });
    } catch {
      dateFormat = new Intl.DateTimeFormat('en-GB', opts); // unknown zone: the browser's own
    }
    dateFormatTz = prefs.tz;
  }
  const p = {};
  for (const part of dateFormat.formatToParts(new Date(ms))) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

export function tzShort() {
  if (prefs.tz === 'Asia/Seoul') return 'KST';
  try {
    const part = new Intl.DateTimeFormat('en-US', { timeZone: prefs.tz, timeZoneName: 'short' })
      .formatToParts(new Date())
      .find((x) => x.type === 'timeZoneName');
    return part ? part.value : prefs.tz;
  } catch {
    return prefs.tz;
  }
}

export function formatDuration(ms) {
  const totalMin = Math.max(0, Math.floor(ms / 60_000));
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  if (d > 0) return h > 0 ? t('durDayHour', { d, h }) : t('durDay', { d });
  if (h > 0) return m > 0 ? t('durHourMin', { h, m }) : t('durHour', { h });
  return t('durMin', { m });
}

export function relativeTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const diff = Date.now() - ms;
  if (diff < 60_000) return t('justNow');
  return t('ago', { d: formatDuration(diff) });
}

/** A span whose text is kept fresh by the ticker. */
export function relSpan(ms, className, template) {
  const span = el('span', { className, data: { relTs: ms } });
  if (template) span.dataset.relTemplate = template;
  updateRel(span);
  return span;
}

export function updateRel(span) {
  const ms = Number(span.dataset.relTs);
  const rel = relativeTime(ms);
  span.textContent = span.dataset.relTemplate ? t(span.dataset.relTemplate, { rel }) : rel;
}

// ---------------------------------------------------------------------------
// Values with units

export function roundValue(v) {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 10) / 10);
}

export function formatValue(a) {
  const v = a.lastValue;
  const rule = String(a.rule ?? '');
  if (a.kind === 'missed_checkin' && typeof v === 'number') return t('inactivityValue', { dur: formatDuration(v * 60_000) });
  if (a.kind === 'fall') {
    if (typeof v === 'number') return t('fallConfidence', { p: Math.round(v <= 1 ? v * 100 : v) });
    return '';
  }
  if (a.kind === 'device_offline') {
    return typeof v === 'number' ? `${t('deviceValue', { id: rule })} · ${t('batteryValue', { n: v })}` : t('deviceValue', { id: rule });
  }
  if (v === null || v === undefined || v === '') return '';
  const name = lookup(DICT[prefs.lang], `vital.${rule}`);
  const text = typeof v === 'number' ? roundValue(v) : String(v);
  if (typeof name === 'string') return `${name} ${text}${label('unit', rule)}`;
  return rule ? `${rule} ${text}` : text;
}


// ---------------------------------------------------------------------------
// The alerts engine writes `reason` and system history notes in English for
// machines and logs; the console says them in the staff's language where it
// knows the pattern, and shows anything else as it is.

const REASON_VITAL = /^([a-z0-9_]+) (-?\d+(?:\.\d+)?) (≤|≥) (-?\d+(?:\.\d+)?)( \(HHS range\))?$/;
const REASON_INACTIVE = /^no activity for (\d+(?:\.\d+)?) (h|s)$/;
const REASON_OFFLINE = /^device (\S+) went offline$/;
const NOTE_TIMEOUT = /^unacknowledged for (\d+) min → ([a-z_]+)$/;

export function localizeReason(text) {
  if (typeof text !== 'string' || !text) return '';
  let m = REASON_VITAL.exec(text);
  if (m && typeof lookup(DICT.ko, `vital.${m[1]}`) === 'string') {
    const vars = { vital: label('vital', m[1]), value: m[2], limit: m[4], unit: label('unit', m[1]) };
    const main = t(m[3] === '≤' ? 'reason.vitalLow' : 'reason.vitalHigh', vars);
    return m[5] ? `${main} — ${t('reason.hhs')}` : main;
  }
  m = REASON_INACTIVE.exec(text);
  if (m) {
    const n = Number(m[1]);
    return t('reason.noActivity', { dur: m[2] === 'h' ? formatDuration(n * 3_600_000) : t('durSec', { s: Math.round(n) }) });
  }
  if (text === 'SOS button pressed') return t('reason.sos');
  if (text === 'fall detected') return t('reason.fall');
  m = REASON_OFFLINE.exec(text);
  if (m) return t('reason.deviceOffline', { id: m[1] });
  m = NOTE_TIMEOUT.exec(text);
  if (m) return t('reason.escalatedTimeout', { m: m[1], level: label('level', m[2]) });
  return text;
}
