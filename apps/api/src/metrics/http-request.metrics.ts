import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { MetricsRegistry } from './metrics-registry.js';

type Observer = ReturnType<MetricsRegistry['httpRequestDuration']['labels']>;

/**
 * Times every HTTP request from one `onResponse` hook, with the time Fastify already keeps
 * (`reply.elapsedTime`); labels use the route pattern, so ids do not explode the label set.
 * Each label set's histogram child is looked up once and kept (routes × methods × statuses
 * is small), so a request costs one observe.
 */
@Injectable()
export class HttpRequestMetrics {
  private readonly observers = new Map<string, Observer>();

  constructor(private readonly metrics: MetricsRegistry) {}

  /** Adds the hook to the API's Fastify instance (before it is ready). */
  register(app: FastifyInstance): void {
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.is404 ? undefined : request.routeOptions.url;
      this.observer(request.method, route ?? 'unmatched', reply.statusCode).observe(reply.elapsedTime / 1000);
      done();
    });
  }

  private observer(method: string, route: string, status: number): Observer {
    const key = `${method} ${status} ${route}`;
    let observer = this.observers.get(key);
    if (!observer) {
      observer = this.metrics.httpRequestDuration.labels({ method, route, status_code: String(status) });
      this.observers.set(key, observer);
    }
    return observer;
  }
}
