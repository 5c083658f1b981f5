import { escapeHtml } from '../http/escape-html.ts';

const STYLE = [
  'body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1d232a}',
  'h1{font-weight:500}label{display:block;margin:.75rem 0}input{display:block;width:100%;box-sizing:border-box;padding:.5rem;font:inherit}',
  'button{padding:.5rem 1rem;font:inherit;cursor:pointer}.error{color:#b00020}.muted{color:#5b6570}',
  'table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem .25rem 0;vertical-align:top}',
  'form.inline{display:inline}button.link{background:none;border:none;padding:0;color:#0b57d0;text-decoration:underline}',
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
