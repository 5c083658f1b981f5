import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '../../server/http/create-http-server.ts';
import { startProduct, type RunningProduct } from '../support/start-product.ts';

interface SocketOutcome {
  /** Milliseconds from the first byte sent (or the connect) until the server closed the socket. */
  closedAfterMs: number | undefined;
  received: string;
}

/** A raw client: sends `opening`, then `drip` every 100 ms, until the server closes or `capMs` passes. */
function rawClient(port: number, opening: string, options: { drip?: string; capMs: number }): Promise<SocketOutcome> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let started = 0;
    let dripping: NodeJS.Timeout | undefined;
    const cap = setTimeout(() => finish(undefined), options.capMs);
    function finish(closedAfterMs: number | undefined) {
      clearTimeout(cap);
      clearInterval(dripping);
      socket.destroy();
      resolve({ closedAfterMs, received });
    }
    socket.on('connect', () => {
      started = Date.now();
      if (opening) socket.write(opening);
      if (options.drip) dripping = setInterval(() => { if (socket.writable) socket.write(options.drip!); }, 100);
    });
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
    socket.on('error', () => undefined);
    socket.on('close', () => (started ? finish(Date.now() - started) : reject(new Error('could not connect'))));
  });
}

function openIdle(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

function statusAndBody(raw: string): { status: number; body: unknown } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  try { return { status, body: JSON.parse(body) }; } catch { return { status, body: undefined }; }
}

describe('the product bounds slow and idle connections with its HTTP_* settings', () => {
  let dataDir: string;
  let product: RunningProduct;
  let port: number;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'server-limits-'));
    product = await startProduct({
      DATA_DIR: join(dataDir, 'data'),
      // The smallest values each setting allows, so nothing here waits long.
      HTTP_HEADERS_TIMEOUT_SECONDS: '1',
      HTTP_REQUEST_TIMEOUT_SECONDS: '1',
      HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '1',
      HTTP_MAX_CONNECTIONS: '2',
    });
    port = Number(product.env.PORT);
  });
  after(async () => {
    await product?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a client sending its headers one line every 100 ms is answered 408 request_timeout and cut off about HTTP_HEADERS_TIMEOUT_SECONDS after it started', async () => {
    const outcome = await rawClient(port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n', { drip: 'X-Slow: 1\r\n', capMs: 5000 });
    assert.ok(outcome.closedAfterMs !== undefined, 'still connected after 5 s');
    assert.ok(outcome.closedAfterMs >= 900, `cut off too early, after ${outcome.closedAfterMs} ms`);
    // The deadline is checked once a second: 1 s plus at most one check interval, plus slack for a busy host.
    assert.ok(outcome.closedAfterMs <= 2500, `cut off after ${outcome.closedAfterMs} ms`);
    const { status, body } = statusAndBody(outcome.received);
    assert.equal(status, 408);
    assert.equal((body as { error?: string } | undefined)?.error, 'request_timeout');
  });

  it('a client that connects and sends nothing is cut off on the same deadline', async () => {
    const outcome = await rawClient(port, '', { capMs: 5000 });
    assert.ok(outcome.closedAfterMs !== undefined && outcome.closedAfterMs <= 2500, `closed after ${outcome.closedAfterMs} ms`);
  });

  it('an idle keep-alive connection is closed about HTTP_KEEP_ALIVE_TIMEOUT_SECONDS after its last answer, and says so in Keep-Alive', async () => {
    const outcome = await rawClient(port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n', { capMs: 5000 });
    assert.match(outcome.received, /^HTTP\/1\.1 200 /);
    assert.match(outcome.received, /\r\nKeep-Alive: timeout=1\r\n/i);
    // Node waits one second past the advertised timeout so a client never reuses a socket being closed.
    assert.ok(outcome.closedAfterMs !== undefined && outcome.closedAfterMs <= 3000, `closed after ${outcome.closedAfterMs} ms`);
  });

  it('headers over 16 KB are answered 431 with the headers_too_large error body', async () => {
    const outcome = await rawClient(port, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`, { capMs: 5000 });
    const { status, body } = statusAndBody(outcome.received);
    assert.equal(status, 431);
    assert.equal((body as { error?: string } | undefined)?.error, 'headers_too_large');
  });

  it('past HTTP_MAX_CONNECTIONS open connections a new one is closed unanswered, and one is served again once a slot frees', async () => {
    const held = [await openIdle(port), await openIdle(port)];
    try {
      const refused = await rawClient(port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n', { capMs: 800 });
      assert.ok(refused.closedAfterMs !== undefined, 'the connection over the cap was kept open');
      assert.equal(refused.received, '');
    } finally {
      for (const socket of held) socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const served = await rawClient(port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', { capMs: 3000 });
    assert.match(served.received, /^HTTP\/1\.1 200 /);
  });
});

describe('createHttpServer, the listener main.ts starts', () => {
  it('cuts off a request whose body trickles in at HTTP_REQUEST_TIMEOUT_SECONDS, later than the headers deadline', async () => {
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('read it all'));
    }, { headersTimeoutSeconds: 1, requestTimeoutSeconds: 2, keepAliveTimeoutSeconds: 1, maxConnections: 10 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port: serverPort } = server.address() as AddressInfo;
      const outcome = await rawClient(serverPort, 'POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n', { drip: 'x', capMs: 6000 });
      assert.ok(outcome.closedAfterMs !== undefined, 'still connected after 6 s');
      assert.ok(outcome.closedAfterMs >= 1900 && outcome.closedAfterMs <= 3500, `cut off after ${outcome.closedAfterMs} ms`);
      const { status, body } = statusAndBody(outcome.received);
      assert.equal(status, 408);
      assert.equal((body as { error?: string } | undefined)?.error, 'request_timeout');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
