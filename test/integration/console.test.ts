// The console in a real browser (a headless Chromium driven by playwright-core; test/setup/browser.ts finds or
// unpacks one) against the real API and a real job: the submitter's approval (a key without the approver role) is
// refused by the server and the page says so; the approver approves with a reason and the job deploys. A screenshot
// of the approved job page is kept in test-artifacts/.
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserLaunchOptions } from '../setup/browser.ts';
import { call } from './api-harness.ts';
import { jobAwaitingApproval, untilStatus, useIrisStack } from './iris-job.ts';

const stack = useIrisStack('console');
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch(await browserLaunchOptions());
});

afterAll(async () => {
  await browser?.close();
});

/** A fresh page (its own session storage) signed in with `key`. */
async function signedIn(key: string, path = '/console'): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  await page.goto(`${stack.api.url}${path}`);
  await page.fill('#key', key);
  await page.click('#login button');
  await page.waitForLoadState('load');
  return page;
}

describe('the console', () => {
  it('is served from this origin with a policy that forbids other sources', async () => {
    const reply = await call(stack.api, 'GET', '/console');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(reply.text).not.toMatch(/https?:\/\//);
  });

  // A real job through a real browser: under a full suite's load on two cores this can pass a minute.
  it(
    'lists the job in the inbox, refuses the submitter, and lets the approver approve it',
    { timeout: 150_000 },
    async () => {
      const id = await jobAwaitingApproval(stack, 'iris-console');

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
      await expect.poll(() => inbox.locator('#card pre').textContent(), { timeout: 20_000 }).toMatch(/iris-console/);

      mkdirSync('test-artifacts', { recursive: true });
      await inbox.screenshot({ path: 'test-artifacts/console-approved.png', fullPage: true });
    },
  );
});
