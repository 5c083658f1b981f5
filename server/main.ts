import type { Server } from 'node:http';
import type { createApp } from './app.ts';
import { build } from './build.ts';
import { configWarnings } from './config/config-warnings.ts';
import { ConfigError, type Config } from './config/load-config.ts';
import { loadEnvironmentConfig } from './config/load-environment.ts';
import type { RawSettings } from './config/settings.ts';
import type { DevProvider } from './dev/dev-mode.ts';
import { watchDataFiles } from './files/watch-data-files.ts';
import { createHttpServer } from './http/create-http-server.ts';
import { createJsonLogger, type Logger } from './logging/logger.ts';
import { createMetricsServer } from './metrics/metrics-server.ts';

/** The entry point: the only module that reads process.env, listens, handles signals and exits. */
async function main(env: RawSettings): Promise<void> {
  const { config, dev } = await loadEnvironmentConfig(env);
  const logger = createJsonLogger({ level: config.logLevel });
  process.on('exit', () => logger.flush());
  for (const warning of configWarnings(config)) logger.warn('config_warning', { ...warning });
  if (config.isProduction && import.meta.url.endsWith('.ts')) {
    logger.warn('production_from_source', { hint: 'production runs the compiled build: npm run build, then node dist/server/main.js' });
  }

  const closers: Array<() => Promise<void>> = [];
  // Before the session store opens: the check reads the file, and closing a descriptor of an open SQLite file drops its locks.
  closers.push(await watchDataFiles(config, logger));
  let devProvider: DevProvider | undefined;
  if (dev) {
    // Imported only in dev mode: the embedded provider (oidc-provider and its dependencies) stays out of production.
    const { startDevProvider } = await import('./dev/dev-mode.ts');
    devProvider = await startDevProvider(config, dev, logger);
    closers.push(devProvider.close);
  }
  const product = await build(config, { logger });
  closers.unshift(product.close);
  const { app, policy, hivekitKeys } = product;
  const server = await listen(app, config);
  if (product.metrics && config.metrics) {
    const metricsServer = createMetricsServer(product.metrics.registry);
    await listenOn(metricsServer, config.metrics.port, config.metrics.host, 'METRICS_PORT');
    closers.push(() => new Promise((done) => { metricsServer.close(() => done()); metricsServer.closeAllConnections(); }));
    logger.info('metrics_listening', { host: config.metrics.host, port: config.metrics.port });
  }
  if (devProvider) process.stdout.write(`\n${devProvider.banner()}\n\n`);
  logger.info('listening', { url: config.publicUrl, host: config.host, port: config.port, devMode: config.devMode });
  handleSignals(server, { closers, beginDrain: product.beginDrain, shutdown: config.shutdown }, logger);
  // Always handled: Node's default for SIGHUP is to exit, and operators send it to reload the policy and the secret file.
  process.on('SIGHUP', () => {
    if (policy) void policy.reload();
    else logger.info('policy_reload_skipped', { reason: 'no PERMISSIONS_FILE' });
    hivekitKeys?.reload();
  });
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error('unhandled_rejection', { error: reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason) });
  });
}

async function listen(app: ReturnType<typeof createApp>, config: Config): Promise<Server> {
  const server = createHttpServer(app, config.http);
  await listenOn(server, config.port, config.host, 'PORT');
  return server;
}

function listenOn(server: Server, port: number, host: string, setting: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    server.listen(port, host);
    server.once('listening', () => resolvePromise());
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new Error(`port ${port} on ${host} is already in use; stop the other process or set ${setting}`));
      else if (error.code === 'EACCES') reject(new Error(`not allowed to listen on port ${port}; choose a port above 1023 with ${setting}`));
      else reject(error);
    });
  });
}

interface Shutdown {
  closers: Array<() => Promise<void>>;
  beginDrain: () => void;
  shutdown: Config['shutdown'];
}

/**
 * SIGTERM (an orchestrator or supervisor): /readyz turns 503 at once, the listener keeps serving
 * for the drain period while the load balancer notices, then it stops accepting and in-flight
 * requests get the grace period; exit 0 when they are done, else a logged forced exit. SIGINT
 * (Ctrl-C at a terminal) skips the drain.
 */
function handleSignals(server: Server, { closers, beginDrain, shutdown }: Shutdown, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    beginDrain();
    const drainMs = signal === 'SIGTERM' ? shutdown.drainSeconds * 1000 : 0;
    logger.info('shutting_down', { signal, drainSeconds: drainMs / 1000, graceSeconds: shutdown.graceSeconds });
    setTimeout(() => closeListener(server, closers, shutdown.graceSeconds, logger), drainMs);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function closeListener(server: Server, closers: Array<() => Promise<void>>, graceSeconds: number, logger: Logger): void {
  // In-flight requests finish; idle keep-alive sockets would otherwise hold close() open.
  server.close(() => {
    Promise.allSettled(closers.map((close) => close())).then(() => {
      logger.info('stopped', {});
      process.exit(0);
    });
  });
  server.closeIdleConnections();
  setTimeout(() => {
    server.getConnections((_error, connections) => {
      logger.warn('shutdown_forced', {
        reason: `${connections} connection(s) still open ${graceSeconds} s after the listener closed (SHUTDOWN_GRACE_SECONDS)`,
        afterSeconds: graceSeconds,
      });
      process.exit(1);
    });
  }, graceSeconds * 1000).unref();
}

main(process.env).catch((error: unknown) => {
  // One readable message, never a stack trace, for every start-up failure.
  const message = error instanceof ConfigError ? error.message : `Cannot start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
