// Vital-sign charts on the resident page: uPlot (served from node_modules by the platform),
// one small chart per vital, with the resident's bands drawn as dashed lines.

import uPlot from '/vendor/uplot/uPlot.esm.js';
import { el } from './dom.js';
import { formatTime } from './format.js';
import { label, t } from './i18n.js';
import { prefs } from './prefs.js';

/**
 * Which reading types feed each chart, and with which field (CONTRACT §2).
 * Heart rate also comes as `pulse` with SpO2 and blood pressure readings, as the alerts engine reads it.
 */
export const VITAL_CHARTS = [
  { id: 'blood_pressure', series: [
    { name: 'systolic', band: 'systolic', sources: [['blood_pressure', 'systolic']], color: '#2f5d8a' },
    { name: 'diastolic', band: 'diastolic', sources: [['blood_pressure', 'diastolic']], color: '#7aa7cf' },
  ] },
  { id: 'spo2', series: [{ name: 'spo2', band: 'spo2', sources: [['spo2', 'spo2']], color: '#2f5d8a' }] },
  { id: 'heart_rate', series: [{
    name: 'heart_rate', band: 'heart_rate', color: '#2f5d8a',
    sources: [['heart_rate', 'bpm'], ['spo2', 'pulse'], ['blood_pressure', 'pulse']],
  }] },
  { id: 'temperature', series: [{ name: 'temperature', band: 'temperature', sources: [['temperature', 'celsius']], color: '#2f5d8a' }] },
  { id: 'glucose', series: [{ name: 'glucose', band: 'glucose', sources: [['glucose', 'mg_dl']], color: '#2f5d8a' }] },
  { id: 'respiratory_rate', series: [{ name: 'respiratory_rate', band: 'respiratory_rate', sources: [['respiratory_rate', 'per_min']], color: '#2f5d8a' }] },
  { id: 'weight', series: [{ name: 'weight', sources: [['weight', 'kg']], color: '#2f5d8a' }] },
];

/** Every reading type any chart needs: one GET /api/residents/:id/readings each. */
export const CHART_READING_TYPES = [...new Set(VITAL_CHARTS.flatMap((c) => c.series.flatMap((s) => s.sources.map(([type]) => type))))];

const BAND_COLORS = { critical: '#b42318', warning: '#c98a0b' };

/**
 * Aligned uPlot data for one chart: x in seconds, one y array per series (null where
 * a series has no reading at that time).
 */
export function chartData(chart, readingsByType) {
  const points = chart.series.map((s) => {
    const rows = [];
    for (const [type, field] of s.sources) {
      for (const r of readingsByType[type] || []) {
        if (typeof r.ts === 'number' && typeof r[field] === 'number') rows.push([r.ts, r[field]]);
      }
    }
    return rows;
  });
  const xs = [...new Set(points.flatMap((rows) => rows.map(([ts]) => ts)))].sort((a, b) => a - b);
  const index = new Map(xs.map((ts, i) => [ts, i]));
  const ys = points.map((rows) => {
    const y = new Array(xs.length).fill(null);
    for (const [ts, v] of rows) y[index.get(ts)] = v;
    return y;
  });
  const count = points.reduce((n, rows) => n + rows.length, 0);
  return { data: [xs.map((ts) => ts / 1000), ...ys], count };
}

/** The band thresholds of a chart's series as horizontal lines. */
export function bandLines(chart, bands) {
  const lines = [];
  chart.series.forEach((s, index) => {
    const band = s.band && bands ? bands[s.band] : undefined;
    if (!band) return;
    for (const [key, level] of [['lowCritical', 'critical'], ['lowWarning', 'warning'], ['highWarning', 'warning'], ['highCritical', 'critical']]) {
      // With two series (blood pressure) the second one's labels sit on the left, so equal values stay readable.
      if (typeof band[key] === 'number') {
        lines.push({ value: band[key], level, low: key.startsWith('low'), series: chart.series.length > 1 ? s.name : null, side: index === 0 ? 'right' : 'left' });
      }
    }
  });
  return lines;
}

