// The headless Chromium that playwright-core drives (it downloads none, and browser downloads are not reachable):
// $RATCHET_CHROMIUM when set (a path, or `npm` for the packaged one), else Debian's /usr/bin/chromium, else the
// brotli-packed build in @sparticuz/chromium, inflated once into the cache. That build links NSS, NSPR and expat,
// which a bare image lacks; the package's al2023 archive carries them, found through LD_LIBRARY_PATH. It still
// takes glibc and libgcc_s from the system, and libsqlite3 once TLS starts NSS (the tests speak plain HTTP).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { LaunchOptions } from 'playwright-core';
import { cacheDir } from '../../infra/provision.ts';

const debianChromium = '/usr/bin/chromium';

// Playwright adds --headless. As root, as in containers, Chromium's sandbox does not start.
const args = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where the browser is and how to start it, for `chromium.launch`. */
export async function browserLaunchOptions(env: NodeJS.ProcessEnv = process.env): Promise<LaunchOptions> {
  const chosen = env.RATCHET_CHROMIUM;
  if (chosen && chosen !== 'npm') {
    if (!fs.existsSync(chosen)) throw new Error(`RATCHET_CHROMIUM=${chosen}: no such file`);
    return { executablePath: chosen, args };
  }
  if (!chosen && fs.existsSync(debianChromium)) return { executablePath: debianChromium, args };

  const dir = await inflatedChromium(env);
  return {
    executablePath: path.join(dir, 'chromium'),
    args,
    env: {
      ...env,
      LD_LIBRARY_PATH: [path.join(dir, 'al2023', 'lib'), env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      FONTCONFIG_PATH: dir,
    },
  };
}

/** The directory holding @sparticuz/chromium's browser, its libraries and fonts; inflated on first use. */
async function inflatedChromium(env: NodeJS.ProcessEnv): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('@sparticuz/chromium');
  const packageDir = path.join(path.dirname(entry), '..');
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const dir = path.join(cacheDir(env), 'chromium', `sparticuz-${version}`);
  if (fs.existsSync(path.join(dir, 'chromium'))) return dir;

  // The package inflates into os.tmpdir(), and reuses whatever `chromium` it finds there: a child process with
  // TMPDIR pointing at a fresh directory, renamed into place when complete, so a killed run leaves no half copy.
  const staging = `${dir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  const bin = path.join(packageDir, 'bin');
  const script = `const m = await import(${JSON.stringify(pathToFileURL(entry).href)});
    await m.default.executablePath(${JSON.stringify(bin)});
    await m.inflate(${JSON.stringify(path.join(bin, 'al2023.tar.br'))});`;
  try {
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...env, TMPDIR: staging },
    });
    // The packaged fonts.conf names Lambda's directories (/tmp/fonts ...); this one names the cache's.
    const xml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
    fs.writeFileSync(
      path.join(staging, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
        `  <dir>${xml(path.join(dir, 'fonts'))}</dir>\n` +
        `  <cachedir>${xml(path.join(dir, 'fonts-cache'))}</cachedir>\n</fontconfig>\n`,
    );
    fs.renameSync(staging, dir);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    // Another run finished first.
    if (fs.existsSync(path.join(dir, 'chromium'))) return dir;
    throw error;
  }
  return dir;
}
