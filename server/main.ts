import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { createApp } from './app.ts';
import { build } from './build.ts';
import { configWarnings } from './config/config-warnings.ts';
import { ConfigError, isDevMode, loadConfig, type Config } from './config/load-config.ts';
import type { RawSettings } from './config/settings.ts';
import type { DevProvider } from './dev/dev-mode.ts';
import { watchDataFiles } from './files/watch-data-files.ts';
import { createHttpServer } from './http/create-http-server.ts';
import { createJsonLogger, type Logger } from './logging/logger.ts';

const SHUTDOWN_GRACE_MS = 10_000;

/** The entry point: the only module that reads process.env, listens, handles signals and exits. */
async function main(env: RawSettings): Promise<void> {
  const logger = createJsonLogger();
  process.on('exit', () => logger.flush());
  const devMode = isDevMode(env);
  // Needed before loadConfig: dev mode keeps its generated secrets there. Trimmed as loadConfig trims.
  const dataDir = resolve(env.DATA_DIR?.trim() || './data');
  // Imported only in dev mode: the embedded provider (oidc-provider and its dependencies) stays out of production.
  const devModule = devMode ? await import('./dev/dev-mode.ts') : undefined;
  const dev = devModule && await devModule.devConfigDefaults(dataDir, env.DEV_OIDC_PORT?.trim() || '3001');
  const config = loadConfig(env, dev?.defaults);
  for (const warning of configWarnings(config)) logger.warn('config_warning', { ...warning });
  if (config.isProduction && import.meta.url.endsWith('.ts')) {
    logger.warn('production_from_source', { hint: 'production runs the compiled build: npm run build, then node dist/server/main.js' });
  }

  const closers: Array<() => Promise<void>> = [];
  // Before the session store opens: the check reads the file, and closing a descriptor of an open SQLite file drops its locks.
  closers.push(await watchDataFiles(config, logger));
  let devProvider: DevProvider | undefined;
  if (devModule && dev) {
    devProvider = await devModule.startDevProvider(config, dev, logger);
    closers.push(devProvider.close);
  }
  const product = await build(config, { logger });
  closers.unshift(product.close);
  const { app, policy } = product;
  const server = await listen(app, config);
  if (devProvider) process.stdout.write(`\n${devProvider.banner()}\n\n`);
  logger.info('listening', { url: config.publicUrl, host: config.host, port: config.port, devMode: config.devMode });
  handleSignals(server, closers, logger);
  // Always handled: Node's default for SIGHUP is to exit, and operators send it to reload the policy.
  process.on('SIGHUP', () => {
    if (policy) void policy.reload();
    else logger.info('policy_reload_skipped', { reason: 'no PERMISSIONS_FILE' });
  });
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error('unhandled_rejection', { error: reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason) });
  });
}

function listen(app: ReturnType<typeof createApp>, config: Config): Promise<Server> {
  return new Promise((resolvePromise, reject) => {
    const server = createHttpServer(app, config.http);
    server.listen(config.port, config.host);
    server.once('listening', () => resolvePromise(server));
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new Error(`port ${config.port} on ${config.host} is already in use; stop the other process or set PORT`));
      else if (error.code === 'EACCES') reject(new Error(`not allowed to listen on port ${config.port}; choose a port above 1023 with PORT`));
      else reject(error);
    });
  });
}

function handleSignals(server: Server, closers: Array<() => Promise<void>>, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting_down', { signal });
    // In-flight requests finish; idle keep-alive sockets would otherwise hold close() open.
    server.close(() => {
      Promise.allSettled(closers.map((close) => close())).then(() => {
        logger.info('stopped', {});
        process.exit(0);
      });
    });
    server.closeIdleConnections();
    setTimeout(() => {
      logger.warn('shutdown_forced', { afterMs: SHUTDOWN_GRACE_MS });
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.env).catch((error: unknown) => {
  // One readable message, never a stack trace, for every start-up failure.
  const message = error instanceof ConfigError ? error.message : `Cannot start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
