// The admin page: users listed, searched, re-roled, signed out and deleted through
// @tollgate/client (imported from /client/ as an app would import its built copy), calling
// the `/admin/users` API with the signed-in admin's token. No third-party code, no inline
// script (the page's Content-Security-Policy allows neither).
import { createAuthClient } from '/client/index.js';

const $ = (id) => document.getElementById(id);
const auth = createAuthClient({ baseUrl: location.origin });
// For end-to-end tests and the curious: the live client.
window.tollgateAdmin = auth;

// The scope the list needs (crates/core/src/roles.rs; the admin actions need users:write).
const USERS_READ = 'users:read';
// Rows per page: the server's page size (USERS_PAGE_SIZE in crates/core/src/flows/admin.rs).
const PAGE_ROWS = 100;
// A search reads at most this many server pages before showing what it found, so a search
// of a large deployment never runs unbounded; "Next page" goes on from there.
const SEARCH_PAGES_PER_STEP = 20;

// Where the next page starts (a KV list cursor; null when the shown page is the last).
let nextCursor = null;
// The shown page's number, counted from the first (a page is known only by its cursor).
let pageNumber = 1;
let prefix = '';
const roles = new Set(['user', 'admin']);

/** The API's answer, or throws `{status, code, detail, errors}` from its error body. */
async function call(method, path, json) {
  const init = { method, headers: json === undefined ? {} : { 'Content-Type': 'application/json' } };
  if (json !== undefined) init.body = JSON.stringify(json);
  const res = await auth.fetch(path, init);
  if (res.status === 204) return null;
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw { status: res.status, code: body.code ?? 'unexpected_response', detail: body.detail ?? `HTTP ${res.status}`, errors: body.errors };
  return body;
}

function describe(error) {
  const fields = error?.errors?.map((e) => ` ${e.field}: ${e.detail ?? ''} (${e.code})`).join(';') ?? '';
  return error ? `${error.detail ?? error.message ?? String(error)} (${error.code ?? 'error'})${fields}` : '';
}

function showError(error) {
  $('error').textContent = describe(error);
}

function isAdmin(claims) {
  return claims?.role === 'admin' && claims.scope.split(' ').includes(USERS_READ);
}

function render() {
  const claims = auth.claims;
  const admin = isAdmin(claims);
  $('signed-out').hidden = claims !== null;
  $('signed-in').hidden = claims === null;
  $('search-form').hidden = !admin;
  $('status').dataset.state = claims === null ? 'signed-out' : admin ? 'admin' : 'not-admin';
  $('status').textContent = claims === null ? 'Signed out'
    : admin ? `Signed in as an admin (user ${claims.sub})`
      : `Signed in, but not as an admin (role ${claims.role}): this page needs role admin with ${USERS_READ}`;
  if (!admin) {
    $('users').replaceChildren();
    $('summary').textContent = '';
  }
}

/**
 * Shows the page of users that starts at `cursor`. Without a search that is one server page.
 * With one, the server cannot filter (README, "Admin page": the user listing is ordered by
 * id, and the email index carries no listing metadata), so the page reads server pages and
 * keeps the users whose email starts with the search, ignoring case, until it has a page of
 * them or has read SEARCH_PAGES_PER_STEP pages.
 */
async function loadPage(cursor, number) {
  $('summary').textContent = prefix ? `Searching for “${prefix}”…` : 'Loading…';
  const found = [];
  let next = cursor;
  let read = 0;
  let pages = 0;
  do {
    const page = await call('GET', `/admin/users${next ? `?cursor=${encodeURIComponent(next)}` : ''}`);
    read += page.users.length;
    pages++;
    found.push(...page.users.filter((u) => u.email.toLowerCase().startsWith(prefix)));
    next = page.cursor;
  } while (prefix && next && found.length < PAGE_ROWS && pages < SEARCH_PAGES_PER_STEP);
  nextCursor = next;
  pageNumber = number;
  for (const u of found) roles.add(u.role);
  $('roles').replaceChildren(...[...roles].sort().map((r) => Object.assign(document.createElement('option'), { value: r })));
  $('users').replaceChildren(...found.map(row));
  $('next-page').disabled = next === null;
  $('first-page').disabled = cursor === null;
  $('summary').textContent = `Page ${number}: ` + (prefix
    ? `${found.length} of ${read} users read have an email starting with “${prefix}”.`
    : `${found.length} users.`) + (next === null ? ' This is the last page.' : ' More on the next page.');
}

