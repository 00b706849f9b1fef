import type { TaskView } from '#libs/contracts';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api } from '../api.js';
import { realtime } from '../realtime.js';
import { html, mountView } from '../ui.js';

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

interface ChartSpec {
  name: string;
  title: string;
  options: () => Omit<uPlot.Options, 'width' | 'height'>;
  data: (s: Series) => uPlot.AlignedData;
  /** A figure of the data, on the panel as `data-total`, so a test (or a person) can tell that it moved. */
  total: (s: Series) => number;
}

const axes = (unit: string): uPlot.Axis[] => {
  const stroke = styleOf('--muted');
  const grid = { stroke: styleOf('--line') };
  return [
    { stroke, grid },
    { stroke, grid, label: unit, size: 50 },
  ];
};
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const present = (values: (number | null)[]) => values.filter((value) => value !== null).length;

const CHARTS: ChartSpec[] = [
  {
    name: 'throughput',
    title: 'Finished per minute',
    options: () => ({
      series: [
        {},
        { label: 'succeeded', stroke: styleOf('--ok'), fill: 'rgba(31,157,85,0.15)' },
        { label: 'failed', stroke: styleOf('--bad') },
      ],
      axes: axes('tasks'),
    }),
    data: (s) => [s.minutes, s.succeeded, s.failed],
    total: (s) => sum(s.succeeded) + sum(s.failed),
  },
  {
    name: 'durations',
    title: 'Run time (s), by minute finished',
    options: () => ({
      series: [
        {},
        { label: 'p50', stroke: styleOf('--accent') },
        { label: 'p95', stroke: styleOf('--warn') },
        { label: 'p99', stroke: styleOf('--bad') },
      ],
      axes: axes('s'),
    }),
    data: (s) => [s.minutes, s.p50, s.p95, s.p99],
    total: (s) => present(s.p50),
  },
  {
    name: 'failure-rate',
    title: 'Failure rate (%)',
    options: () => ({ series: [{}, { label: 'failed', stroke: styleOf('--bad') }], axes: axes('%'), scales: { y: { range: [0, 100] } } }),
    data: (s) => [s.minutes, s.failureRate],
    total: (s) => present(s.failureRate),
  },
  {
    name: 'queue-depth',
    title: 'Waiting to start',
    options: () => ({
      series: [{}, { label: 'waiting', stroke: styleOf('--accent'), fill: 'rgba(47,111,235,0.12)' }],
      axes: axes('tasks'),
    }),
    data: (s) => [s.minutes, s.waiting],
    total: (s) => sum(s.waiting),
  },
];

/** One uPlot chart, sized to its panel, given new data on every render; uPlot owns the box it draws in. */
function Chart({ spec, series }: { spec: ChartSpec; series: Series }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => () => plot.current?.destroy(), []);
  useEffect(() => {
    const width = Math.max(200, box.current!.clientWidth);
    const data = spec.data(series);
    if (!plot.current) plot.current = new uPlot({ ...spec.options(), width, height: 200 }, data, box.current!);
    else {
      if (plot.current.width !== width) plot.current.setSize({ width, height: 200 });
      plot.current.setData(data);
    }
  });
  return html`<div class="panel chart" data-chart=${spec.name} data-total=${spec.total(series)}>
    <h2>${spec.title}</h2>
    <div class="plot" ref=${box}></div>
  </div>`;
}

/**
 * The org at a glance, over the last hour, live: throughput, run-time percentiles, failure
 * rate and queue depth per minute (uPlot). It subscribes to the task list first, reads the
 * hour's history, then applies every change, redrawing every couple of seconds.
 */
function Overview() {
  const [series, setSeries] = useState(() => taskSeries([]));
  const [note, setNote] = useState('');
  useEffect(() => {
    const tasks = new Map<string, TaskView>();
    let touched = new Set<string>();
    const draw = () => setSeries(taskSeries(tasks.values()));
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
        if (page === HISTORY_PAGES - 1) setNote(`Only the newest ${HISTORY_PAGES * 200} tasks of the hour are counted.`);
      }
      draw();
    }
    const unsubscribe = realtime.subscribe(
      { topic: 'tasks' },
      () => void loadHistory().catch((failure: Error) => setNote(failure.message)),
      (event) => {
        if (event.type !== 'task.updated') return;
        touched.add(event.data.id);
        tasks.set(event.data.id, event.data);
      },
    );
    const redraw = setInterval(draw, REDRAW_MS);
    window.addEventListener('resize', draw);
    return () => {
      unsubscribe();
      clearInterval(redraw);
      window.removeEventListener('resize', draw);
    };
  }, []);
  return html`<h1>Overview · last hour</h1>
    <p class="muted" data-history-note>${note}</p>
    <div class="charts">${CHARTS.map((spec) => html`<${Chart} key=${spec.name} spec=${spec} series=${series} />`)}</div>`;
}

export const overviewPage = () => mountView(html`<${Overview} />`);
