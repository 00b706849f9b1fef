import type { TaskView } from '#libs/contracts';
import uPlot from 'uplot';
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { realtime } from '../realtime.js';

const MINUTE = 60_000;
const WINDOW_MINUTES = 60;
/** The history read at open: the newest tasks of the last hour, at most this many (200 a page). */
const HISTORY_PAGES = 10;
const REDRAW_MS = 2000;
const FINISHED = new Set(['SUCCESS', 'FAILED', 'CANCELLED']);

interface Series {
  /** Start of each minute, in Unix seconds (uPlot's x). */
  minutes: number[];
  succeeded: number[];
  failed: number[];
  failureRate: (number | null)[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  waiting: number[];
}

function percentile(sorted: number[], fraction: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

/** Per-minute figures of the last hour from the tasks known: finished, failed, run-time percentiles, and how many waited. */
export function taskSeries(tasks: Iterable<TaskView>, now = Date.now()): Series {
  const end = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  const start = end - WINDOW_MINUTES * MINUTE;
  const series: Series = { minutes: [], succeeded: [], failed: [], failureRate: [], p50: [], p95: [], p99: [], waiting: [] };
  const durations: number[][] = [];
  for (let minute = 0; minute < WINDOW_MINUTES; minute++) {
    series.minutes.push((start + minute * MINUTE) / 1000);
    series.succeeded.push(0);
    series.failed.push(0);
    series.waiting.push(0);
    durations.push([]);
  }
  for (const task of tasks) {
    const created = Date.parse(task.createdAt);
    const started = task.startedAt ? Date.parse(task.startedAt) : undefined;
    // Waiting at the end of a minute: created by then and not started yet (cancelled-while-queued tasks stop waiting when they finish).
    const stoppedWaiting = started ?? (task.finishedAt ? Date.parse(task.finishedAt) : Infinity);
    for (let minute = 0; minute < WINDOW_MINUTES; minute++) {
      const at = Math.min(now, start + (minute + 1) * MINUTE);
      if (created <= at && stoppedWaiting > at) series.waiting[minute]!++;
    }
    if (!FINISHED.has(task.status) || !task.finishedAt) continue;
    const finished = Date.parse(task.finishedAt);
    const minute = Math.floor((finished - start) / MINUTE);
    if (minute < 0 || minute >= WINDOW_MINUTES) continue;
    if (task.status === 'SUCCESS') series.succeeded[minute]!++;
    else if (task.status === 'FAILED') series.failed[minute]!++;
    if (started !== undefined) durations[minute]!.push((finished - started) / 1000);
  }
  for (let minute = 0; minute < WINDOW_MINUTES; minute++) {
    const done = series.succeeded[minute]! + series.failed[minute]!;
    series.failureRate.push(done ? (100 * series.failed[minute]!) / done : null);
    const sorted = durations[minute]!.sort((a, b) => a - b);
    series.p50.push(percentile(sorted, 0.5));
    series.p95.push(percentile(sorted, 0.95));
    series.p99.push(percentile(sorted, 0.99));
  }
  return series;
}

const styleOf = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

/**
 * The org at a glance, over the last hour, live: throughput, run-time percentiles, failure
 * rate and queue depth per minute (uPlot). It subscribes to the task list first, reads the
 * hour's history, then applies every change, redrawing every couple of seconds.
 */
export function overviewPage(): () => void {
  const tasks = new Map<string, TaskView>();
  let touched = new Set<string>();
  const note = h('p.muted', { dataset: { historyNote: '' } });
  const axisStroke = styleOf('--muted');
  const grid = { stroke: styleOf('--line') };
  const axes = (unit: string): uPlot.Axis[] => [
    { stroke: axisStroke, grid },
    { stroke: axisStroke, grid, label: unit, size: 50 },
  ];
  const charts: {
    name: string;
    panel: HTMLDivElement;
    plot?: uPlot;
    options: Omit<uPlot.Options, 'width' | 'height'>;
    data: (s: Series) => uPlot.AlignedData;
    total: (s: Series) => number;
  }[] = [
    {
      name: 'throughput',
      panel: h('div.panel.chart', { dataset: { chart: 'throughput' } }, h('h2', {}, 'Finished per minute')),
      options: {
        series: [
          {},
          { label: 'succeeded', stroke: styleOf('--ok'), fill: 'rgba(31,157,85,0.15)' },
          { label: 'failed', stroke: styleOf('--bad') },
        ],
        axes: axes('tasks'),
      },
      data: (s) => [s.minutes, s.succeeded, s.failed],
      total: (s) => s.succeeded.reduce((a, b) => a + b, 0) + s.failed.reduce((a, b) => a + b, 0),
    },
    {
      name: 'durations',
      panel: h('div.panel.chart', { dataset: { chart: 'durations' } }, h('h2', {}, 'Run time (s), by minute finished')),
      options: {
        series: [
          {},
          { label: 'p50', stroke: styleOf('--accent') },
          { label: 'p95', stroke: styleOf('--warn') },
          { label: 'p99', stroke: styleOf('--bad') },
        ],
        axes: axes('s'),
      },
      data: (s) => [s.minutes, s.p50, s.p95, s.p99],
      total: (s) => s.p50.filter((value) => value !== null).length,
    },
    {
      name: 'failure-rate',
      panel: h('div.panel.chart', { dataset: { chart: 'failure-rate' } }, h('h2', {}, 'Failure rate (%)')),
      options: { series: [{}, { label: 'failed', stroke: styleOf('--bad') }], axes: axes('%'), scales: { y: { range: [0, 100] } } },
      data: (s) => [s.minutes, s.failureRate],
      total: (s) => s.failureRate.filter((value) => value !== null).length,
    },
    {
      name: 'queue-depth',
      panel: h('div.panel.chart', { dataset: { chart: 'queue-depth' } }, h('h2', {}, 'Waiting to start')),
      options: { series: [{}, { label: 'waiting', stroke: styleOf('--accent'), fill: 'rgba(47,111,235,0.12)' }], axes: axes('tasks') },
      data: (s) => [s.minutes, s.waiting],
      total: (s) => s.waiting.reduce((a, b) => a + b, 0),
    },
  ];

  function draw() {
    const series = taskSeries(tasks.values());
    for (const chart of charts) {
      const data = chart.data(series);
      chart.panel.dataset.total = String(chart.total(series));
      const width = Math.max(200, chart.panel.clientWidth - 34);
      if (!chart.plot) chart.plot = new uPlot({ ...chart.options, width, height: 200 }, data, chart.panel);
      else {
        if (chart.plot.width !== width) chart.plot.setSize({ width, height: 200 });
        chart.plot.setData(data);
      }
    }
  }

  /** Reads the last hour's tasks, newest first; a task an event already updated keeps the event's state. */
  async function loadHistory() {
    touched = new Set();
    const since = Date.now() - WINDOW_MINUTES * MINUTE;
    let cursor: string | null = null;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      const query = new URLSearchParams({ limit: '200', ...(cursor ? { cursor } : {}) });
      const answer: { items: TaskView[]; nextCursor: string | null } = await api('GET', `/v1/tasks?${query}`);
      for (const task of answer.items) if (!touched.has(task.id)) tasks.set(task.id, task);
      cursor = answer.nextCursor;
      if (!cursor || Date.parse(answer.items.at(-1)!.createdAt) < since) break;
      if (page === HISTORY_PAGES - 1) note.textContent = `Only the newest ${HISTORY_PAGES * 200} tasks of the hour are counted.`;
    }
    draw();
  }

  mount(h('h1', {}, 'Overview · last hour'), note, h('div.charts', {}, ...charts.map((chart) => chart.panel)));
  const unsubscribe = realtime.subscribe(
    { topic: 'tasks' },
    () => void loadHistory().catch((failure: Error) => (note.textContent = failure.message)),
    (event) => {
      if (event.type !== 'task.updated') return;
      touched.add(event.data.id);
      tasks.set(event.data.id, event.data);
    },
  );
  const redraw = setInterval(draw, REDRAW_MS);
  const resize = () => draw();
  window.addEventListener('resize', resize);
  return () => {
    unsubscribe();
    clearInterval(redraw);
    window.removeEventListener('resize', resize);
    for (const chart of charts) chart.plot?.destroy();
  };
}
