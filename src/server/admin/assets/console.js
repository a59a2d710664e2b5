// The ops console in the browser: local times, live fragments, actions that run once.
// Markup comes from the server only (rows, live status, unclear list); this file swaps it
// in and sets text, never builds HTML from data.
const data = JSON.parse(document.getElementById('console-data')?.textContent || '{}');
const L = data.labels || {};
const fill = (text, vars = {}) => String(text ?? '').replace(/\{\{(\w+)\}\}/g, (_, key) => (vars[key] ?? '') + '');
const numberFormat = new Intl.NumberFormat(document.documentElement.lang === 'de' ? 'de-DE' : 'en-GB');

/** Every <time data-local> in the viewer's own time zone. */
function localTimes(root = document) {
  const format = new Intl.DateTimeFormat(document.documentElement.lang === 'de' ? 'de-DE' : 'en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
  for (const el of root.querySelectorAll('time[data-local]')) {
    const date = new Date(el.getAttribute('datetime'));
    if (!Number.isNaN(date.getTime())) el.textContent = format.format(date);
  }
}
localTimes();

// The language switch keeps what the page shows (a search, a filter, a form filled in from
// the URL): the server renders it as a bare `?lang=`, which would drop the rest.
for (const link of document.querySelectorAll('.lang-switch a[hreflang]')) {
  const url = new URL(location.href);
  url.searchParams.set('lang', link.hreflang);
  link.href = url.pathname + url.search + url.hash;
}

// The campaigns table: rows again every two seconds while the tab is shown.
const rows = document.querySelector('[data-refresh]');
if (rows) {
  setInterval(async () => {
    if (document.hidden) return;
    try {
      const res = await fetch(rows.dataset.refresh, { headers: { accept: 'text/html' } });
      if (res.ok) { rows.innerHTML = await res.text(); localTimes(rows); }
    } catch { /* the next round tries again */ }
  }, 2000);
}

// Forms that must post once: a double-click or a second Enter does nothing.
for (const form of document.querySelectorAll('form[data-once]')) {
  form.addEventListener('submit', (event) => {
    if (form.dataset.busy) { event.preventDefault(); return; }
    form.dataset.busy = 'true';
    // After this turn, so the browser still sends the button that was pressed.
    setTimeout(() => form.querySelectorAll('button').forEach((b) => {
      b.disabled = true;
      if (b === event.submitter) b.setAttribute('aria-busy', 'true');
    }), 0);
  });
}
// Back from the next page: the form is usable again.
window.addEventListener('pageshow', (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll('form[data-once]')) {
    delete form.dataset.busy;
    form.querySelectorAll('button').forEach((b) => { b.disabled = b.hasAttribute('data-refused'); b.removeAttribute('aria-busy'); });
  }
});

// The send form: the browser's zone unless the form was filled in already; the time only for "at".
const zone = document.querySelector('select[name=zone][data-browser-default]');
if (zone) {
  const mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if ([...zone.options].some((o) => o.value === mine)) zone.value = mine;
}
const whenRadios = document.querySelectorAll('input[type=radio][name=when]');
function syncWhen() {
  const at = document.querySelector('input[type=radio][name=when][value=at]')?.checked;
  for (const name of ['at', 'zone']) {
    const field = document.querySelector(`form#send [name=${name}]`);
    if (field) { field.disabled = !at; field.required = !!at && name === 'at'; }
  }
}
whenRadios.forEach((r) => r.addEventListener('change', syncWhen));
if (whenRadios.length) syncWhen();

// A campaign page: live status over server-sent events, and its action buttons.
const live = document.getElementById('live');
if (live) {
  const id = live.dataset.id;
  let status = JSON.parse(live.dataset.status || '{}');
  const notice = document.getElementById('action-result');
  const dialog = document.getElementById('confirm');

  const applyState = (state) => {
    status.state = state;
    for (const el of document.querySelectorAll('[data-states]')) el.hidden = !el.dataset.states.split(' ').includes(state);
  };
  const say = (kind, lines) => {
    notice.className = 'notice ' + kind;
    notice.replaceChildren(...lines.map((line, i) => {
      const el = document.createElement(i === 0 ? 'p' : 'div');
      el.textContent = line;
      return el;
    }));
    notice.hidden = false;
  };
  const reloadUnclear = async () => {
    const res = await fetch(`/campaigns/${encodeURIComponent(id)}?part=unclear`, { headers: { accept: 'text/html' } });
    if (!res.ok) return;
    const section = document.getElementById('unclear');
    section.innerHTML = await res.text();
    section.hidden = section.innerHTML.trim() === '';
    applyState(status.state);
  };

  const events = new EventSource(`/campaigns/${encodeURIComponent(id)}/events`);
  events.addEventListener('status', (event) => {
    const next = JSON.parse(event.data);
    live.innerHTML = next.html;
    localTimes(live);
    const unclearChanged = next.status.unclear !== status.unclear;
    status = next.status;
    live.dataset.connected = 'true';
    applyState(status.state);
    if (unclearChanged) reloadUnclear();
  });
  events.addEventListener('failure', (event) => say('error', [JSON.parse(event.data).message]));
  events.addEventListener('error', () => { live.dataset.connected = 'false'; });

  const ask = (text, ok) => new Promise((resolve) => {
    dialog.querySelector('[data-text]').textContent = text;
    dialog.querySelector('button[value=ok]').textContent = ok;
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });

  const numbers = () => Object.fromEntries(Object.entries(status).map(([k, v]) => [k, typeof v === 'number' ? numberFormat.format(v) : v]));

  document.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-verb]');
    if (!button || button.disabled) return;
    const verb = button.dataset.verb;
    // Disabled at once, before anything else: the second click of a double-click finds it so.
    button.disabled = true;
    try {
      if (button.dataset.confirm && !(await ask(fill(L.confirm[verb], numbers()), fill(L.confirmButton[verb], numbers())))) return;
      button.setAttribute('aria-busy', 'true');
      const res = await fetch(`/api/campaigns/${encodeURIComponent(id)}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        const error = body.error || {};
        say('error', [error.message || res.statusText, ...(error.hint ? [error.hint] : [])]);
        return;
      }
      const state = body.state || body.status?.state;
      if (state) applyState(state);
      if (verb === 'update') {
        say('ok', [fill(L.done.update, { version: body.version }), ...(body.subjects || []).map((s) => `${s.lang.toUpperCase()}: ${s.before ?? '–'} → ${s.after}`), ...(body.warnings || [])]);
      } else if (verb === 'resend-unclear') {
        say('ok', [fill(L.done['resend-unclear'], { recipients: numberFormat.format(body.recipients), batches: body.batches })]);
      } else {
        say('ok', [fill(L.done[verb])]);
      }
    } catch (error) {
      say('error', [String(error.message || error)]);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
}
