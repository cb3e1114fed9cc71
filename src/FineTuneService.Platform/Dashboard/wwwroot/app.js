// The dashboard: plain ES modules over the REST API and the job event stream; charts by uPlot (vendored, MIT).
const view = document.getElementById('view');
const statuses = ['queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled'];
const finished = ['succeeded', 'failed', 'cancelled'];
let leave = () => {};

// ---- helpers -------------------------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const apiKey = () => localStorage.getItem('fts_api_key') || '';
const authHeaders = () => (apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {});

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

async function api(path, { method = 'GET', json, form } = {}) {
  const headers = authHeaders();
  let body;
  if (json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
  if (form) body = form;
  const res = await fetch(path, { method, headers, body });
  const text = await res.text();
  const data = text && (res.headers.get('content-type') || '').includes('json') ? JSON.parse(text) : text;
  if (!res.ok) {
    if (res.status === 401) document.getElementById('api-key').focus();
    throw new ApiError(res.status, typeof data === 'object' ? data : { title: text });
  }
  return data;
}

function problemBox(e) {
  const p = e.problem || {};
  const lines = [p.title || e.message];
  if (p.detail && p.detail !== p.title) lines.push(p.detail);
  for (const [field, messages] of Object.entries(p.errors || {})) lines.push(`${field}: ${messages.join(' ')}`);
  return h('div', { class: 'problem', role: 'alert' }, lines.join('\n'));
}

const fmtTime = (s) => (s ? new Date(s).toLocaleString() : '');
const fmtBytes = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const fmtNum = (v) => (typeof v !== 'number' ? String(v) : Math.abs(v) >= 1000 || v === Math.round(v) ? String(+v.toFixed(2)) : v.toPrecision(4));
function fmtDuration(seconds) {
  if (!isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds), hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return (hh ? `${hh}:${String(mm).padStart(2, '0')}` : `${mm}`) + `:${String(ss).padStart(2, '0')}`;
}
const badge = (status) => h('span', { class: `badge ${status}`, dataset: { status } }, status);
const shortId = (id) => (id ? id.slice(0, 8) : '');
const jobName = (job) => job.name || `${job.task} ${shortId(job.id)}`;

async function download(path, fallbackName) {
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => ({})));
  const name = /filename="?([^";]+)/.exec(res.headers.get('content-disposition') || '')?.[1] || fallbackName;
  const url = URL.createObjectURL(await res.blob());
  h('a', { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// Server-Sent Events over fetch (EventSource cannot send an Authorization header); reconnects with Last-Event-ID.
function subscribe(path, onEvent) {
  const abort = new AbortController();
  (async () => {
    let last = null;
    while (!abort.signal.aborted) {
      try {
        const headers = authHeaders();
        if (last) headers['Last-Event-ID'] = last;
        const res = await fetch(path, { headers, signal: abort.signal });
        if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => ({})));
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, '\n');
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let type = 'message', data = '';
            for (const line of block.split('\n')) {
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon), val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'event') type = val;
              else if (field === 'data') data += (data ? '\n' : '') + val;
              else if (field === 'id') last = val;
            }
            if (!data) continue;
            onEvent(type, JSON.parse(data));
            if (type === 'end') return;
          }
        }
      } catch (e) {
        if (abort.signal.aborted) return;
        if (e instanceof ApiError && e.status < 500) { onEvent('error', e); return; }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return () => abort.abort();
}

// ---- charts --------------------------------------------------------------------------------------------------

const palette = ['#2f6fed', '#e8590c', '#2b8a3e', '#ae3ec9', '#1098ad'];

