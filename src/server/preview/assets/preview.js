// Depesche preview page script: plain ES module, no build step, no dependencies.
// Every URL is relative to <base href>, so the preview works under any mount prefix.

const page = document.body.dataset.page;
const live = document.getElementById('live');

function $(selector, root = document) {
  return root.querySelector(selector);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

function kb(bytes) {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/** Server-sent events; after a reconnect the page may have missed updates, so it refreshes. */
function connect(onEvent, onReconnect) {
  let opened = false;
  const source = new EventSource('events');
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live on';
    if (opened) onReconnect();
    opened = true;
  });
  source.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  });
  source.addEventListener('message', (message) => onEvent(JSON.parse(message.data)));
  return source;
}

/** Runs `task` now, or once more after the running one if asked again meanwhile. */
function serial(task) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await task();
        } catch (error) {
          console.error(error);
        }
      } while (again);
    })();
    try {
      await running;
    } finally {
      running = null;
    }
  };
  return run;
}

// ---------------------------------------------------------------- index

function indexPage() {
  const refresh = serial(async () => {
    const response = await fetch('./', { cache: 'no-store' });
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    const next = $('main', doc);
    if (next) $('main').replaceWith(document.adoptNode(next));
  });
  connect((event) => {
    if (event.type === 'index' || event.type === 'lint') refresh();
  }, refresh);
}

// ---------------------------------------------------------------- issue view

