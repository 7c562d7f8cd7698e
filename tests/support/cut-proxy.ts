import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the platform's HTTP port whose line can be cut: every open
 * connection is destroyed and new ones are refused until `restore()`. To the browser it is
 * the Wi-Fi dropping — no Socket.io disconnect packet, no reload. Or frozen: connections stay
 * open and nothing goes through either way, as when a network dies without a word.
 */
export interface CutProxy {
  url: string;
  cut(): void;
  freeze(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCutProxy(targetPort: number): Promise<CutProxy> {
  const open = new Set<Socket>();
  let isCut = false;
  let isFrozen = false;
  const server: Server = createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    if (isFrozen) {
      client.pause(); // accepted, and never answered
      open.add(client);
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      isCut = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    freeze() {
      isFrozen = true;
      for (const s of open) s.pause();
    },
    restore() {
      if (isFrozen) {
        for (const s of open) s.destroy();
        open.clear();
      }
      isCut = false;
      isFrozen = false;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
