import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provider } from 'oidc-provider';
import type { Logger } from '../logging/logger.ts';
import { createMemoryAdapter } from './create-memory-adapter.ts';
import { createProviderConfiguration } from './create-provider-configuration.ts';
import type { ProviderClient } from './create-provider-configuration.ts';
import { generateSigningKey } from './generate-signing-key.ts';
import { handleInteraction } from './handle-interaction.ts';
import type { DemoUser } from './load-demo-users.ts';

export type { ProviderClient } from './create-provider-configuration.ts';

export interface EmbeddedProviderOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  clients: ProviderClient[];
  users: DemoUser[];
  logger: Logger;
  /** Dev mode: list the demo users and their passwords on the login page. */
  showUserList?: boolean;
  /** The app's address (PUBLIC_URL), linked from the provider's dead-end pages. */
  appUrl?: string;
}

export interface EmbeddedProvider {
  /** Equals `issuer` in the discovery document: `http://host:port`, no trailing slash. */
  issuer: string;
  close(): Promise<void>;
  /** Replaces the signing key by a new one with a new kid; the old kid leaves the JWKS at once. */
  rotateSigningKey(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Runs a real OpenID provider (panva's oidc-provider) on its own HTTP server in this process. */
export async function startEmbeddedProvider(options: EmbeddedProviderOptions): Promise<EmbeddedProvider> {
  const server = createServer();
  await listen(server, options.host, options.port);
  const issuer = issuerFor(options.host, (server.address() as AddressInfo).port);
  // Shared by every Provider built below, so rotating the key keeps sessions, grants and cookies valid.
  const adapter = createMemoryAdapter();
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const interactionOptions = { users: options.users, showUserList: options.showUserList ?? false, logger: options.logger, appUrl: options.appUrl };

  const build = async (): Promise<Handler> => {
    const provider = new Provider(issuer, createProviderConfiguration({
      clients: options.clients, users: options.users, logger: options.logger,
      adapter, cookieKeys, signingKey: await generateSigningKey(), appUrl: options.appUrl,
    }));
    provider.on('server_error', (_ctx: unknown, error: Error) => {
      options.logger.error('dev_provider_server_error', { reason: error.message });
    });
    const handle = provider.callback();
    return (req, res) => {
      const pathname = (req.url ?? '/').split('?')[0];
      if (pathname.startsWith('/interaction/')) {
        handleInteraction(provider, req, res, pathname, interactionOptions).catch((error: Error) => {
          options.logger.error('dev_provider_interaction_crashed', { reason: error.message });
          if (res.headersSent) res.destroy();
          else res.writeHead(500).end();
        });
      } else {
        void handle(req, res);
      }
    };
  };

  let current: Handler;
  try {
    current = await build();
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  // One server for the provider's whole life: the issuer URL survives key rotation.
  server.on('request', (req, res) => current(req, res));
  options.logger.info('dev_provider_started', { issuer });

  return {
    issuer,
    close: () => closeServer(server),
    rotateSigningKey: async () => {
      current = await build();
      options.logger.info('dev_provider_signing_key_rotated', { issuer });
    },
  };
}

function issuerFor(host: string, port: number): string {
  if (host === '' || host === '0.0.0.0' || host === '::') return `http://localhost:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'EADDRINUSE'
        ? ' (EADDRINUSE): another copy of hivekit-token-bff is probably running; stop it, or start this one with DEV_OIDC_PORT=<another port> (and PORT=<another port> for the app)'
        : `: ${error.message}`;
      reject(new Error(`Cannot start the embedded OpenID provider on ${host}:${port}${error.code === 'EADDRINUSE' ? ', the port is already in use' : ''}${hint}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
