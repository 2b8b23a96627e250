// The console in a real browser (a headless Chromium driven by playwright-core; test/setup/browser.ts finds or
// unpacks one) against the real API and real jobs, in each state a user meets: the inbox while it loads and when
// a tenant has no jobs; a key the API refuses and a job that does not exist; a failed job; a job training, whose
// loss curve grows from poll to poll; a job awaiting approval, refused to its submitter and approved by the
// approver; the deployed job, with its complete loss curve and its model card as a document; a job trained on
// drifted data, with the moved feature first. Every page is watched for script errors. Screenshots of each state
// are kept in test-artifacts/.
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserLaunchOptions } from '../setup/browser.ts';
import { irisShiftedTrain, training } from './job-harness.ts';
import { call, freshTenant, keyFor, upload } from './api-harness.ts';
import { irisJobBody, jobAwaitingApproval, untilStatus, useIrisStack } from './iris-job.ts';

// Progress reaches the server every second, as from the deployed training worker: the live curve can move.
const stack = useIrisStack('console', { maxHeartbeatThrottleInterval: '1 second' });
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch(await browserLaunchOptions());
});

afterAll(async () => {
  await browser?.close();
});

/** What went wrong in each page: uncaught exceptions, and console errors (a failed request logs one too). */
const problems = new WeakMap<Page, string[]>();

async function newPage(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  // Shorter than the test's own timeout: a missing element fails the test with its name, not a test timeout.
  page.setDefaultTimeout(15_000);
  const seen: string[] = [];
  problems.set(page, seen);
  page.on('pageerror', (error) => seen.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.push(`console error: ${message.text()}`);
  });
  return page;
}

/** Signs in with `key` on a page at `path`: the key is kept in the tab's session storage and the page reloads. */
async function signIn(page: Page, key: string, path = '/console'): Promise<Page> {
  await page.goto(`${stack.api.url}${path}`);
  await page.fill('#key', key);
  await page.click('#login button');
  await page.waitForLoadState('load');
  return page;
}

const signedIn = async (key: string, path = '/console') => signIn(await newPage(), key, path);

async function screenshot(page: Page, name: string) {
  mkdirSync('test-artifacts', { recursive: true });
  await page.screenshot({ path: `test-artifacts/console-${name}.png`, fullPage: true });
}

/** The points of the training-loss line (the chart's first polyline). */
async function lossPoints(page: Page): Promise<number> {
  const line = page.locator('#loss polyline').first();
  if ((await line.count()) === 0) return 0;
  return ((await line.getAttribute('points')) ?? '').trim().split(/\s+/).filter(Boolean).length;
}

