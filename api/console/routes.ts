// The approval console: one static page and its script, served without auth. The page is only a view: every
// read and every decision goes through the API with the user's own key, so roles and separation of duties are
// checked by the server, whatever the page shows or hides.
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';

const asset = (name: string) => readFileSync(new URL(name, import.meta.url), 'utf8');
const page = asset('./index.html');
// The page's modules and style, by the name the page asks for.
const files: Record<string, [body: string, type: string]> = {
  'console.js': [asset('./console.js'), 'text/javascript'],
  'markdown.js': [asset('./markdown.js'), 'text/javascript'],
  'console.css': [asset('./console.css'), 'text/css'],
};

// Its own script and style, and calls to this origin only: nothing from a CDN.
const SECURITY = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:",
};

export function consoleRoutes(): Hono {
  const app = new Hono();
  app.get('/console', (c) => c.html(page, 200, SECURITY));
  app.get('/console/jobs/:jobId', (c) => c.html(page, 200, SECURITY));
  for (const [name, [body, type]] of Object.entries(files)) {
    app.get(`/console/${name}`, (c) => c.body(body, 200, { 'Content-Type': `${type}; charset=utf-8`, ...SECURITY }));
  }
  return app;
}
