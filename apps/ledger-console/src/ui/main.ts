/**
 * The console's shell: sign-in (an auditor or admin key, kept in sessionStorage), the navigation,
 * and hash routes (#/find, #/device/<id>, ...) each rendered by its page into <main>.
 */
import { api, ApiError, refusalText, session, whenRefused } from './api.js';
import { h, replace } from './dom.js';
import { decisionPage } from './pages/decision.js';
import { devicePage } from './pages/device.js';
import { findPage, meterPointPage, userPage } from './pages/find.js';
import { integrityPage } from './pages/integrity.js';
import { stuckPage } from './pages/stuck.js';
import { whatIfPage } from './pages/whatif.js';
import type { Page } from './route.js';


const PAGES: Record<string, { title: string; page: Page; nav?: boolean }> = {
  find: { title: 'Find', page: findPage, nav: true },
  stuck: { title: 'Stuck devices', page: stuckPage, nav: true },
  'what-if': { title: 'What-if', page: whatIfPage, nav: true },
  integrity: { title: 'Integrity', page: integrityPage, nav: true },
  device: { title: 'Device', page: devicePage },
  decision: { title: 'Decision', page: decisionPage },
  user: { title: 'User', page: userPage },
  'meter-point': { title: 'Meter point', page: meterPointPage },
};

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;
let current: AbortController | undefined;
let refusal: string | undefined;

function parse(): { path: string[]; params: URLSearchParams } {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p, q] = raw.split('?', 2);
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q ?? '') };
}

function drawNav(active: string): void {
  replace(
    nav,
    h(
      'ul',
      null,
      Object.entries(PAGES)
        .filter(([, p]) => p.nav)
        .map(([id, p]) => h('li', null, h('a', { href: `#/${id}`, 'aria-current': id === active ? 'page' : undefined }, p.title))),
    ),
  );
  replace(
    who,
    session.key()
      ? h('button', { type: 'button', class: 'link', onclick: () => signOut() }, 'Sign out')
      : null,
  );
}

function signOut(message?: string): void {
  session.clear();
  refusal = message;
  if (location.hash.startsWith('#/sign-in')) void render();
  else location.hash = '#/sign-in';
}

function signIn(): void {
  drawNav('');
  replace(nav);
  const input = h('input', { type: 'password', name: 'apiKey', id: 'api-key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const message = h('p', { id: 'sign-in-message', role: 'alert', class: refusal ? 'error' : undefined }, refusal ?? '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'sign-in',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const key = input.value.trim();
        button.disabled = true;
        message.textContent = 'Checking the key…';
        message.className = '';
        try {
          await api('/decisions?limit=1', { key });
          session.set(key);
          refusal = undefined;
          const back = sessionStorage.getItem('ledger.console.after') ?? '#/find';
          sessionStorage.removeItem('ledger.console.after');
          location.hash = back;
        } catch (err) {
          message.className = 'error';
          message.textContent = err instanceof ApiError && (err.status === 401 || err.status === 403) ? refusalText(err) : `Could not check the key: ${(err as Error).message}`;
          button.disabled = false;
          input.focus();
        }
      },
    },
    h('h2', { tabindex: '-1' }, 'Sign in'),
    h('p', null, 'The console reads the ledger with an API key of the auditor or admin role. The key is kept for this browser tab only (sessionStorage) and sent in the x-api-key header.'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    button,
    message,
  );
  replace(main, form);
  input.focus();
}

async function render(): Promise<void> {
  current?.abort();
  const { path, params } = parse();
  if (!session.key()) {
    if (path[0] && path[0] !== 'sign-in') sessionStorage.setItem('ledger.console.after', location.hash);
    signIn();
    return;
  }
  const id = path[0] ?? 'find';
  if (id === 'sign-in') {
    location.hash = '#/find';
    return;
  }
  const entry = PAGES[id];
  const controller = new AbortController();
  current = controller;
  drawNav(entry?.nav ? id : '');
  main.replaceChildren();
  if (!entry) {
    replace(main, h('h2', { tabindex: '-1' }, 'Not found'), h('p', null, 'No such page. ', h('a', { href: '#/find' }, 'Find something')));
  } else {
    document.title = `${entry.title} · ledger audit console`;
    try {
      await entry.page(main, { path: path.slice(1), params, signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) return;
      main.append(h('p', { role: 'alert', class: 'error' }, err instanceof Error ? err.message : String(err)));
    }
  }
  if (controller.signal.aborted) return;
  const heading = main.querySelector('h2');
  if (heading && !main.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}

whenRefused((err) => signOut(refusalText(err)));
window.addEventListener('hashchange', () => void render());
void render();
