import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InteractionDetails, Provider } from 'oidc-provider';
import type { Logger } from '../logging/logger.ts';
import type { DemoUser } from './load-demo-users.ts';
import { escapeHtml } from '../http/escape-html.ts';
import { renderLoginPage } from './render-login-page.ts';
import { pageHeaders, renderPage } from './render-page.ts';
import { verifyDemoCredentials } from './verify-demo-credentials.ts';

export interface InteractionOptions {
  users: readonly DemoUser[];
  showUserList: boolean;
  logger: Logger;
  /** The app's address (PUBLIC_URL): the way on from a sign-in that cannot continue. */
  appUrl?: string;
}

// Matches oidc-provider's default interactions.url, `/interaction/${uid}`.
const ROUTE = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/;
const MAX_FORM_BYTES = 4096;

/**
 * The provider's interaction pages: the login form, its submission and "cancel". Consent never
 * needs a page here: loadExistingGrant grants the configured clients what they ask for.
 */
export async function handleInteraction(
  provider: Provider, req: IncomingMessage, res: ServerResponse, pathname: string, options: InteractionOptions,
): Promise<void> {
  const match = ROUTE.exec(pathname);
  const [, uid, action] = match ?? [];
  const step = `${req.method} ${action ?? 'page'}`;
  if (!match || !['GET page', 'HEAD page', 'POST login', 'POST abort'].includes(step)) {
    return sendPage(res, 404, 'Not found', '<h1>Not found</h1>');
  }
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) {
      return sendPage(res, 400, 'Sign-in expired', `<h1>This sign-in page is out of date</h1>${wayOn(options.appUrl)}`);
    }
    if (details.prompt.name !== 'login' || step === 'POST abort') {
      const description = step === 'POST abort' ? 'End-User aborted interaction' : `unsupported prompt ${details.prompt.name}`;
      return await provider.interactionFinished(req, res, { error: 'access_denied', error_description: description }, {
        mergeWithLastSubmission: false,
      });
    }
    if (step !== 'POST login') return sendLoginPage(res, 200, details, options, {});

    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const user = verifyDemoCredentials(options.users, username, form.get('password') ?? '');
    if (!user) {
      // Not the typed username: a mistyped password often lands in that field.
      options.logger.warn('dev_provider_login_failed', {});
      return sendLoginPage(res, 200, details, options, { username, error: 'Unknown username or wrong password.' });
    }
    options.logger.info('dev_provider_login', { username: user.username });
    await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
  } catch (error) {
    const { status, message, error_description: description } = error as { status?: unknown; message?: string; error_description?: string };
    if (typeof status === 'number' && status >= 400 && status < 500) {
      options.logger.warn('dev_provider_interaction_rejected', { status, reason: message, description });
      return sendPage(res, status, 'Sign-in finished', `<h1>This sign-in cannot continue</h1><p>It has expired or was already used (the Back button after signing in leads here), or the request was malformed.</p>${wayOn(options.appUrl)}`);
    }
    options.logger.error('dev_provider_interaction_failed', { reason: message });
    return sendPage(res, 500, 'Error', '<h1>Something went wrong</h1><p>The details are in the server log.</p>');
  }
}

// The app's start page shows whether the user is signed in and offers to log in if not.
function wayOn(appUrl: string | undefined): string {
  return appUrl
    ? `<p><a class="button" data-testid="back-to-app" href="${escapeHtml(appUrl)}/">Continue to the app</a></p><p class="muted">If you signed in, you still are; otherwise log in again from there.</p>`
    : '<p>Go back to the app and sign in again.</p>';
}

function sendLoginPage(
  res: ServerResponse, status: number, details: InteractionDetails, options: InteractionOptions,
  state: { username?: string; error?: string },
): void {
  const base = `/interaction/${details.uid}`;
  const html = renderLoginPage({
    loginAction: `${base}/login`,
    abortAction: `${base}/abort`,
    clientName: String(details.params.client_id ?? 'the application'),
    demoUsers: options.showUserList ? options.users : undefined,
    ...state,
  });
  res.writeHead(status, pageHeaders()).end(html);
}

function sendPage(res: ServerResponse, status: number, title: string, bodyHtml: string): void {
  res.writeHead(status, pageHeaders()).end(renderPage(title, bodyHtml));
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
    throw Object.assign(new Error('login form must be application/x-www-form-urlencoded'), { status: 415 });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw Object.assign(new Error('login form too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
