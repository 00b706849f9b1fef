import pg from 'pg';
import type { BenchEnvironment } from '../bench-environment.js';
import { httpJson } from '../http-client.js';
import { startBenchPlatform } from '../bench-platform.js';
import { median, percentile, round, type Benchmark, type BenchResult } from '../measure.js';

const DOCUMENTS = 10_000;
const TEAMS = 100;
const ROUNDS = 3;
const QUERIES_PER_ROUND = 100;
const WARMUP_QUERIES = 50;
const PAGE = 50;

/** What a query looks for: a rare match (1 document), a selective one (1 %) and a broad one (half). */
const MATCHES: { name: string; match: (i: number) => Record<string, unknown> }[] = [
  { name: 'one', match: (i) => ({ sku: `sku-${(i % DOCUMENTS) + 1}` }) },
  { name: 'team', match: (i) => ({ team: `t-${i % TEAMS}` }) },
  { name: 'half', match: (i) => ({ env: i % 2 ? 'prod' : 'dev' }) },
];

/**
 * Latency of `GET /v1/collections/:c/documents?match=` (jsonb containment through the GIN
 * index, under RLS, over HTTP) on a collection of 10,000 documents beside another of
 * 10,000, one query at a time, against the same SQL sent with raw pg (no API, no RLS).
 */
export const documentsBenchmark: Benchmark = {
  name: 'documents',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatform(environment);
    let raw: pg.Client | undefined;
    try {
      const org = await platform.createOrg('bench-documents');
      for (const collection of ['bench', 'other']) {
        await platform.sql(
          org.database,
          `INSERT INTO documents (collection, id, data)
           SELECT $1, 'doc-' || i, jsonb_build_object('team', 't-' || (i % ${TEAMS}), 'sku', 'sku-' || i,
             'env', CASE WHEN i % 2 = 0 THEN 'prod' ELSE 'dev' END, 'spec', jsonb_build_object('size', i, 'tags', jsonb_build_array('a', 'b')))
           FROM generate_series(1, ${DOCUMENTS}) AS i`,
          [collection],
        );
      }
      await platform.sql(org.database, 'ANALYZE documents');

      raw = new pg.Client({
        connectionString: Object.assign(new URL(environment.postgresUrl), { pathname: `/${org.database}` }).toString(),
        // The documents table is the platform's, in schema platform, as the API's own connections see it.
        options: '-c search_path=platform,public',
      });
      await raw.connect();
      const client = raw;
      const headers = { authorization: `Bearer ${org.token}` };
      const viaApi = async (match: Record<string, unknown>) => {
        const started = performance.now();
        const answer = await httpJson(
          `${platform.baseUrl}/v1/collections/bench/documents?limit=${PAGE}&match=${encodeURIComponent(JSON.stringify(match))}`,
          'GET',
          headers,
        );
        if (answer.status !== 200) throw new Error(`match query answered ${answer.status}: ${answer.text}`);
        return performance.now() - started;
      };
      const viaPg = async (match: Record<string, unknown>) => {
        const started = performance.now();
        await client.query(
          'SELECT collection, id, data, version, seq, created_at, updated_at FROM documents WHERE collection = $1 AND data @> $2::jsonb ORDER BY seq DESC LIMIT $3',
          ['bench', JSON.stringify(match), PAGE + 1],
        );
        return performance.now() - started;
      };

      const results: BenchResult[] = [];
      for (const { name, match } of MATCHES) {
        for (let i = 0; i < WARMUP_QUERIES; i++) await viaApi(match(i));
        const api: number[] = [];
        const roundMedians: number[] = [];
        const baselineMedians: number[] = [];
        for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
          const apiRound: number[] = [];
          const pgRound: number[] = [];
          for (let i = 0; i < QUERIES_PER_ROUND; i++) apiRound.push(await viaApi(match(roundIndex * QUERIES_PER_ROUND + i)));
          for (let i = 0; i < QUERIES_PER_ROUND; i++) pgRound.push(await viaPg(match(roundIndex * QUERIES_PER_ROUND + i)));
          api.push(...apiRound);
          roundMedians.push(median(apiRound));
          baselineMedians.push(median(pgRound));
        }
        const p50 = median(roundMedians);
        const baseline = median(baselineMedians);
        const common = { unit: 'ms', samples: api.length, rounds: ROUNDS, documents: DOCUMENTS, goal: '< 50 ms' };
        results.push(
          {
            name: `documents.match_${name}.p50`,
            value: round(p50),
            min: round(Math.min(...roundMedians)),
            max: round(Math.max(...roundMedians)),
            ...common,
            baseline: { name: 'pg.raw_query', value: round(baseline), unit: 'ms' },
            ratio: round(p50 / baseline),
          },
          {
            name: `documents.match_${name}.p99`,
            value: round(percentile(api, 0.99)),
            min: round(Math.min(...api)),
            max: round(Math.max(...api)),
            ...common,
          },
        );
      }
      return results;
    } finally {
      await raw?.end();
      await platform.stop();
    }
  },
};
