import { createHash } from 'node:crypto';
import { escapeHtml } from '../http/escape-html.ts';

const STYLE = [
  'body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1d232a}',
  'h1{font-weight:500}label{display:block;margin:.75rem 0}input{display:block;width:100%;box-sizing:border-box;padding:.5rem;font:inherit}',
  'button{padding:.5rem 1rem;font:inherit;cursor:pointer}.error{color:#b00020}.muted{color:#5b6570}',
  'table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem .25rem 0;vertical-align:top}',
  'form.inline{display:inline}button.link{background:none;border:none;padding:0;color:#0b57d0;text-decoration:underline}',
  'a.button{display:inline-block;padding:.5rem 1rem;background:#0b57d0;color:#fff;text-decoration:none;border-radius:4px}',
  'code{overflow-wrap:anywhere}',
  // 390 px phones: the demo-user table becomes one block per user instead of scrolling sideways.
  '@media (max-width:30rem){body{margin:1.5rem auto}thead{display:none}tr{display:block;padding:.5rem 0;border-bottom:1px solid #d5dae0}',
  'td{display:inline-block;padding:.1rem .75rem .1rem 0}}',
  '@media (prefers-color-scheme:dark){body{background:#121417;color:#e8eaed}.muted{color:#aab2bc}a,button.link{color:#6cb0f5}.error{color:#ffb4aa}}',
].join('');

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // No script, no external resource, not framable: the login page asks for a password.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** A complete HTML page; `title` is escaped here, `bodyHtml` must already be escaped by the caller. */
export function renderPage(title: string, bodyHtml: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${bodyHtml}
</body>
</html>
`;
}

export function pageHeaders(): Record<string, string> {
  return { ...HEADERS };
}

/** The same headers, with one inline script allowed by its hash (CSP3 hash-source), and nothing else. */
export function pageHeadersWithScript(script: string): Record<string, string> {
  const hash = createHash('sha256').update(script).digest('base64');
  return { ...HEADERS, 'content-security-policy': `${HEADERS['content-security-policy']}; script-src 'sha256-${hash}'` };
}
