/** `/metrics` (Prometheus text format) and `/health` (JSON; 200 while the gateway accepts uplinks durably, else 503). */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'stopping' | 'failing';
  [key: string]: unknown;
}

export interface OperationsServer {
  port: number;
  close(): Promise<void>;
}

export async function startOperationsServer(host: string, port: number, registry: Registry, health: () => HealthReport): Promise<OperationsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(error.message),
      );
      return;
    }
    if (path === '/health') {
      const report = health();
      const code = report.status === 'ok' || report.status === 'degraded' ? 200 : 503;
      response.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(report) + '\n');
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /health\n');
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