function issuePage() {
  const slug = document.body.dataset.slug;
  const params = new URLSearchParams(location.search);
  const langButtons = [...document.querySelectorAll('#lang-switch button')];
  const langs = langButtons.map((b) => b.dataset.lang).filter((l) => l !== 'both');
  // Every language of the publication: side by side shows a note where the issue has no edition.
  const allLangs = ($('#lang-switch').dataset.all ?? '').split(' ').filter(Boolean);
  const view = {
    lang: [...langs, 'both'].includes(params.get('lang')) ? params.get('lang') : langs[0],
    width: params.get('width') === 'mobile' ? 'mobile' : 'desktop',
    tab: ['preview', 'text', 'html', 'mjml'].includes(params.get('tab')) ? params.get('tab') : 'preview',
    dark: params.get('dark') === '1',
  };
  let data = null;
  const columns = new Map();
  const editionsBox = $('#editions');

  function saveView() {
    const query = new URLSearchParams();
    query.set('lang', view.lang);
    if (view.width !== 'desktop') query.set('width', view.width);
    if (view.tab !== 'preview') query.set('tab', view.tab);
    if (view.dark) query.set('dark', '1');
    history.replaceState(null, '', `${location.pathname}?${query}`);
  }

  function pressed(selector, attribute, value) {
    for (const button of document.querySelectorAll(`${selector} button`)) {
      button.setAttribute('aria-pressed', String(button.dataset[attribute] === value));
    }
  }

  function column(lang) {
    let col = columns.get(lang);
    if (col) return col;
    const meta = el('div', { class: 'meta' });
    const note = el('p', { class: 'note', hidden: true });
    const viewport = el('div', { class: 'viewport' });
    const source = el('pre', { class: 'source', hidden: true });
    const root = el('section', { class: 'edition', 'data-lang': lang, 'aria-label': `${lang.toUpperCase()} edition` }, meta, note, viewport, source);
    col = { lang, root, meta, note, viewport, source, key: null, pending: null };
    columns.set(lang, col);
    return col;
  }

  function renderMeta(col, edition) {
    const { warnBytes, clipBytes } = data.limits;
    const scale = Math.max(clipBytes * 1.25, edition.htmlBytes * 1.05);
    const level = edition.htmlBytes >= clipBytes ? 'error' : edition.htmlBytes >= warnBytes ? 'warn' : 'ok';
    const pct = (n) => `${Math.min(100, (n / scale) * 100).toFixed(2)}%`;
    const fill = el('div', { class: 'meter-fill' });
    fill.style.width = pct(edition.htmlBytes);
    const warnMark = el('div', { class: 'meter-mark warn-mark', title: `Lint warns from ${kb(warnBytes)}` });
    warnMark.style.left = pct(warnBytes);
    const clipMark = el('div', { class: 'meter-mark clip-mark', title: `Gmail clips after ~${kb(clipBytes)}` });
    clipMark.style.left = pct(clipBytes);
    const meter = el(
      'div',
      { class: `meter ${level}`, 'data-bytes': edition.htmlBytes },
      el('div', { class: 'meter-bar' }, fill, warnMark, clipMark),
      el('div', { class: 'meter-label' }, el('span', { class: 'size-value', text: `HTML ${kb(edition.htmlBytes)}` }), el('span', { text: `Gmail clips at ~${Math.round(clipBytes / 1024)} KB` })),
    );
    col.meta.replaceChildren(
      el('span', { class: 'lang-tag', text: edition.lang.toUpperCase() }),
      el(
        'dl',
        {},
        el('dt', { text: 'Subject' }),
        el('dd', { class: 'subject', text: edition.subject }),
        el('dt', { text: 'Preheader' }),
        el('dd', { class: 'preheader', text: edition.preheader || '—' }),
        el('dt', { text: 'From' }),
        el('dd', { class: 'from', text: edition.from }),
        el('dt', { text: 'Source' }),
        el('dd', { class: 'muted', text: edition.sourceFile }),
      ),
      meter,
    );
  }

  function frameSrc(lang, version) {
    return `issues/${encodeURIComponent(slug)}/${lang}/email.html?v=${version}${view.dark ? '&scheme=dark' : ''}`;
  }

  /**
   * Shows a new build of the mail. When the frame already shows this language in this
   * colour scheme, its document is patched in place: no navigation, no flash, and the
   * scroll offset stays. Otherwise a second frame loads and takes over once parsed.
   */
  function loadFrame(col, version) {
    const key = `${data.instance}:${version}|${view.dark}`;
    if (col.key === key || col.pending === key) return;
    const current = $('iframe.current', col.viewport);
    const sameView = col.key && col.key.split('|')[1] === String(view.dark) && col.key.split(':')[0] === String(data.instance);
    if (current?.contentDocument && sameView) patchFrame(col, current, version, key);
    else replaceFrame(col, version, key);
  }

  async function patchFrame(col, frame, version, key) {
    col.pending = key;
    try {
      const response = await fetch(frameSrc(col.lang, version), { cache: 'no-store' });
      if (!response.ok) throw new Error(response.statusText);
      const next = new DOMParser().parseFromString(await response.text(), 'text/html');
      const doc = frame.contentDocument;
      if (col.pending !== key || !doc) return;
      const win = frame.contentWindow;
      const [x, y] = [win.scrollX, win.scrollY];
      const root = doc.documentElement;
      for (const attribute of [...root.attributes]) root.removeAttribute(attribute.name);
      for (const attribute of next.documentElement.attributes) root.setAttribute(attribute.name, attribute.value);
      doc.head.replaceWith(doc.importNode(next.head, true));
      doc.body.replaceWith(doc.importNode(next.body, true));
      win.scrollTo(x, y);
      col.key = key;
      col.pending = null;
      document.body.dataset.shown = `${version}`;
    } catch {
      if (col.pending === key) replaceFrame(col, version, key);
    }
  }

  /** Loads a second frame and swaps it in as soon as its document is parsed, not waiting for images. */
  function replaceFrame(col, version, key) {
    for (const stale of col.viewport.querySelectorAll('iframe.next')) stale.remove();
    const frame = el('iframe', {
      class: 'mail next',
      title: `Mail preview (${col.lang.toUpperCase()})`,
      sandbox: 'allow-same-origin allow-popups allow-popups-to-escape-sandbox',
    });
    const src = frameSrc(col.lang, version);
    const url = new URL(src, document.baseURI).href;
    col.pending = key;
    let swapped = false;
    const swap = () => {
      if (swapped || !frame.isConnected) return;
      if (col.pending !== key) return frame.remove();
      const doc = frame.contentDocument;
      // Before navigation starts the frame holds an empty about:blank document.
      if (!doc || doc.URL !== url || doc.readyState === 'loading') return requestAnimationFrame(swap);
      swapped = true;
      // The frame on screen now, which may be newer than the one shown when this load began.
      const current = $('iframe.current', col.viewport);
      const win = current?.contentWindow;
      if (win) frame.contentWindow?.scrollTo(win.scrollX, win.scrollY);
      frame.classList.replace('next', 'current');
      current?.remove();
      col.key = key;
      col.pending = null;
      document.body.dataset.shown = `${version}`;
    };
    frame.addEventListener('load', swap, { once: true });
    frame.src = src;
    col.viewport.append(frame);
    requestAnimationFrame(swap);
  }

  function renderEditions() {
    const shown = view.lang === 'both' ? (allLangs.length ? allLangs : langs) : [view.lang];
    $('.workspace').classList.toggle('both', shown.length > 1 && view.width === 'desktop');
    for (const [lang, col] of columns) if (!shown.includes(lang)) col.root.remove();
    for (const [i, lang] of shown.entries()) {
      const col = column(lang);
      // Moving an iframe in the DOM reloads it and loses its scroll position: only place new columns.
      if (editionsBox.children[i] !== col.root) editionsBox.insertBefore(col.root, editionsBox.children[i] ?? null);
      col.root.className = `edition ${view.width}`;
      const edition = data?.editions.find((e) => e.lang === lang);
      if (!edition) {
        const missing = data?.missing?.find((m) => m.lang === lang);
        col.meta.replaceChildren(el('p', { class: 'missing', text: missing?.note ?? `No ${lang.toUpperCase()} edition yet.` }));
        col.viewport.hidden = true;
        col.source.hidden = true;
        col.note.hidden = true;
        continue;
      }
      renderMeta(col, edition);
      const noDarkStyles = view.dark && edition.dark.rewrittenQueries === 0 && !edition.dark.declaresDark;
      col.note.hidden = !noDarkStyles;
      col.note.textContent = noDarkStyles
        ? 'This mail has no dark-mode styles: clients that honour prefers-color-scheme show it as in light mode; some apps (Gmail, Outlook) invert colours on their own.'
        : '';
      const isPreview = view.tab === 'preview';
      col.viewport.hidden = !isPreview;
      col.viewport.classList.toggle('dark', view.dark);
      col.source.hidden = isPreview;
      if (isPreview) loadFrame(col, data.version);
      else if (col.source.dataset.key !== `${data.instance}:${data.version}|${view.tab}`) {
        col.source.textContent = edition[view.tab];
        col.source.dataset.key = `${data.instance}:${data.version}|${view.tab}`;
      }
    }
  }

  function renderFindings() {
    const list = $('#findings');
    const count = $('#lint-count');
    if (!data.findings) {
      list.replaceChildren(el('li', { class: 'muted', text: data.failure ? 'No lint while the issue does not build.' : 'Linting…' }));
      count.textContent = '';
      return;
    }
    list.classList.toggle('stale', data.lintedVersion < data.version);
    list.title = data.lintedVersion < data.version ? 'From the previous save; lint is running' : '';
    const errors = data.findings.filter((f) => f.severity === 'error').length;
    count.replaceChildren(
      el('span', { class: `badge ${errors ? 'error' : data.findings.length ? 'warn' : 'ok'}`, text: data.findings.length ? String(data.findings.length) : '✓' }),
    );
    if (data.findings.length === 0) {
      list.replaceChildren(el('li', { class: 'clean', text: data.editions.length > 1 ? 'No findings: both editions pass every rule.' : 'No findings: the edition passes every rule.' }));
      return;
    }
    const order = { error: 0, warning: 1 };
    const sorted = [...data.findings].sort((a, b) => (order[a.severity] ?? 2) - (order[b.severity] ?? 2));
    list.replaceChildren(
      ...sorted.map((f) => {
        const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : '';
        return el(
          'li',
          { class: `finding ${f.severity}`, 'data-rule': f.rule },
          el(
            'div',
            { class: 'finding-head' },
            el('span', { class: `badge ${f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warn' : 'muted'}`, text: f.severity }),
            f.lang ? el('span', { class: 'badge muted', text: f.lang.toUpperCase() }) : null,
            el('span', { class: 'finding-rule', text: f.rule }),
          ),
          el('div', { class: 'finding-message', text: f.message }),
          f.hint ? el('div', { class: 'finding-hint', text: `→ ${f.hint}` }) : null,
          where ? el('span', { class: 'finding-where', text: where }) : null,
          f.related ? el('span', { class: 'finding-related', text: `↔ ${f.related.file}${f.related.line ? `:${f.related.line}` : ''}` }) : null,
        );
      }),
    );
  }

  function renderFailure() {
    const overlay = $('#overlay');
    const failure = data.failure;
    overlay.hidden = !failure;
    document.body.dataset.failed = failure ? '1' : '';
    if (!failure) return;
    $('#overlay-where').textContent = failure.file ? `${failure.file}${failure.line ? `:${failure.line}` : ''}` : '';
    $('#overlay-message').textContent = failure.message;
  }

  function render() {
    pressed('#lang-switch', 'lang', view.lang);
    pressed('#width-switch', 'width', view.width);
    pressed('#tab-switch', 'tab', view.tab);
    $('#dark-toggle').checked = view.dark;
    if (!data) return;
    document.body.dataset.version = String(data.version);
    $('#build-status').textContent = data.failure ? `Build failed · v${data.version}` : `Built in ${data.compileMs} ms · v${data.version}`;
    renderEditions();
    renderFindings();
    renderFailure();
    const proofButton = $('#proof-form button');
    proofButton.disabled = !data.proof;
    proofButton.title = data.proof ? '' : 'No SMTP transport: start the preview with SMTP_URL, or use depesche test-send';
    const result = $('#proof-result');
    if (!data.proof && !result.textContent) result.textContent = 'Proofs need an SMTP transport; this preview has none. Use depesche test-send.';
  }

  const refresh = serial(async () => {
    const response = await fetch(`api/issues/${encodeURIComponent(slug)}`, { cache: 'no-store' });
    const next = await response.json();
    if (!response.ok) throw new Error(next.error?.message ?? response.statusText);
    if (data && next.instance === data.instance && next.version < data.version) return;
    data = next;
    render();
  });

  $('#lang-switch').addEventListener('click', (event) => {
    const lang = event.target.closest('button')?.dataset.lang;
    if (!lang) return;
    view.lang = lang;
    saveView();
    render();
  });
  $('#width-switch').addEventListener('click', (event) => {
    const width = event.target.closest('button')?.dataset.width;
    if (!width) return;
    view.width = width;
    saveView();
    render();
  });
  $('#tab-switch').addEventListener('click', (event) => {
    const tab = event.target.closest('button')?.dataset.tab;
    if (!tab) return;
    view.tab = tab;
    saveView();
    render();
  });
  $('#dark-toggle').addEventListener('change', (event) => {
    view.dark = event.target.checked;
    saveView();
    render();
  });
  $('#proof-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.target;
    const result = $('#proof-result');
    const button = $('button', form);
    button.disabled = true;
    result.className = 'proof-result';
    result.textContent = 'Sending…';
    try {
      const response = await fetch(`api/issues/${encodeURIComponent(slug)}/proof`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: form.to.value, lang: form.lang.value }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error?.hint ? `${body.error.message} ${body.error.hint}` : (body.error?.message ?? response.statusText));
      result.className = 'proof-result ok';
      result.textContent = `Sent ${body.sent.map((s) => s.lang.toUpperCase()).join(' + ')} to ${form.to.value}.`;
    } catch (error) {
      result.className = 'proof-result error';
      result.textContent = error.message;
    } finally {
      button.disabled = !data?.proof;
    }
  });

  // Keys for the switches an editor flips all day; ignored while typing in the proof form.
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest('input, select, textarea')) return;
    const cycle = [...langs, 'both'];
    const tabs = { p: 'preview', t: 'text', h: 'html', m: 'mjml' };
    if (event.key === 'l') view.lang = cycle[(cycle.indexOf(view.lang) + 1) % cycle.length];
    else if (event.key === 'w') view.width = view.width === 'desktop' ? 'mobile' : 'desktop';
    else if (event.key === 'd') view.dark = !view.dark;
    else if (tabs[event.key]) view.tab = tabs[event.key];
    else return;
    saveView();
    render();
  });

  render();
  refresh();
  connect((event) => {
    if (event.slug !== slug) return;
    // A good build: load the new mail right away, while the JSON for the panels is on its way.
    if (event.type === 'issue' && event.ok && data && view.tab === 'preview') {
      for (const col of columns.values()) if (col.root.isConnected && data.editions.some((e) => e.lang === col.lang)) loadFrame(col, event.version);
    }
    if (event.type === 'issue' || event.type === 'lint') refresh();
  }, refresh);
}

if (page === 'index') indexPage();
else if (page === 'issue') issuePage();
else connect(() => {}, () => {});