function cell(...children) {
  const td = document.createElement('td');
  td.append(...children);
  return td;
}

function button(text, testid, onClick, className = '') {
  const b = Object.assign(document.createElement('button'), { type: 'button', textContent: text, className });
  b.dataset.testid = testid;
  b.addEventListener('click', onClick);
  return b;
}

/** One user's row: its actions report into the row's own result cell. */
function row(user) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'user-row';
  tr.dataset.userId = user.id;
  tr.dataset.email = user.email;
  tr.dataset.disabled = String(user.disabled);
  const result = cell();
  result.className = 'result';
  result.dataset.testid = 'result';
  const report = (ok, text) => { result.dataset.ok = String(ok); result.textContent = text; };
  const act = (work) => async () => {
    report(true, '…');
    try {
      report(true, await work());
    } catch (error) {
      report(false, describe(error));
    }
  };

  const role = Object.assign(document.createElement('input'), { value: user.role, spellcheck: false });
  role.setAttribute('list', 'roles');
  role.setAttribute('aria-label', `Role of ${user.email}`);
  role.dataset.testid = 'role-input';
  const changeRole = button('Change role', 'change-role', act(async () => {
    const updated = await call('PUT', `/admin/users/${user.id}/role`, { role: role.value.trim() });
    role.value = updated.role;
    return `Role is now ${updated.role}; their sessions ended.`;
  }));
  const endSessions = button('End sessions', 'end-sessions', act(async () => {
    await call('DELETE', `/admin/users/${user.id}/sessions`);
    return 'Every session of this user ended.';
  }));
  const actions = cell();
  const remove = button('Delete…', 'delete', () => {
    // Deleting cannot be undone: the button asks first, in the row itself.
    report(true, `Delete ${user.email} and end their sessions? This cannot be undone.`);
    actions.replaceChildren(endSessions,
      button('Yes, delete', 'confirm-delete', act(async () => {
        await call('DELETE', `/admin/users/${user.id}`);
        tr.dataset.deleted = 'true';
        for (const control of tr.querySelectorAll('button, input')) control.disabled = true;
        return 'Deleted.';
      }), 'danger'),
      button('Cancel', 'cancel-delete', () => { actions.replaceChildren(endSessions, remove); report(true, 'Not deleted.'); }));
  }, 'danger');
  actions.append(endSessions, remove);

  const email = cell(user.email);
  email.dataset.testid = 'email-cell';
  tr.append(email, cell(role, changeRole), cell(user.created_at.slice(0, 10)), actions, result);
  return tr;
}

async function guard(work) {
  showError(null);
  try {
    await work();
  } catch (error) {
    showError(error);
  }
}

auth.onChange((event) => {
  render();
  if (event.type === 'signed_in' && isAdmin(auth.claims)) guard(() => loadPage(null, 1));
});

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  guard(() => auth.login($('email').value, $('password').value));
});
$('logout').addEventListener('click', () => guard(() => auth.logout()));
$('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  prefix = $('search').value.trim().toLowerCase();
  guard(() => loadPage(null, 1));
});
$('next-page').addEventListener('click', () => guard(() => loadPage(nextCursor, pageNumber + 1)));
$('first-page').addEventListener('click', () => guard(() => loadPage(null, 1)));

// Resume the session of an earlier visit (the refresh cookie), then show whatever we have.
// (A resumed session is announced as `signed_in`, which loads the first page, above.)
guard(async () => {
  await auth.resume();
  render();
}).finally(() => {
  document.body.dataset.ready = 'true';
});
