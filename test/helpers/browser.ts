import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { tempDir } from './cli.js';

// The real Chromium (Debian package chromium), headless, with its own profile folder per run and
// every request it makes sent to a recording proxy on loopback that answers none of them.

export interface BrowserRun {
  stdout: string;
  /** Every request that reached the proxy ("GET http://…", "CONNECT host:443"). */
  requests: string[];
}

/** Chromium's own update and sign-in pings, which no flag fully silences; anything else came from the page. */
const CHROMIUM_OWN = /^(CONNECT |(GET|POST) http:\/\/)(update\.googleapis\.com|accounts\.google\.com|clients2\.google\.com)[:/]/;
export const pageRequests = (requests: string[]) => requests.filter((r) => !CHROMIUM_OWN.test(r));

const BASE_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-extensions',
  '--disable-default-apps',
  '--no-default-browser-check',
  '--disable-domain-reliability',
  '--no-pings',
  '--hide-scrollbars',
  '--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate',
];

export async function chromium(file: string, flags: string[]): Promise<BrowserRun> {
  const requests: string[] = [];
  const proxy = createServer((req: IncomingMessage, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.statusCode = 502;
    res.end();
  });
  proxy.on('connect', (req: IncomingMessage, socket) => {
    requests.push(`CONNECT ${req.url}`);
    socket.destroy();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { dir, cleanup } = await tempDir('kube-pki-chromium-');
  try {
    const port = (proxy.address() as AddressInfo).port;
    const r = await execa(
      'chromium',
      [
        ...BASE_FLAGS,
        `--user-data-dir=${dir}`,
        // No name resolves and every request goes to the proxy, which refuses it: no network at all.
        `--proxy-server=http://127.0.0.1:${port}`,
        '--proxy-bypass-list=<-loopback>',
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
        ...flags,
        pathToFileURL(file).href,
      ],
      { reject: false, stdin: 'ignore', timeout: 90_000 },
    );
    if (r.exitCode !== 0) throw new Error(`chromium exited ${r.exitCode}: ${r.stderr}`);
    return { stdout: r.stdout, requests };
  } finally {
    await new Promise((resolve) => proxy.close(resolve));
    await cleanup();
  }
}

export const dumpDom = (file: string, flags: string[] = []) => chromium(file, [...flags, '--dump-dom']);

export const screenshot = (file: string, png: string, size: [number, number], flags: string[] = []) =>
  chromium(file, [...flags, `--screenshot=${png}`, `--window-size=${size[0]},${size[1]}`]);

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return NAMED[e] ?? m;
  });
}

/** The text a reader sees: tags removed (each a space), entities decoded, spaces collapsed. */
export function visibleText(dom: string): string {
  const body = dom.replace(/<style[\s\S]*?<\/style>/gi, ' ').replace(/<title>[\s\S]*?<\/title>/gi, ' ');
  return decodeEntities(body.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ');
}