/** A live chart of one or more metric names by step; data-points counts the first series' points (tests read it). */
function metricChart(title, names) {
  const points = new Map(names.map((n) => [n, new Map()]));
  const holder = h('div', { class: 'chart', dataset: { metric: names[0], points: '0' } }, h('h3', {}, title));
  let plot = null, pending = false;
  function render() {
    pending = false;
    const steps = [...new Set([...points.values()].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
    const data = [steps, ...names.map((n) => steps.map((s) => (points.get(n).has(s) ? points.get(n).get(s) : null)))];
    holder.dataset.points = String(points.get(names[0]).size);
    const width = Math.max(300, holder.clientWidth - 16);
    if (!plot) {
      plot = new uPlot({
        width, height: 200,
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, { size: 60 }],
        series: [{ label: 'step' }, ...names.map((n, i) => ({ label: n, stroke: palette[i % palette.length], width: 2, spanGaps: true, points: { show: true, size: 4 } }))],
      }, data, holder);
    } else plot.setData(data);
  }
  return {
    el: holder,
    names,
    add(point) {
      points.get(point.name).set(point.step, point.value); // a resumed run's repeat of a step replaces it
      if (!pending) { pending = true; requestAnimationFrame(render); }
    },
  };
}

// ---- pages ---------------------------------------------------------------------------------------------------

const routes = [
  [/^#\/jobs\/([0-9a-f-]{36})$/, jobPage],
  [/^#\/new$/, newJobPage],
  [/^#\/datasets$/, datasetsPage],
  [/^#\/models\/([0-9a-f-]{36})$/, modelPage],
  [/^#\/models$/, modelsPage],
  [/^/, jobsPage],
];

async function route() {
  leave();
  leave = () => {};
  const hash = location.hash || '#/jobs';
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', hash.startsWith(`#/${a.dataset.nav}`)));
  const [pattern, page] = routes.find(([p]) => p.test(hash));
  view.replaceChildren();
  try {
    await page(...pattern.exec(hash).slice(1));
  } catch (e) {
    view.replaceChildren(problemBox(e));
  }
}

function poll(fn, ms) {
  let stopped = false, timer;
  const tick = async () => { if (stopped) return; try { await fn(); } catch { /* shown by fn */ } if (!stopped) timer = setTimeout(tick, ms); };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

async function jobsPage() {
  const wanted = new URLSearchParams(location.hash.split('?')[1] || '').get('status') || '';
  const table = h('tbody');
  const error = h('div');
  view.append(
    h('div', { class: 'row' }, h('h1', {}, 'Jobs'), h('a', { class: 'button primary', href: '#/new', style: 'margin-left:auto' }, 'New job')),
    h('div', { class: 'filters' }, ['', ...statuses].map((s) =>
      h('button', { class: s === wanted ? 'active' : '', onclick: () => { location.hash = s ? `#/jobs?status=${s}` : '#/jobs'; } }, s || 'all'))),
    error,
    h('table', { id: 'jobs' }, h('thead', {}, h('tr', {}, ['Job', 'Type', 'Task', 'Status', 'Progress', 'Created'].map((c) => h('th', {}, c)))), table));
  leave = poll(async () => {
    try {
      const page = await api(`/jobs?page_size=100${wanted ? `&status=${wanted}` : ''}`);
      error.replaceChildren();
      table.replaceChildren(...page.items.map((job) => {
        const p = job.progress, pct = p.total_steps ? (100 * p.step) / p.total_steps : 0;
        return h('tr', { dataset: { job: job.id } },
          h('td', {}, h('a', { href: `#/jobs/${job.id}` }, jobName(job))),
          h('td', {}, job.type), h('td', {}, job.task), h('td', {}, badge(job.status)),
          h('td', {}, h('div', { class: 'bar', title: `${p.step} / ${p.total_steps}` }, h('div', { style: `width:${pct}%` }))),
          h('td', { class: 'muted' }, fmtTime(job.created_at)));
      }));
      if (!page.items.length) table.append(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No jobs yet.')));
    } catch (e) { error.replaceChildren(problemBox(e)); throw e; }
  }, 2000);
}

async function jobPage(id) {
  const charts = new Map();
  const chartsEl = h('div', { class: 'charts', id: 'charts' });
  const head = h('div', { class: 'row' });
  const progressText = h('span', { id: 'progress-text', class: 'muted' });
  const fill = h('div', { style: 'width:0%' });
  const actions = h('div', { class: 'actions' });
  const actionError = h('div');
  const log = h('div', { class: 'log', id: 'events' });
  const checkpoints = h('tbody');
  const hyper = h('div', { class: 'pairs', id: 'hyperparameters' });
  let job = null;

  view.append(head, h('div', { class: 'progress' }, h('div', { class: 'bar', id: 'progress' }, fill), progressText), actions, actionError,
    h('h2', {}, 'Curves'), chartsEl,
    h('div', { class: 'row' },
      h('div', { style: 'flex:1;min-width:380px' }, h('h2', {}, 'Events'), log),
      h('div', { style: 'flex:1;min-width:380px' }, h('h2', {}, 'Checkpoints'),
        h('table', { id: 'checkpoints' }, h('thead', {}, h('tr', {}, h('th', {}, 'Step'), h('th', {}, 'Metrics'), h('th', {}, 'Saved'))), checkpoints))),
    h('h2', {}, 'Hyperparameters (resolved)'), hyper);

  function chartFor(name) {
    const key = name === 'eval_loss' ? 'loss' : name;
    if (!charts.has(key)) {
      if (!(key === 'loss' || key === 'learning_rate' || key.startsWith('eval_'))) return null;
      const chart = metricChart(key === 'loss' ? 'loss (train, eval)' : key, key === 'loss' ? ['loss', 'eval_loss'] : [key]);
      charts.set(key, chart);
      const order = (k) => (k === 'loss' ? 0 : k === 'learning_rate' ? 1 : 2);
      const after = [...charts.entries()].filter(([k]) => k !== key).sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b)).find(([k]) => order(k) > order(key) || (order(k) === order(key) && k > key));
      chartsEl.insertBefore(chart.el, after ? after[1].el : null);
    }
    return charts.get(key);
  }

  function renderProgress() {
    if (!job) return;
    const p = job.progress, pct = p.total_steps ? (100 * p.step) / p.total_steps : 0;
    fill.style.width = `${pct}%`;
    const start = job.started_at ? Date.parse(job.started_at) : null;
    const end = job.finished_at ? Date.parse(job.finished_at) : Date.now();
    const elapsed = start ? (end - start) / 1000 : 0;
    const eta = job.status === 'running' && p.step > 0 && p.total_steps ? (elapsed / p.step) * (p.total_steps - p.step) : NaN;
    progressText.textContent = `step ${p.step} / ${p.total_steps || '?'} · epoch ${fmtNum(p.epoch)} · elapsed ${fmtDuration(elapsed)}` +
      (finished.includes(job.status) ? '' : ` · remaining ${fmtDuration(eta)}`);
  }

  const act = (label, path, cls) => h('button', { class: cls, onclick: async (e) => {
    e.target.disabled = true;
    try { job = { ...job, ...(await api(path, { method: 'POST' })) }; renderHead(); actionError.replaceChildren(); } catch (err) { actionError.replaceChildren(problemBox(err)); }
    e.target.disabled = false;
  } }, label);

  function renderHead() {
    head.replaceChildren(...[h('h1', {}, jobName(job), ' '), badge(job.status),
      h('span', { class: 'muted' }, `${job.type} · ${job.task}`),
      job.result_model_id ? h('a', { href: `#/models/${job.result_model_id}` }, 'result model →') : null,
      job.error ? h('span', { class: 'error' }, job.error) : null].filter(Boolean));
    head.querySelector('.badge').id = 'status';
    actions.replaceChildren(...[
      ['queued', 'running'].includes(job.status) ? act('Pause', `/jobs/${id}/pause`) : null,
      job.status === 'paused' ? act('Resume', `/jobs/${id}/resume`, 'primary') : null,
      ['queued', 'running', 'pausing', 'paused'].includes(job.status) ? act('Cancel', `/jobs/${id}/cancel`, 'danger') : null,
    ].filter(Boolean));
    hyper.replaceChildren(...Object.entries(job.hyperparameters || {}).map(([k, v]) => h('div', {}, h('span', { class: 'muted' }, k), ' ', JSON.stringify(v))));
    renderProgress();
  }

  async function loadCheckpoints() {
    const list = await api(`/jobs/${id}/checkpoints`);
    checkpoints.replaceChildren(...list.items.map((c) => h('tr', {},
      h('td', {}, c.step), h('td', {}, Object.entries(c.metrics).map(([k, v]) => `${k} ${fmtNum(v)}`).join(' · ') || '–'), h('td', { class: 'muted' }, fmtTime(c.created_at)))));
  }

  const clock = setInterval(renderProgress, 1000);
  const stop = subscribe(`/jobs/${id}/stream`, (type, data) => {
    if (type === 'status') { job = data; renderHead(); loadCheckpoints(); }
    else if (type === 'progress' && job) { job.status = data.status; job.progress = { step: data.step, total_steps: data.total_steps, epoch: data.epoch }; renderProgress(); }
    else if (type === 'metric') chartFor(data.name)?.add(data);
    else if (type === 'event') {
      log.append(h('div', { class: data.level }, `${new Date(data.created_at).toLocaleTimeString()}  ${data.message}`));
      log.scrollTop = log.scrollHeight;
      if (data.message.startsWith('Checkpoint')) loadCheckpoints();
    } else if (type === 'error') view.prepend(problemBox(data));
  });
  leave = () => { stop(); clearInterval(clock); };
}

// ---- new job -------------------------------------------------------------------------------------------------

let catalogue = null;

/** The hyperparameters' names, types, defaults, ranges and descriptions, and each job type's tasks, from the OpenAPI document. */
async function specCatalogue() {
  if (!catalogue) {
    const schemas = (await (await fetch('swagger/v1/swagger.json')).json()).components.schemas;
    catalogue = {
      hyperparameters: schemas.Hyperparameters.properties,
      tasks: Object.fromEntries(Object.entries(schemas.JobTasks.properties).map(([type, s]) => [type, s.enum])),
    };
  }
  return catalogue;
}

async function newJobPage() {
  const [datasets, models, { hyperparameters: hp, tasks }] = await Promise.all([api('/datasets?page_size=100'), api('/models?page_size=100'), specCatalogue()]);
  const fields = new Map();
  const field = (name, control) => {
    const error = h('div', { class: 'error', dataset: { errorFor: name } });
    fields.set(name, error);
    return h('div', { dataset: { field: name } }, control, error);
  };
  const option = (value, label, selected) => h('option', { value, selected }, label);

  const dataset = h('select', { id: 'train-dataset' }, option('', '— pick a dataset —'), datasets.items.map((d) => option(d.id, `${d.name} (${d.format}, ${d.num_rows} rows)`)));
  const upload = h('input', { id: 'dataset-file', type: 'file', accept: '.csv,.tsv,.jsonl,.txt,.gz' });
  const uploadStatus = h('span', { class: 'muted' });
  const preview = h('div', { class: 'preview', id: 'dataset-preview' });
  const validation = h('select', { id: 'validation-dataset' }, option('', '— none —'), datasets.items.map((d) => option(d.id, d.name)));
  const split = h('input', { id: 'validation-split', type: 'number', step: 'any', min: 0, max: 1, placeholder: 'e.g. 0.2' });
  const type = h('select', { id: 'job-type' }, Object.keys(tasks).map((t) => option(t, t)));
  const task = h('select', { id: 'job-task' });
  const model = h('select', { id: 'base-model' }, option('', '— none (pretrain from scratch) —'), models.items.map((m) => option(m.id, `${m.name} (${m.architecture || '?'})`)));
  const name = h('input', { id: 'job-name', placeholder: 'optional' });
  const columnSelects = Object.fromEntries(['text', 'text_pair', 'label'].map((c) => [c, h('select', { id: `column-${c}` })]));
  const hpInputs = new Map();
  const general = h('div');

  const fillTasks = () => task.replaceChildren(...tasks[type.value].map((t) => option(t, t)));
  type.addEventListener('change', fillTasks);
  fillTasks();

  async function showDataset() {
    const id = dataset.value;
    preview.replaceChildren();
    if (!id) return;
    const [info, rows] = await Promise.all([api(`/datasets/${id}`), api(`/datasets/${id}/preview?rows=5`)]);
    for (const [c, select] of Object.entries(columnSelects)) {
      const guess = c === 'text' ? info.columns.find((x) => /text|sentence|tokens|words/i.test(x)) ?? info.columns[0]
        : c === 'label' ? info.columns.find((x) => /label|tags|target|class/i.test(x)) : null;
      select.replaceChildren(option('', '— none —'), ...info.columns.map((x) => option(x, x, x === guess)));
    }
    preview.replaceChildren(
      h('div', { class: 'muted', id: 'dataset-summary' }, `${info.num_rows} rows · ${info.format} · columns: ${info.columns.join(', ') || '(text)'}`),
      h('table', {}, h('thead', {}, h('tr', {}, rows.columns.map((c) => h('th', {}, c)))),
        h('tbody', {}, rows.rows.map((r) => h('tr', {}, rows.columns.map((c) => h('td', {}, r[c] ?? '')))))));
  }
  dataset.addEventListener('change', () => showDataset().catch((e) => preview.replaceChildren(problemBox(e))));
  upload.addEventListener('change', async () => {
    if (!upload.files.length) return;
    const form = new FormData();
    form.append('file', upload.files[0]);
    uploadStatus.textContent = 'uploading…';
    try {
      const d = await api('/datasets', { method: 'POST', form });
      dataset.append(option(d.id, `${d.name} (${d.format}, ${d.num_rows} rows)`));
      validation.append(option(d.id, d.name));
      dataset.value = d.id;
      uploadStatus.textContent = `uploaded ${d.name}`;
      fields.get('train_dataset_id').replaceChildren();
      await showDataset();
    } catch (e) { uploadStatus.textContent = ''; fields.get('train_dataset_id').replaceChildren(problemBox(e)); }
  });

  const hpGrid = h('div', { class: 'hp', id: 'hyperparameters' }, Object.entries(hp).map(([key, schema]) => {
    const types = [schema.type].flat();
    let input;
    if (schema.enum) input = h('select', {}, option('', `default: ${schema.default}`), schema.enum.filter((v) => v !== null).map((v) => option(v, v)));
    else if (types.includes('boolean')) input = h('select', {}, option('', `default: ${schema.default ?? 'null'}`), option('true', 'true'), option('false', 'false'));
    else input = h('input', {
      type: types.includes('integer') || types.includes('number') ? 'number' : 'text', step: types.includes('integer') ? 1 : 'any',
      placeholder: schema.default === undefined ? (schema.nullable ? 'default: null' : 'optional') : `default: ${JSON.stringify(schema.default)}`,
    });
    input.name = key;
    input.title = schema.description || '';
    hpInputs.set(key, { input, types });
    return h('label', { title: schema.description }, key, field(`hyperparameters.${key}`, input));
  }));

  const submit = h('button', { class: 'primary', id: 'create-job', type: 'submit' }, 'Create job');
  const form = h('form', { id: 'new-job', onsubmit: async (e) => {
    e.preventDefault();
    for (const error of fields.values()) error.replaceChildren();
    general.replaceChildren();
    const hyperparameters = {};
    for (const [key, { input, types }] of hpInputs) {
      if (input.value === '') continue;
      const v = input.value;
      hyperparameters[key] = types.includes('boolean') ? v === 'true' : types.includes('integer') || types.includes('number') ? Number(v)
        : types.includes('array') ? JSON.parse(v) : v;
    }
    const columns = Object.fromEntries(Object.entries(columnSelects).map(([c, s]) => [c, s.value || null]));
    const spec = {
      type: type.value, task: task.value, name: name.value || undefined,
      base_model_id: model.value || undefined, train_dataset_id: dataset.value || undefined,
      validation_dataset_id: validation.value || undefined, validation_split: split.value ? Number(split.value) : undefined,
      columns: type.value === 'pretrain' ? { text: columns.text } : columns, hyperparameters,
    };
    submit.disabled = true;
    try {
      const job = await api('/jobs', { method: 'POST', json: spec });
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      const errors = err.problem?.errors || {};
      const unplaced = {};
      for (const [f, messages] of Object.entries(errors)) {
        const target = fields.get(f) || fields.get(f.split('.')[0]);
        if (target) target.append(...messages.map((m) => h('div', {}, m)));
        else unplaced[f] = messages;
      }
      if (!Object.keys(errors).length || Object.keys(unplaced).length) general.append(problemBox(new ApiError(err.status, { ...err.problem, errors: unplaced })));
    }
    submit.disabled = false;
  } },
  h('div', { class: 'form' },
    h('label', {}, 'Training data'), field('train_dataset_id', h('div', {}, dataset, ' or upload ', upload, ' ', uploadStatus, preview)),
    h('label', {}, 'Validation'), h('div', { class: 'row' }, field('validation_dataset_id', validation), h('span', {}, 'or hold out'), field('validation_split', split)),
    h('label', {}, 'Type and task'), h('div', { class: 'row' }, field('type', type), field('task', task)),
    h('label', {}, 'Base model'), field('base_model_id', model),
    h('label', {}, 'Columns'), h('div', { class: 'row' }, Object.entries(columnSelects).map(([c, s]) => h('div', {}, h('div', { class: 'muted' }, c), field(`columns.${c}`, s)))),
    h('label', {}, 'Name'), field('name', name),
    h('label', {}, 'Hyperparameters'), h('div', {}, h('div', { class: 'muted' }, 'Hugging Face TrainingArguments names; empty fields keep the default shown.'), hpGrid),
    h('span'), h('div', {}, general, submit)));
  view.append(h('h1', {}, 'New job'), form);
}

// ---- datasets and models -------------------------------------------------------------------------------------

async function datasetsPage() {
  const body = h('tbody');
  const error = h('div');
  async function load() {
    const list = await api('/datasets?page_size=100');
    body.replaceChildren(...list.items.flatMap((d) => {
      const previewRow = h('tr', { hidden: true }, h('td', { colspan: 6 }));
      return [h('tr', { dataset: { dataset: d.id } },
        h('td', {}, d.name, h('div', { class: 'muted' }, shortId(d.id))), h('td', {}, d.format), h('td', {}, d.num_rows),
        h('td', {}, d.columns.join(', ')), h('td', {}, fmtBytes(d.size_bytes)),
        h('td', { class: 'actions' },
          h('button', { onclick: async () => {
            if (!previewRow.hidden) { previewRow.hidden = true; return; }
            const p = await api(`/datasets/${d.id}/preview?rows=10`);
            previewRow.firstChild.replaceChildren(h('div', { class: 'preview' }, h('table', {}, h('thead', {}, h('tr', {}, p.columns.map((c) => h('th', {}, c)))),
              h('tbody', {}, p.rows.map((r) => h('tr', {}, p.columns.map((c) => h('td', {}, r[c] ?? ''))))))));
            previewRow.hidden = false;
          } }, 'Preview'),
          h('button', { onclick: () => download(`/datasets/${d.id}/download`, d.file_name).catch((e) => error.replaceChildren(problemBox(e))) }, 'Download'),
          h('button', { class: 'danger', onclick: async () => {
            if (!confirm(`Delete dataset ${d.name}?`)) return;
            try { await api(`/datasets/${d.id}`, { method: 'DELETE' }); await load(); } catch (e) { error.replaceChildren(problemBox(e)); }
          } }, 'Delete'))), previewRow];
    }));
  }
  const upload = h('input', { type: 'file', onchange: async (e) => {
    const form = new FormData();
    form.append('file', e.target.files[0]);
    try { await api('/datasets', { method: 'POST', form }); error.replaceChildren(); await load(); } catch (err) { error.replaceChildren(problemBox(err)); }
  } });
  view.append(h('div', { class: 'row' }, h('h1', {}, 'Datasets'), h('label', { style: 'margin-left:auto' }, 'Upload ', upload)), error,
    h('table', { id: 'datasets' }, h('thead', {}, h('tr', {}, ['Name', 'Format', 'Rows', 'Columns', 'Size', ''].map((c) => h('th', {}, c)))), body));
  await load();
}

function lineage(m, byId) {
  return [
    m.source_job_id ? h('div', {}, 'trained by ', h('a', { href: `#/jobs/${m.source_job_id}` }, `job ${shortId(m.source_job_id)}`))
      : m.hub ? h('div', { class: 'muted', title: `revision ${m.hub.revision}` }, `pulled from ${m.hub.id} @ ${m.hub.commit_sha.slice(0, 7)}`)
      : h('div', { class: 'muted' }, 'imported'),
    m.base_model_id ? h('div', {}, 'from ', h('a', { href: `#/models/${m.base_model_id}` }, byId?.get(m.base_model_id)?.name || shortId(m.base_model_id))) : null,
  ];
}

/** A Hub pull shows its progress until it is ready, or why it failed. */
function modelSize(m) {
  if (m.status === 'importing') {
    const p = m.progress;
    return h('span', { class: 'muted' }, p && p.bytes_total ? `importing ${Math.floor(100 * p.bytes_done / p.bytes_total)}%` : 'importing');
  }
  if (m.status === 'failed') return h('span', { class: 'danger', title: m.error || '' }, 'import failed');
  return fmtBytes(m.size_bytes);
}

async function modelsPage() {
  const body = h('tbody');
  const error = h('div');
  async function load() {
    const list = await api('/models?page_size=100');
    const byId = new Map(list.items.map((m) => [m.id, m]));
    body.replaceChildren(...list.items.map((m) => h('tr', { dataset: { model: m.id } },
      h('td', {}, h('a', { href: `#/models/${m.id}` }, m.name), h('div', { class: 'muted' }, shortId(m.id))),
      h('td', {}, m.architecture || '–'), h('td', {}, lineage(m, byId)), h('td', {}, modelSize(m)), h('td', { class: 'muted' }, fmtTime(m.created_at)),
      h('td', { class: 'actions' },
        h('a', { class: 'button', href: `#/models/${m.id}` }, 'Playground'),
        h('button', { onclick: () => download(`/models/${m.id}/download`, `model-${m.id}.zip`).catch((e) => error.replaceChildren(problemBox(e))) }, 'Download'),
        h('button', { class: 'danger', onclick: async () => {
          if (!confirm(`Delete model ${m.name}?`)) return;
          try { await api(`/models/${m.id}`, { method: 'DELETE' }); await load(); } catch (e) { error.replaceChildren(problemBox(e)); }
        } }, 'Delete')))));
  }
  view.append(h('h1', {}, 'Models'), error,
    h('table', { id: 'models' }, h('thead', {}, h('tr', {}, ['Name', 'Architecture', 'Lineage', 'Size', 'Created', ''].map((c) => h('th', {}, c)))), body));
  await load();
}

function renderPrediction(kind, p, input) {
  switch (kind) {
    case 'sequence_classification':
    case 'multi_label_classification':
      return h('div', { class: 'scores' }, h('div', {}, 'label: ', h('b', { class: 'label' }, (p.labels || [p.label]).join(', '))),
        Object.entries(p.scores).sort((a, b) => b[1] - a[1]).map(([label, score]) => h('div', { class: 'score' },
          h('span', {}, label), h('div', { class: 'bar' }, h('div', { style: `width:${100 * score}%` })), h('span', {}, score.toFixed(3)))));
    case 'regression':
      return h('div', {}, 'value: ', h('b', { class: 'value' }, fmtNum(p.value)));
    case 'token_classification': {
      const parts = [];
      let at = 0;
      for (const e of p.entities) {
        parts.push(input.slice(at, e.start), h('mark', { title: `${e.entity} ${e.score.toFixed(3)}` }, input.slice(e.start, e.end), h('small', {}, e.entity)));
        at = e.end;
      }
      parts.push(input.slice(at));
      return h('div', { class: 'entities' }, parts, p.entities.length ? null : h('div', { class: 'muted' }, 'no entities'));
    }
    case 'mlm':
      return h('div', { class: 'masks' }, p.masks.length ? p.masks.map((m) => h('div', {}, `[MASK] at ${m.position}: `,
        m.candidates.map((c) => h('span', { class: 'badge candidate' }, `${c.token} ${c.score.toFixed(3)}`)))) : h('div', { class: 'muted' }, 'put [MASK] in the text'));
    case 'clm':
      return h('div', { class: 'generated' }, input, h('b', {}, p.generated_text.slice(input.length)));
    default:
      return h('pre', {}, JSON.stringify(p, null, 2));
  }
}

async function modelPage(id) {
  const [m, list] = await Promise.all([api(`/models/${id}`), api('/models?page_size=100')]);
  const arch = m.architecture || '';
  const generative = /LMHead|CausalLM/.test(arch), masked = /MaskedLM|PreTraining/.test(arch);
  const pairs = /SequenceClassification/.test(arch);
  const text = h('textarea', { id: 'playground-text', placeholder: generative ? 'A prompt' : masked ? 'Text with [MASK]' : 'Text' });
  const pair = pairs ? h('input', { id: 'playground-pair', placeholder: 'optional second text (text_pair)', style: 'width:100%' }) : null;
  const options = generative
    ? { max_new_tokens: 20, do_sample: false, temperature: '', top_k: '', top_p: '', seed: '' }
    : masked ? { top_k: 5 } : {};
  const optionInputs = Object.entries(options).map(([k, v]) => [k, typeof v === 'boolean'
    ? h('input', { type: 'checkbox', name: k }) : h('input', { type: 'number', step: 'any', name: k, value: v, style: 'width:90px' })]);
  const result = h('div', { id: 'playground-result', class: 'card' });
  const predict = h('button', { class: 'primary', id: 'predict', onclick: async () => {
    const body = { inputs: pair && pair.value ? { text: text.value, text_pair: pair.value } : text.value };
    for (const [k, input] of optionInputs) {
      if (input.type === 'checkbox') { if (input.checked) body[k] = true; } else if (input.value !== '') body[k] = Number(input.value);
    }
    predict.disabled = true;
    try {
      const r = await api(`/models/${id}/predict`, { method: 'POST', json: body });
      result.replaceChildren(h('div', { class: 'muted' }, r.kind), renderPrediction(r.kind, r.predictions[0], text.value));
      result.dataset.kind = r.kind;
    } catch (e) { result.replaceChildren(problemBox(e)); }
    predict.disabled = false;
  } }, 'Predict');
  view.append(
    h('h1', {}, m.name), h('div', { class: 'muted' }, `${arch} · ${m.model_type || ''} · ${fmtBytes(m.size_bytes)} · ${m.files.join(', ')}`),
    h('div', {}, lineage(m, new Map(list.items.map((x) => [x.id, x])))),
    h('h2', {}, 'Playground'),
    h('div', { class: 'card', id: 'playground' }, text, pair,
      optionInputs.length ? h('div', { class: 'row', style: 'margin:8px 0' }, optionInputs.map(([k, input]) => h('label', {}, `${k} `, input))) : null,
      h('div', { style: 'margin-top:8px' }, predict)),
    result);
}

// ---- sign-in -------------------------------------------------------------------------------------------------

async function showTenant() {
  const tenant = document.getElementById('tenant');
  tenant.textContent = '';
  if (!apiKey()) return;
  try { const me = await api('/tenants/me'); tenant.textContent = me.name || ''; } catch { tenant.textContent = ''; }
}

document.getElementById('signin').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('api-key');
  if (input.value) localStorage.setItem('fts_api_key', input.value.trim()); else localStorage.removeItem('fts_api_key');
  input.value = '';
  showTenant();
  route();
});

window.addEventListener('hashchange', route);
showTenant();
route();
