import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsRegistry } from './metrics-registry.js';

type Observer = ReturnType<MetricsRegistry['httpRequestDuration']['labels']>;

/**
 * Times every HTTP request; labels use the route pattern, so ids do not explode the label set.
 * Each label set's histogram child is looked up once and kept (routes × methods × statuses
 * is small), so a request costs one clock read at each end and one observe.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  private readonly observers = new Map<string, Observer>();

  constructor(private readonly metrics: MetricsRegistry) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const started = performance.now();
    response.once('finish', () => {
      const routePath = (request.route as { path?: string } | undefined)?.path;
      const route = routePath ? `${request.baseUrl}${routePath}` : 'unmatched';
      this.observer(request.method, route, response.statusCode).observe((performance.now() - started) / 1000);
    });
    next();
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
