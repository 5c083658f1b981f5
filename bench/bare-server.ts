import express from 'express';

/**
 * The baseline: a bare Express 5 route answering the token route's JSON body (same bytes, token
 * replaced by filler) with the same Cache-Control and no ETag, serialised per request like the
 * product does.
 * Reads its own environment because it is a bench fixture, not part of the product.
 */
const port = Number(process.env.BARE_PORT);
const body: unknown = JSON.parse(process.env.BARE_BODY ?? '{}');

const app = express();
app.disable('x-powered-by');
// As the product does (its answers are no-store): an ETag would make the baseline pay a hash per request.
app.set('etag', false);
app.get('/hivekit-access-token', (_req, res) => {
  res.set('Cache-Control', 'no-store').json(body);
});
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

const server = app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