function tzParts(ms) {
  const p = {};
  try {
    const f = new Intl.DateTimeFormat('en-GB', { timeZone: prefs.tz, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    for (const part of f.formatToParts(new Date(ms))) p[part.type] = part.value;
  } catch {
    const d = new Date(ms);
    Object.assign(p, { month: String(d.getMonth() + 1), day: String(d.getDate()), hour: String(d.getHours()).padStart(2, '0'), minute: String(d.getMinutes()).padStart(2, '0') });
  }
  return p;
}

function axisTimes(_u, splits, _axis, _space, incr) {
  let lastDay = '';
  return splits.map((s) => {
    const p = tzParts(s * 1000);
    const day = `${p.month}/${p.day}`;
    if (incr >= 86_400) return day;
    const hm = `${p.hour}:${p.minute}`;
    const text = day !== lastDay ? `${day}\n${hm}` : hm;
    lastDay = day;
    return text;
  });
}

/** Draws the band lines over the plot, each labelled with its level and value. */
function bandsPlugin(lines) {
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const dpr = uPlot.pxRatio;
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.lineWidth = dpr;
          const fontPx = Math.round(10.5 * dpr);
          ctx.font = `${fontPx}px ${window.getComputedStyle(document.body).fontFamily}`;
          const yOf = (line) => Math.round(u.valToPos(line.value, 'y', true)) + 0.5;
          const lineYs = lines.map(yOf);
          const taken = { left: [], right: [] }; // label boxes drawn so far, [top, bottom] per side
          // Free: no other label there, and no other line runs through the text.
          const free = (side, y0, y1) => taken[side].every(([a, b]) => y1 <= a || y0 >= b) && lineYs.every((ly) => ly <= y0 || ly >= y1);
          // Critical limits are labelled first: when two labels would overlap, the critical one stays.
          const ordered = [...lines].sort((a, b) => (a.level === b.level ? 0 : a.level === 'critical' ? -1 : 1));
          for (const line of ordered) {
            const y = yOf(line);
            if (y < top || y > top + height) continue;
            ctx.strokeStyle = BAND_COLORS[line.level];
            ctx.fillStyle = BAND_COLORS[line.level];
            ctx.setLineDash(line.level === 'critical' ? [6 * dpr, 3 * dpr] : [2 * dpr, 3 * dpr]);
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
            const text = `${line.series ? `${label('series', line.series)} ` : ''}${t(line.level === 'critical' ? 'bandCritical' : 'bandWarning')} ${line.value}`;
            // Low limits are labelled under their line, high ones above; a label that would cover
            // another tries the other side of its line, and is left out if both are taken.
            const below = [y + 2 * dpr, y + 2 * dpr + fontPx];
            const above = [y - 2 * dpr - fontPx, y - 2 * dpr];
            const spot = [line.low ? below : above, line.low ? above : below].find(([y0, y1]) => free(line.side, y0, y1));
            if (!spot) continue;
            taken[line.side].push(spot);
            ctx.textAlign = line.side;
            ctx.textBaseline = 'top';
            ctx.fillText(text, line.side === 'right' ? left + width - 4 * dpr : left + 4 * dpr, spot[0]);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** The y range: the data and every band line, with a little room. */
function yRange(data, lines) {
  const values = [...lines.map((l) => l.value)];
  for (const ys of data.slice(1)) for (const v of ys) if (v !== null) values.push(v);
  if (values.length === 0) return [0, 1];
  let min = Math.min(...values);
  let max = Math.max(...values);
  const pad = Math.max((max - min) * 0.08, 0.5);
  min -= pad;
  max += pad;
  return [min, max];
}

/**
 * Renders one chart card; returns { node, destroy }. The card carries data-chart,
 * data-points (readings drawn) and data-band-lines for tests and screen readers alike.
 */
export function renderVitalChart(chart, readingsByType, bands, range) {
  const { data, count } = chartData(chart, readingsByType);
  const lines = bandLines(chart, bands);
  const card = el('figure', { className: 'vital-card', data: { chart: chart.id, points: count, bandLines: lines.length } });
  const title = el('figcaption', { className: 'vital-head' }, [
    el('span', { className: 'vital-title', text: label('chartTitle', chart.id) }),
    el('span', { className: 'vital-latest', text: latestText(chart, data) }),
    el('span', { className: 'vital-count', text: t('chartPoints', { n: count }) }),
  ]);
  const plot = el('div', { className: 'vital-plot' });
  card.append(title, plot);
  if (count === 0) {
    plot.append(el('p', { className: 'vital-empty', text: t('chartEmpty') }));
    return { node: card, destroy() {} };
  }

  const [ymin, ymax] = yRange(data, lines);
  const opts = {
    width: 400,
    height: 190,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), prefs.tz),
    legend: { show: chart.series.length > 1, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true, range: () => [range.from / 1000, range.to / 1000] },
      y: { range: () => [ymin, ymax] },
    },
    axes: [
      { values: axisTimes, stroke: '#52606d', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#e1e4e8' }, font: '11px sans-serif' },
      { stroke: '#52606d', grid: { stroke: '#eef1f4' }, ticks: { stroke: '#e1e4e8' }, size: 44, font: '11px sans-serif' },
    ],
    series: [
      { value: (_u, v) => (v === null ? '—' : formatTime(v * 1000)) },
      ...chart.series.map((s) => ({
        label: label('series', s.name),
        stroke: s.color,
        width: 1.5,
        spanGaps: true,
        points: { show: true, size: 4, stroke: s.color, fill: s.color },
      })),
    ],
    plugins: [bandsPlugin(lines)],
  };
  const u = new uPlot(opts, data, plot);
  // Follow the card's width (the grid decides it).
  const observer = new window.ResizeObserver((entries) => {
    const width = Math.floor(entries[0].contentRect.width);
    if (width > 0 && Math.abs(width - u.width) > 1) u.setSize({ width, height: 190 });
  });
  observer.observe(plot);
  return {
    node: card,
    destroy() {
      observer.disconnect();
      u.destroy();
    },
  };
}

function latestText(chart, data) {
  const xs = data[0];
  for (let i = xs.length - 1; i >= 0; i--) {
    const values = data.slice(1).map((ys) => ys[i]);
    if (values.every((v) => v === null)) continue;
    if (chart.id === 'blood_pressure') {
      // Find the last complete pair.
      if (values.some((v) => v === null)) continue;
      return `${values[0]}/${values[1]} · ${formatTime(xs[i] * 1000)}`;
    }
    return `${values.find((v) => v !== null)} · ${formatTime(xs[i] * 1000)}`;
  }
  return '';
}
