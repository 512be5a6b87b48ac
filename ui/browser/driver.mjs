// A headless Chromium (Debian's, through playwright-core) driven by JSON
// lines on stdin; one JSON line answers each command on stdout.  The
// browser tests (t/test_ui.py) use it to check the page while they start,
// stop and poke the fakes behind nginx.
//
//   {"cmd":"goto","url":"http://127.0.0.1:8080/?repo=acme-api"}
//   {"cmd":"wait","selector":".card","count":1,"timeout":5000}
//   {"cmd":"wait","selector":".banner","text":"acme-web"}
//   {"cmd":"wait","selector":".banner","state":"detached"}
//   {"cmd":"click","selector":"button[data-repo='acme-api']"}
//   {"cmd":"press","key":"Tab"}
//   {"cmd":"eval","expr":"location.search"}
//   {"cmd":"viewport","width":390,"height":844}
//   {"cmd":"screenshot","path":"build/ui-shots/x.png","fullPage":true}
//   {"cmd":"console"}      messages of type error and page errors so far
//   {"cmd":"mockws","frames":[...],"closeAfter":true}   a new page whose
//                          all-repos /ws is a mock (see mockWs)
//   {"cmd":"mockws_urls"}  the /ws URLs the mocked page asked for
//   {"cmd":"unmockws"}     close that page, back to the first one
//   {"cmd":"quit"}
//
// Answers: {"ok":true,"value":...} or {"ok":false,"error":"..."}.
// Environment: CHROMIUM (default /usr/bin/chromium).

import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const profile = mkdtempSync(join(tmpdir(), 'hydra-ui-chromium-'));

// A fresh profile each run (playwright passes it as --user-data-dir).
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
  viewport: { width: 1366, height: 900 },
  colorScheme: 'light',
});
const browser = context.browser();
const problems = [];
function watch(p) {
  p.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      problems.push({ kind: 'console', text: msg.text(),
                      url: loc ? loc.url : '' });
    }
  });
  p.on('pageerror', (err) => {
    problems.push({ kind: 'pageerror', text: String(err), url: '' });
  });
  return p;
}
const mainPage = watch(context.pages()[0] || await context.newPage());
let page = mainPage;
let mocked = null;          // {page, urls} while the all-repos /ws is mocked

// A page whose all-repos /ws is a mock: a connection without ?since=
// gets `frames`, then (closeAfter) a close, so the page reconnects; one
// with ?since= stays open and silent.  Every URL asked is kept.
async function mockWs(frames, closeAfter) {
  const p = watch(await context.newPage());
  const urls = [];
  await p.routeWebSocket(
    (u) => u.pathname === '/ws' && !u.searchParams.get('repo'),
    (ws) => {
      urls.push(ws.url());
      if (new URL(ws.url()).searchParams.has('since')) return;
      for (const f of frames) ws.send(JSON.stringify(f));
      if (closeAfter) setTimeout(() => ws.close({ code: 1001 }), 300);
    });
  mocked = { page: p, urls };
  page = p;
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function run(c) {
  const timeout = c.timeout ?? 5000;
  switch (c.cmd) {
    case 'goto':
      await page.goto(c.url, { waitUntil: 'load', timeout });
      return page.url();
    case 'wait': {
      const deadline = Date.now() + timeout;
      let loc = page.locator(c.selector);
      if (c.text != null) loc = loc.filter({ hasText: c.text });
      if (c.count != null) {
        // at least `count` matching elements
        for (;;) {
          const n = await loc.count();
          if (n >= c.count) return n;
          if (Date.now() > deadline) {
            throw new Error('wait: ' + n + ' of ' + c.count + ' '
                            + c.selector + (c.text ? ' ~ ' + c.text : ''));
          }
          await page.waitForTimeout(50);
        }
      }
      await loc.first().waitFor({ state: c.state || 'visible', timeout });
      return true;
    }
    case 'click':
      await page.locator(c.selector).first().click({ timeout });
      return true;
    case 'press':
      await page.keyboard.press(c.key);
      return true;
    case 'eval':
      return await page.evaluate(c.expr);
    case 'viewport':
      await page.setViewportSize({ width: c.width, height: c.height });
      return true;
    case 'screenshot':
      mkdirSync(dirname(c.path), { recursive: true });
      await page.screenshot({ path: c.path, fullPage: !!c.fullPage });
      return c.path;
    case 'console':
      return problems.slice();
    case 'mockws':
      if (mocked) throw new Error('already mocked');
      await mockWs(c.frames || [], !!c.closeAfter);
      return true;
    case 'mockws_urls':
      return mocked ? mocked.urls.slice() : [];
    case 'unmockws':
      if (mocked) {
        await mocked.page.close();
        mocked = null;
        page = mainPage;
      }
      return true;
    case 'quit':
      return 'bye';
    default:
      throw new Error('unknown command ' + c.cmd);
  }
}

async function shutdown(code) {
  try {
    await context.close();
  } catch {
    /* already gone */
  }
  rmSync(profile, { recursive: true, force: true });
  process.exit(code);
}

reply({ ok: true, value: 'ready',
        version: browser ? browser.version() : null });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let c;
  try {
    c = JSON.parse(line);
  } catch {
    reply({ ok: false, error: 'bad json' });
    continue;
  }
  try {
    reply({ ok: true, value: await run(c) });
  } catch (err) {
    reply({ ok: false, error: String((err && err.message) || err) });
  }
  if (c.cmd === 'quit') break;
}
await shutdown(0);