describe('the console', () => {
  it('is served from this origin with a policy that forbids other sources', async () => {
    const reply = await call(stack.api, 'GET', '/console');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(reply.text).not.toMatch(/https?:\/\//);
    const markdown = await call(stack.api, 'GET', '/console/markdown.js');
    expect(markdown.status).toBe(200);
    expect(markdown.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('says it is loading, then shows an empty inbox for a tenant without jobs, without errors', async () => {
    const key = await keyFor(stack.api, freshTenant('console-empty'), 'ada', ['approver']);
    const page = await newPage();
    // The job lists are held back until the page has been seen loading.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route(
      (url) => url.pathname === '/v1/fine_tuning/jobs',
      async (route) => {
        await released;
        await route.continue();
      },
    );
    await signIn(page, key);
    await expect.poll(() => page.locator('#loading').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.locator('#loading').textContent()).toMatch(/Loading/);
    release();

    await page.locator('#inbox:not([hidden])').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator('#recent').textContent(), { timeout: 10_000 }).toMatch(/No jobs yet/);
    expect(await page.locator('#pending').textContent()).toMatch(/No job awaits approval/);
    expect(await page.locator('#loading').isVisible()).toBe(false);
    expect(await page.locator('#error').textContent()).toBe('');
    expect(problems.get(page)).toEqual([]);
    await screenshot(page, 'inbox-empty');
  });

  it('says what is wrong when the API refuses the key, or the job does not exist', async () => {
    const page = await signedIn('not-a-key-the-api-issued');
    await expect
      .poll(() => page.locator('#error').textContent(), { timeout: 10_000 })
      .toMatch(/^The API did not accept this key \(401 Unauthorized: .+\)\. Enter another key above\.$/);
    expect(await page.locator('#loading').isVisible()).toBe(false);
    expect(await page.locator('#inbox').isVisible()).toBe(false);
    // The refused request itself is logged by the browser; nothing else may go wrong.
    expect(problems.get(page)!.filter((p) => !/status of 401/.test(p))).toEqual([]);
    await screenshot(page, 'bad-key');

    const missing = await signedIn(stack.keys.viewer, '/console/jobs/ftjob-no-such-job');
    await expect
      .poll(() => missing.locator('#error').textContent(), { timeout: 10_000 })
      .toMatch(/404.*no job ftjob-no-such-job/i);
    expect(await missing.locator('#loading').isVisible()).toBe(false);
    expect(problems.get(missing)!.filter((p) => !/status of 404/.test(p))).toEqual([]);
  });

  it(
    'shows why a job failed, and an inbox with nothing pending lists it among the recent jobs',
    { timeout: 120_000 },
    async () => {
      const broken = (
        await upload(stack.api, stack.keys.submitter, 'not json\n{"features": [1, 2, 3, 4], "label": "a"}\n')
      ).body.id;
      const created = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
        key: stack.keys.submitter,
        json: { ...irisJobBody(stack, 'iris-console-broken'), training_file: broken },
      });
      expect(created.status).toBe(201);
      const id = created.body.id;
      await untilStatus(stack, id, ['dataset_rejected']);

      const page = await signedIn(stack.keys.viewer, `/console/jobs/${id}`);
      await expect
        .poll(() => page.locator('#job-error').textContent(), { timeout: 10_000 })
        .toMatch(/the dataset failed validation/);
      expect(await page.locator('#job-error').textContent()).toMatch(/parse_error.*line is not valid JSON/);
      expect(await page.locator('#job-summary').textContent()).toMatch(/failed \(dataset_rejected\)/);
      expect(problems.get(page)).toEqual([]);
      await screenshot(page, 'job-failed');

      const inbox = await signedIn(stack.keys.approver);
      await inbox.locator('#recent a', { hasText: id }).waitFor({ timeout: 10_000 });
      expect(await inbox.locator('#pending').textContent()).toMatch(/No job awaits approval/);
      expect(await inbox.locator('#error').textContent()).toBe('');
      expect(problems.get(inbox)).toEqual([]);
    },
  );

  it('draws the loss curve of a training job live: it grows between polls', { timeout: 120_000 }, async () => {
    // Long enough to watch; cancelled once seen.
    const long = { ...training, config: { ...training.config, maxSteps: 1_000_000, checkpointEvery: 1_000_000 } };
    const created = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
      key: stack.keys.submitter,
      json: { ...irisJobBody(stack, 'iris-console-live'), training: long },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    try {
      const page = await signedIn(stack.keys.viewer, `/console/jobs/${id}`);
      await expect.poll(() => lossPoints(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
      const before = await lossPoints(page);
      await expect.poll(() => lossPoints(page), { timeout: 20_000 }).toBeGreaterThan(before);
      expect(await page.locator('#loss-caption').textContent()).toMatch(/step \d+ of 1000000: training loss \d/);
      expect(problems.get(page)).toEqual([]);
      await screenshot(page, 'job-training');
    } finally {
      await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${id}/cancel`, { key: stack.keys.submitter });
    }
    await untilStatus(stack, id, ['cancelled']);
  });

  // A real job through a real browser: under a full suite's load on two cores this can pass a minute.
  it(
    'lists the job in the inbox, refuses the submitter, lets the approver approve it, and shows it deployed',
    { timeout: 150_000 },
    async () => {
      // Markup in the submitter's words is text on the card, never HTML.
      const id = await jobAwaitingApproval(stack, 'iris-console', {
        intended_use: 'Iris species <img src=x onerror="document.title=1"> from four measurements',
      });

      const inbox = await signedIn(stack.keys.approver);
      const link = inbox.locator('#pending a', { hasText: id });
      await link.waitFor();
      await link.click();
      await inbox.waitForURL(`**/console/jobs/${id}`);
      await inbox.locator('#decide:not([hidden])').waitFor();
      expect(await inbox.locator('#timeline li').allTextContents()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^training/), expect.stringMatching(/^awaiting_approval/)]),
      );
      expect(await inbox.locator('#comparison').textContent()).toMatch(/accuracy/);

      // The page shows the buttons to the submitter too; the server is what says no.
      const own = await signedIn(stack.keys.submitter, `/console/jobs/${id}`);
      await own.locator('#decide:not([hidden])').waitFor();
      await own.fill('#reason', 'looks good to me');
      await own.click('#approve');
      await expect
        .poll(() => own.locator('#error').textContent())
        .toMatch(/403 Forbidden: this route needs the approver role/);
      expect((await untilStatus(stack, id, ['awaiting_approval'])).body.ratchet.decision).toBeNull();

      await inbox.fill('#reason', 'accuracy above the policy; card reviewed');
      await inbox.click('#approve');
      await expect.poll(() => inbox.locator('#decision').textContent()).toMatch(/Approved by ada: accuracy above/);
      const job = await untilStatus(stack, id, ['deployed']);
      expect(job.body).toMatchObject({ status: 'succeeded', fine_tuned_model: 'iris-console:1' });
      expect(job.body.ratchet.decision).toMatchObject({ action: 'approve', by: 'ada' });
      await expect
        .poll(() => inbox.locator('#card h1').textContent(), { timeout: 20_000 })
        .toMatch(/Model card: .*iris-console version 1/);
      await screenshot(inbox, 'approved');
      expect(problems.get(inbox)).toEqual([]);

      // The deployed job opened afresh: the whole curve from the job's metrics events, the card as a document.
      const page = await signedIn(stack.keys.viewer, `/console/jobs/${id}`);
      await page.locator('#card h1').waitFor({ timeout: 20_000 });
      const steps = (
        await call(stack.api, 'GET', `/v1/fine_tuning/jobs/${id}/events?limit=1000`, {
          key: stack.keys.viewer,
        })
      ).body.data.filter((e: { type: string }) => e.type === 'metrics').length;
      expect(steps).toBeGreaterThan(1);
      await expect.poll(() => lossPoints(page), { timeout: 10_000 }).toBe(steps);
      const caption = await page.locator('#loss-caption').textContent();
      expect(caption).toMatch(/^\d+ steps: final training loss \d/);
      expect(caption).not.toMatch(/[{}]/);

      const card = page.locator('#card');
      expect(await card.locator('h2').allTextContents()).toEqual(
        expect.arrayContaining(['Intended use', 'Metrics', 'Policy gate']),
      );
      expect(await card.locator('table').count()).toBeGreaterThan(2);
      expect(await card.locator('li').count()).toBeGreaterThan(0);
      expect(await card.locator('strong').first().textContent()).toBe('passed');
      expect(await card.locator('pre').count()).toBe(0);
      const text = (await card.textContent()) ?? '';
      expect(text).not.toMatch(/(^|\n)\s*#|\|---|\*\*/);
      // The submitter's markup stayed text.
      expect(text).toContain('<img src=x onerror="document.title=1">');
      expect(await card.locator('img').count()).toBe(0);
      expect(await page.title()).toBe('Ratchet console');
      expect(problems.get(page)).toEqual([]);
      await screenshot(page, 'deployed');
    },
  );

  it("shows how far a job's training data drifted from production's, the moved feature first", async () => {
    const first = await jobAwaitingApproval(stack, 'iris-console-drift');
    const approve = await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${first}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'first version' },
    });
    expect(approve.status).toBe(200);
    await untilStatus(stack, first, ['deployed']);
    const shifted = (await upload(stack.api, stack.keys.submitter, irisShiftedTrain(2, 2))).body.id;
    const created = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
      key: stack.keys.submitter,
      json: { ...irisJobBody(stack, 'iris-console-drift'), training_file: shifted },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await untilStatus(stack, id, ['awaiting_approval', 'gate_failed']);

    const page = await signedIn(stack.keys.viewer, `/console/jobs/${id}`);
    await page.locator('#drift-section:not([hidden])').waitFor();
    expect(await page.locator('#drift-summary').textContent()).toMatch(
      /Against production v1's training data \(120 rows; 120 new, 0 of them also in production's\)\. Two-sample test \(mlp\): held-out AUC \d\.\d{3}, p /,
    );
    const firstRow = await page.locator('#drift tr').nth(1).locator('td').allTextContents();
    expect(firstRow.slice(0, 3)).toEqual(['2', expect.stringMatching(/^\d+\.\d{3}$/), 'major']);
    expect(problems.get(page)).toEqual([]);
    await screenshot(page, 'drift');

    // The first job had no production to drift from: no section.
    const before = await signedIn(stack.keys.viewer, `/console/jobs/${first}`);
    await before.locator('#comparison td').first().waitFor();
    expect(await before.locator('#drift-section').isHidden()).toBe(true);
  });
});
