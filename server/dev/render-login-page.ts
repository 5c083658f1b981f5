import type { DemoUser } from './load-demo-users.ts';
import { escapeHtml } from '../http/escape-html.ts';
import { renderPage } from './render-page.ts';

export interface LoginPageModel {
  /** Where the credentials are posted, e.g. `/interaction/<uid>/login`. */
  loginAction: string;
  abortAction: string;
  clientName: string;
  username?: string;
  error?: string;
  /** Dev mode: lists every demo user with a one-click sign-in (the password is still checked). */
  demoUsers?: readonly DemoUser[];
}

export function renderLoginPage(model: LoginPageModel): string {
  const action = escapeHtml(model.loginAction);
  const error = model.error ? `<p class="error" role="alert">${escapeHtml(model.error)}</p>` : '';
  const demoUsers = model.demoUsers?.length ? renderDemoUsers(action, model.demoUsers) : '';
  return renderPage('Sign in - dev OpenID provider', `<h1>Sign in</h1>
<p class="muted">to continue to <strong>${escapeHtml(model.clientName)}</strong> (embedded dev OpenID provider)</p>
${error}
<form method="post" action="${action}">
<label>Username <input name="username" value="${escapeHtml(model.username ?? '')}" autocomplete="username" autocapitalize="none" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${escapeHtml(model.abortAction)}"><p><button type="submit" class="link">Cancel and go back</button></p></form>
${demoUsers}`);
}

function renderDemoUsers(action: string, users: readonly DemoUser[]): string {
  const rows = users.map((user) => `<tr>
<td><form class="inline" method="post" action="${action}"><input type="hidden" name="username" value="${escapeHtml(user.username)}"><input type="hidden" name="password" value="${escapeHtml(user.password)}"><button type="submit">${escapeHtml(user.name)}</button></form></td>
<td>${escapeHtml(user.username)}</td><td><code>${escapeHtml(user.password)}</code></td><td>${escapeHtml(user.groups.join(', '))}</td>
</tr>`);
  return `<h2>Demo users</h2>
<p class="muted">Dev mode only. Click a name to sign in as that user, or type the username and password above.</p>
<table>
<thead><tr><th>Sign in as</th><th>Username</th><th>Password</th><th>Groups</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}
