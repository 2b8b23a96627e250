// The approval console: one static page and its script, served without auth. The page is only a view: every
// read and every decision goes through the API with the user's own key, so roles and separation of duties are
// checked by the server, whatever the page shows or hides.
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';

const asset = (name: string) => readFileSync(new URL(name, import.meta.url), 'utf8');
const page = asset('./index.html');
const script = asset('./console.js');
const style = asset('./console.css');

// Its own script and style, and calls to this origin only: nothing from a CDN.
const SECURITY = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:",
};

export function consoleRoutes(): Hono {
  const app = new Hono();
  app.get('/console', (c) => c.html(page, 200, SECURITY));
  app.get('/console/jobs/:jobId', (c) => c.html(page, 200, SECURITY));
  app.get('/console/console.js', (c) =>
    c.body(script, 200, { 'Content-Type': 'text/javascript; charset=utf-8', ...SECURITY }),
  );
  app.get('/console/console.css', (c) =>
    c.body(style, 200, { 'Content-Type': 'text/css; charset=utf-8', ...SECURITY }),
  );
  return app;
}
