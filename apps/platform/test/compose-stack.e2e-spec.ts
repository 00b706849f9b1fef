import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromProjectRoot, PlatformConfig } from '#libs/config';
import { ENTRY_SCRIPTS } from '#libs/testing';

const INSTALL_HINT = 'install docker-compose (Debian/Ubuntu: sudo apt-get install docker-compose); .ci/run does';
/** Settings that only matter when the platform starts its own Postgres or Redis, which it never does in the stack. */
const ONLY_WITHOUT_CONTAINERS = ['EMBEDDED_POSTGRES_PORT', 'REDIS_PROBE_URL', 'DATA_DIR'];
const platformSettings = Object.keys(new PlatformConfig());

/**
 * Checks docker-compose.yml as far as a machine without a Docker engine can: Debian's
 * docker-compose validates and resolves it, then the resolved services are compared with
 * what the tests run and what the docs list.
 */
describe('docker-compose.yml: the self-hosting stack', () => {
  let folder: string;
  let services: Record<string, any>;
  let envFile: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'compose-'));
    // What scripts/init-env.sh would write, with stand-in secrets.
    envFile = join(folder, 'stack.env');
    const example = readFileSync(fromProjectRoot('.env.example'), 'utf8');
    await writeFile(
      envFile,
      example.replace(/^(\w+)=$/gm, (_line, name: string) => `${name}=${name.toLowerCase()}-stand-in`),
    );
    const config = compose(['config']);
    // docker-compose is a Python program; its own YAML library reads what it resolved.
    services = JSON.parse(
      execFileSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], {
        input: config,
      }).toString(),
    ).services;
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** Runs docker-compose on the project's file with only `env` for variables (not the developer's .env or shell). */
  function runCompose(args: string[], env = envFile) {
    const run = spawnSync('docker-compose', ['--project-directory', fromProjectRoot('.'), '--env-file', env, ...args], {
      cwd: fromProjectRoot('.'),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    });
    if (run.error) throw new Error(`docker-compose did not run (${run.error.message}): ${INSTALL_HINT}`);
    return run;
  }

  function compose(args: string[]): string {
    const run = runCompose(args);
    if (run.status !== 0) throw new Error(`docker-compose ${args.join(' ')} failed: ${run.stderr.toString()}`);
    return run.stdout.toString();
  }

  it('passes `docker-compose config -q`', () => {
    expect(compose(['config', '-q'])).toBe('');
  });

  it('has Supabase Postgres, Realtime, PostgREST, Redis, the API (two replicas) and the worker, each with a health check and a restart policy', () => {
    const inProfile = (name: string) => (services[name].profiles ?? []).length > 0;
    expect(
      Object.keys(services)
        .filter((name) => !inProfile(name))
        .sort(),
    ).toEqual(['api', 'db', 'realtime', 'redis', 'rest', 'worker']);
    // Prometheus and Grafana start only with `--profile monitoring`.
    expect(Object.keys(services).filter(inProfile).sort()).toEqual(['grafana', 'prometheus']);
    expect(services.prometheus.profiles).toEqual(['monitoring']);
    expect(services.grafana.profiles).toEqual(['monitoring']);
    for (const [name, service] of Object.entries(services)) {
      expect({ name, test: service.healthcheck?.test?.[0], disabled: service.healthcheck?.disable }).toEqual({
        name,
        test: expect.stringMatching(/^CMD(-SHELL)?$/),
        disabled: undefined,
      });
      expect({ name, restart: service.restart }).toEqual({ name, restart: 'unless-stopped' });
    }
    expect(services.api.deploy.replicas).toBe(2);
    expect(services.api.healthcheck.test.join(' ')).toContain('/health/ready');
    expect(services.db.image).toMatch(/^supabase\/postgres:15\./);
    expect(services.db.command).toContain('wal_level=logical');
  });

  it('runs the API and the worker with the npm scripts whose targets are the entry points the tests spawn', () => {
    const scripts = JSON.parse(readFileSync(fromProjectRoot('package.json'), 'utf8')).scripts as Record<string, string>;
    for (const entry of ['api', 'worker'] as const) {
      expect(services[entry].command).toEqual(['npm', 'run', `start:${entry}`]);
      expect(scripts[`start:${entry}`]).toBe(`node ${ENTRY_SCRIPTS[entry]}`);
    }
    // The image runs the scripts without their pre-hooks; on a developer's machine they build first.
    // and with bash, which execs node, so node itself receives the container's SIGTERM.
    const dockerfile = readFileSync(fromProjectRoot('Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm_config_ignore_scripts=true/);
    expect(dockerfile).toMatch(/npm_config_script_shell=\/bin\/bash/);
    expect(scripts['prestart:api']).toMatch(/npm run .*build/);
  });

  it('gives the API and the worker every platform setting, and .env.example and the README document each one', () => {
    const example = readFileSync(fromProjectRoot('.env.example'), 'utf8');
    const readme = readFileSync(fromProjectRoot('README.md'), 'utf8');
    for (const setting of platformSettings) {
      expect({ setting, inExample: new RegExp(`^${setting}=`, 'm').test(example) }).toEqual({ setting, inExample: true });
      expect({ setting, inReadme: readme.includes(`| \`${setting}\` |`) }).toEqual({ setting, inReadme: true });
    }
    const expected = platformSettings.filter((setting) => !ONLY_WITHOUT_CONTAINERS.includes(setting)).sort();
    expect(Object.keys(services.api.environment).sort()).toEqual(expected);
    expect(services.worker.environment).toEqual(services.api.environment);
  });

  it('refuses to start without the secrets', async () => {
    const empty = join(folder, 'empty.env');
    await writeFile(empty, '');
    const run = runCompose(['config', '-q'], empty);
    expect(run.status).not.toBe(0);
    expect(run.stderr.toString()).toMatch(/set \w+ in \.env \(sh scripts\/init-env\.sh\)/);
  });
});
