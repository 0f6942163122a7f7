// Settings → Integrations → Azure DevOps and GitHub: search and select-all
// (GitHub: "whole organization" selects the owner's repositories),
// and backfill progress that follows the server's event stream without a
// reload. A static file: the pages' Content-Security-Policy forbids inline
// script.
(function () {
  'use strict';
  const form = document.getElementById('projects');
  if (!form) return;
  const rows = () => Array.from(form.querySelectorAll('tbody tr[data-project]'));
  const box = (row) => row.querySelector('input[type="checkbox"][name="selected"]');
  const shown = () => rows().filter((r) => !r.hidden);
  const search = document.getElementById('project-search');
  const all = document.getElementById('select-all');
  const count = document.getElementById('project-count');

  function syncAll() {
    const boxes = shown().map(box).filter(Boolean);
    const on = boxes.filter((b) => b.checked).length;
    all.checked = boxes.length > 0 && on === boxes.length;
    all.indeterminate = on > 0 && on < boxes.length;
    const total = rows().length;
    const unit = form.dataset.unit || 'projects';
    count.textContent = boxes.length === total ? total + ' ' + unit : boxes.length + ' of ' + total + ' ' + unit + ' shown';
  }
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    rows().forEach((r) => { r.hidden = q !== '' && !r.dataset.name.toLowerCase().includes(q); });
    syncAll();
  });
  all.addEventListener('change', () => {
    shown().forEach((r) => { const b = box(r); if (b) b.checked = all.checked; });
    syncAll();
  });
  form.querySelectorAll('input[data-whole]').forEach((w) => w.addEventListener('change', () => {
    if (!w.checked) return;
    w.closest('tbody').querySelectorAll('tr[data-project]').forEach((r) => { const b = box(r); if (b) b.checked = true; });
    syncAll();
  }));
  form.addEventListener('change', (e) => { if (e.target !== all && e.target !== search) syncAll(); });
  syncAll();

  // Live backfill progress: each change of the workspace's data reads the
  // integration's status and rewrites the progress cells.
  if (!window.EventSource || !form.dataset.events) return;
  const pct = (f) => Math.round(f * 100) + '%';
  const left = (ns) => {
    const s = ns / 1e9;
    if (s < 60) return 'a minute';
    if (s < 3600) return Math.round(s / 60) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  };
  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const res = await fetch(form.dataset.liveStatus, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      if (!res.ok) return;
      const st = await res.json();
      (st.backfill || []).forEach((p) => {
        const row = form.querySelector('tr[data-project="' + CSS.escape(p.project_id) + '"]');
        const cell = row && row.querySelector('td.backfill');
        if (!cell) return;
        const bar = cell.querySelector('progress');
        const text = cell.querySelector('.progress-text');
        if (p.finished && !p.failed) {
          if (bar) bar.remove();
          if (text) text.textContent = 'done · ' + p.items_done + ' items';
          return;
        }
        if (bar) bar.value = p.fraction;
        if (text) text.textContent = pct(p.fraction) + ' · ' + p.items_done + ' items' + (p.remaining_ns ? ' · about ' + left(p.remaining_ns) + ' left' : '');
      });
      form.dataset.refreshed = String((Number(form.dataset.refreshed) || 0) + 1);
    } finally {
      busy = false;
    }
  }
  const events = new EventSource(form.dataset.events);
  events.addEventListener('change', refresh);
  window.addEventListener('pagehide', () => events.close());
})();
