import { ConfigValidationError, loadPlatformConfig } from './load-config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadPlatformConfig(env);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadPlatformConfig', () => {
  it('fills every setting with its documented default when the environment is empty', () => {
    const config = loadPlatformConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_PREFIX).toBe('platform');
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('converts numbers and keeps given URLs', () => {
    const config = loadPlatformConfig({ PORT: '8080', DATABASE_URL: 'postgres://u:p@db:5432/platform', REDIS_URL: 'redis://cache:6379' });
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBe('postgres://u:p@db:5432/platform');
    expect(config.REDIS_URL).toBe('redis://cache:6379');
  });

  it('lets shell tasks run echo alone when TASK_SHELL_ALLOW is unset, and nothing when it says none', () => {
    expect(loadPlatformConfig({}).TASK_SHELL_ALLOW).toBe('echo');
    expect(loadPlatformConfig({ TASK_SHELL_ALLOW: 'none' }).TASK_SHELL_ALLOW).toBe('');
    expect(loadPlatformConfig({ TASK_SHELL_ALLOW: 'sh,/usr/bin/seq' }).TASK_SHELL_ALLOW).toBe('sh,/usr/bin/seq');
  });

  it('takes Redis Cluster nodes and sentinels as host:port lists, and refuses anything else naming the variable', () => {
    const config = loadPlatformConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis-b:7001,[::1]:7002', REDIS_SENTINELS: 's1:26379' });
    expect(config.REDIS_CLUSTER_NODES).toBe('10.0.0.1:7000,redis-b:7001,[::1]:7002');
    expect(config.REDIS_SENTINELS).toBe('s1:26379');
    expect(config.REDIS_SENTINEL_NAME).toBe('mymaster');
    const problems = problemsOf({ REDIS_CLUSTER_NODES: 'redis://a:7000', REDIS_SENTINELS: 'a:b', METRICS_ORG_LABELS: 'yes' });
    expect(problems).toEqual([
      'METRICS_ORG_LABELS="yes" must be on or off',
      'REDIS_CLUSTER_NODES="redis://a:7000" must be host:port pairs separated by commas',
      'REDIS_SENTINELS="a:b" must be host:port pairs separated by commas',
    ]);
  });

  it('treats an empty variable as unset', () => {
    expect(loadPlatformConfig({ DATABASE_URL: '', PORT: '' }).DATABASE_URL).toBeUndefined();
  });

  it('refuses a non-numeric PORT with one line naming the variable, the value and what is expected', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual(['PORT="abc" must be a whole number from 1 to 65535']);
  });

  it('lists every bad variable, one line each, and hides passwords and tokens', () => {
    const problems = problemsOf({
      PORT: '70000',
      DATABASE_URL: 'mysql://root:secret@db/x',
      LOG_LEVEL: 'loud',
      PLATFORM_ADMIN_TOKEN: 'short',
    });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).not.toContain('secret');
    expect(problems.join('\n')).not.toContain('short');
    expect(problems).toContain('DATABASE_URL="mysql://root:***@db/x" must be a URL like postgres://host:port/...');
    expect(problems.find((line) => line.startsWith('LOG_LEVEL='))).toContain('must be one of fatal, error');
  });
});
