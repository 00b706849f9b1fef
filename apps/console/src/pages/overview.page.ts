import type { TaskStats, TaskView } from '#libs/contracts';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api } from '../api.js';
import { realtime } from '../realtime.js';
import { html, mountView } from '../ui.js';

const MINUTE = 60_000;
const WINDOW_MINUTES = 60;
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

/**
 * Per-minute figures of the last hour: the server's (`GET /v1/stats/tasks`, read from task
 * history up to `stats.to`) with the live tasks on top. A live task counts only where the
 * server's figures cannot hold it: finished after `stats.to`, or not finished yet (waiting).
 */
export function taskSeries(stats: TaskStats | undefined, live: Iterable<TaskView>, now = Date.now()): Series {
  const end = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  const start = end - WINDOW_MINUTES * MINUTE;
  const series: Series = { minutes: [], succeeded: [], failed: [], failureRate: [], p50: [], p95: [], p99: [], waiting: [] };
  const known = new Map((stats?.minutes ?? []).map((minute) => [Date.parse(minute.at), minute]));
  const durations: number[][] = [];
  for (let minute = 0; minute < WINDOW_MINUTES; minute++) {
    const at = start + minute * MINUTE;
    const figures = known.get(at);
    series.minutes.push(at / 1000);
    series.succeeded.push(figures?.succeeded ?? 0);
    series.failed.push(figures?.failed ?? 0);
    series.waiting.push(figures?.waiting ?? 0);
    durations.push([]);
  }
  const asOf = stats ? Date.parse(stats.to) : -Infinity;
  for (const task of live) {
    const finished = FINISHED.has(task.status) && task.finishedAt ? Date.parse(task.finishedAt) : undefined;
    if (finished !== undefined && finished <= asOf) continue;
    const created = Date.parse(task.createdAt);
    const started = task.startedAt ? Date.parse(task.startedAt) : undefined;
    // Waiting at the end of a minute: created by then and not started yet (cancelled-while-queued tasks stop waiting when they finish).
    const stoppedWaiting = started ?? finished ?? Infinity;
    for (let minute = 0; minute < WINDOW_MINUTES; minute++) {
      const at = Math.min(now, start + (minute + 1) * MINUTE);
      if (created <= at && stoppedWaiting > at) series.waiting[minute]!++;
    }
    if (finished === undefined) continue;
    const minute = Math.floor((finished - start) / MINUTE);
    if (minute < 0 || minute >= WINDOW_MINUTES) continue;
    if (task.status === 'SUCCESS') series.succeeded[minute]!++;
    else if (task.status === 'FAILED') series.failed[minute]!++;
    if (started !== undefined) durations[minute]!.push((finished - started) / 1000);
  }
  for (let minute = 0; minute < WINDOW_MINUTES; minute++) {
    const done = series.succeeded[minute]! + series.failed[minute]!;
    series.failureRate.push(done ? (100 * series.failed[minute]!) / done : null);
    const figures = known.get(start + minute * MINUTE);
    const sorted = durations[minute]!.sort((a, b) => a - b);
    // The minute `stats.to` falls in may have both: the larger sample speaks for it.
    if (figures && figures.p50Ms !== null && figures.finished >= sorted.length) {
      series.p50.push(figures.p50Ms / 1000);
      series.p95.push(figures.p95Ms! / 1000);
      series.p99.push(figures.p99Ms! / 1000);
    } else {
      series.p50.push(percentile(sorted, 0.5));
      series.p95.push(percentile(sorted, 0.95));
      series.p99.push(percentile(sorted, 0.99));
    }
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
 * hour's figures from `GET /v1/stats/tasks`, then applies every change on top, redrawing
 * every couple of seconds.
 */
function Overview() {
  const [series, setSeries] = useState(() => taskSeries(undefined, []));
  const [note, setNote] = useState('');
  const [asOf, setAsOf] = useState<string | undefined>(undefined);
  const stats = useRef<TaskStats | undefined>(undefined);
  useEffect(() => {
    const live = new Map<string, TaskView>();
    const draw = () => setSeries(taskSeries(stats.current, live.values()));
    const unsubscribe = realtime.subscribe(
      { topic: 'tasks' },
      (snapshot: { items: TaskView[] }) => {
        live.clear();
        for (const task of snapshot.items) live.set(task.id, task);
        void api<TaskStats>('GET', `/v1/stats/tasks?window=1h`).then(
          (figures) => {
            stats.current = figures;
            setAsOf(figures.to);
            draw();
          },
          (failure: Error) => setNote(failure.message),
        );
      },
      (event) => {
        if (event.type !== 'task.updated') return;
        live.set(event.data.id, event.data);
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
    <div class="charts" data-stats-to=${asOf}>
      ${CHARTS.map((spec) => html`<${Chart} key=${spec.name} spec=${spec} series=${series} />`)}
    </div>`;
}

export const overviewPage = () => mountView(html`<${Overview} />`);
