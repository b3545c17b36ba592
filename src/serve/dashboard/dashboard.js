/*
 * The dashboard of `llamonitor serve`: reads only the REST API and the live
 * stream of the server it came from, draws with uPlot (bundled, no CDN).
 * Every value from the store is put in the page as text, never as HTML.
 */
(() => {
  'use strict';

  const RANGES = { '1h': 3600e3, '6h': 6 * 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
  /** The bucket each range is drawn with: 60 to 360 points. */
  const BUCKETS = { '1h': '1m', '6h': '1m', '24h': '1h', '7d': '1h', '30d': '1d' };
  const BUCKET_SECONDS = { '1m': 60, '1h': 3600, '1d': 86400 };
  const COLORS = ['#3867d6', '#20bf6b', '#fa8231', '#8854d0', '#eb3b5a', '#0fb9b1', '#f7b731', '#4b6584'];
  const LIVE_ROWS = 50;
  const controls = document.getElementById('controls');
  const statusLine = document.getElementById('status');
  const charts = {};
  let token = sessionStorage.getItem('llamonitor-token') || '';
  let liveController;
  let generation = 0;

  const byId = (id) => document.getElementById(id);
  const settings = () => Object.fromEntries(new FormData(controls));

  function range() {
    const to = new Date();
    const from = new Date(to.getTime() - RANGES[settings().range]);
    return { from: from.toISOString(), to: to.toISOString() };
  }

  function query(extra) {
    const { model, provider } = settings();
    const params = new URLSearchParams({ ...range(), ...extra });
    if (model) params.set('model', model);
    if (provider) params.set('provider', provider);
    return params.toString();
  }

  async function api(path) {
    const response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    if (response.status === 401) {
      byId('token-form').hidden = false;
      throw new Error('this server needs its token');
    }
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }

  const number = (value, digits = 0) =>
    value === null || value === undefined
      ? '–'
      : Number(value).toLocaleString('en-US', {
          maximumFractionDigits: digits,
          minimumFractionDigits: digits,
        });
  const dollars = (value) => (value === null || value === undefined ? '–' : `$${Number(value).toFixed(4)}`);
  const percent = (value) => `${(100 * value).toFixed(1)}%`;
  const time = (iso) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    row.append(td);
    return td;
  }

  /** A table from rows: `columns` as [heading, value(row), numeric?]; `onClick(row)` makes rows clickable. */
  function fillTable(table, columns, rows, onClick, rowClass) {
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    for (const [heading, , numeric] of columns) {
      const th = document.createElement('th');
      th.textContent = heading;
      if (numeric) th.className = 'number';
      head.append(th);
    }
    const body = table.createTBody();
    for (const item of rows) {
      const row = body.insertRow();
      if (rowClass) row.className = rowClass(item);
      for (const [, value, numeric] of columns) cell(row, value(item), numeric ? 'number' : '');
      if (onClick) {
        row.classList.add('clickable');
        row.addEventListener('click', () => onClick(item));
      }
    }
    table.dataset.rows = String(rows.length);
  }

  function totalsOf(groups) {
    const sum = (key) => groups.reduce((total, group) => total + (group[key] || 0), 0);
    const priced = groups.some((group) => group.cost_usd !== null);
    return {
      calls: sum('calls'),
      errors: sum('errors'),
      cost: priced ? sum('cost_usd') : null,
      input: sum('input_tokens'),
      output: sum('output_tokens'),
      cacheRead: sum('cache_read_tokens'),
    };
  }

  function showTotals(groups, overall) {
    const totals = totalsOf(groups);
    const latency = overall ? overall.latency_ms : { p50: null, p95: null };
    const ttft = overall ? overall.ttft_ms : { p50: null };
    const cards = [
      ['calls', 'Calls', number(totals.calls), totals.calls],
      [
        'errors',
        'Errors',
        `${number(totals.errors)} (${totals.calls ? percent(totals.errors / totals.calls) : '–'})`,
        totals.errors,
      ],
      ['cost', 'Cost', dollars(totals.cost), totals.cost],
      ['input-tokens', 'Input tokens', number(totals.input), totals.input],
      ['output-tokens', 'Output tokens', number(totals.output), totals.output],
      [
        'cache-share',
        'Cache read share',
        totals.input ? percent(totals.cacheRead / totals.input) : '–',
        totals.cacheRead,
      ],
      ['latency-p50', 'Latency p50', `${number(latency.p50)} ms`, latency.p50],
      ['latency-p95', 'Latency p95', `${number(latency.p95)} ms`, latency.p95],
      ['ttft-p50', 'Time to first token p50', `${number(ttft.p50)} ms`, ttft.p50],
    ];
    const section = byId('totals');
    section.replaceChildren();
    for (const [key, label, text, value] of cards) {
      const card = document.createElement('div');
      card.className = 'card';
      card.dataset.metric = key;
      card.dataset.value = value === null || value === undefined ? '' : String(value);
      const labelElement = document.createElement('div');
      labelElement.className = 'label';
      labelElement.textContent = label;
      const valueElement = document.createElement('div');
      valueElement.className = 'value';
      valueElement.textContent = text;
      card.append(labelElement, valueElement);
      section.append(card);
    }
  }

  /** A uPlot line chart in `id`: x in epoch seconds, one series per [label, values]. */
  function drawChart(id, xs, series, yLabel) {
    const element = byId(id);
    charts[id]?.destroy();
    delete charts[id];
    element.replaceChildren();
    element.dataset.points = String(xs.length);
    element.dataset.series = String(series.length);
    if (xs.length === 0) {
      const empty = document.createElement('div');
      empty.className = 'empty';
      empty.textContent = 'no calls in this range';
      element.append(empty);
      return;
    }
    const options = {
      width: Math.max(element.clientWidth, 300),
      height: 220,
      series: [
        { value: (_u, seconds) => (seconds === null ? '' : time(new Date(seconds * 1000).toISOString())) },
        ...series.map(([label], index) => ({
          label,
          stroke: COLORS[index % COLORS.length],
          width: 1.5,
          spanGaps: false,
          points: { show: xs.length < 60 },
        })),
      ],
      axes: [{}, { label: yLabel, size: 60 }],
      scales: { x: { time: true } },
      legend: { live: true },
    };
    charts[id] = new uPlot(options, [xs, ...series.map(([, values]) => values)], element);
  }

  /** Every bucket start of the range (epoch seconds): a bucket without calls is drawn as none, not skipped. */
  function bucketGrid(bucket) {
    const width = BUCKET_SECONDS[bucket];
    const { from, to } = range();
    const first = Math.floor(Date.parse(from) / 1000 / width) * width;
    const grid = [];
    for (let at = first; at < Date.parse(to) / 1000; at += width) grid.push(at);
    return grid;
  }

  function drawTimeseries(bucket, points, byModel) {
    const xs = bucketGrid(bucket);
    const at = new Map(points.map((point) => [Date.parse(point.bucket) / 1000, point]));
    const count = (pick) => xs.map((x) => (at.has(x) ? pick(at.get(x)) : 0));
    const measured = (pick) => xs.map((x) => (at.has(x) ? pick(at.get(x)) : null));
    drawChart(
      'chart-calls',
      xs,
      [
        ['calls', count((p) => p.calls)],
        ['errors', count((p) => p.errors)],
      ],
      'calls',
    );
    drawChart(
      'chart-latency',
      xs,
      [
        ['latency p50', measured((p) => p.latency_ms.p50)],
        ['latency p95', measured((p) => p.latency_ms.p95)],
        ['latency p99', measured((p) => p.latency_ms.p99)],
        ['first token p50', measured((p) => p.ttft_ms.p50)],
        ['first token p95', measured((p) => p.ttft_ms.p95)],
      ],
      'ms',
    );
    drawChart(
      'chart-tokens',
      xs,
      [
        ['input', count((p) => p.input_tokens)],
        ['output', count((p) => p.output_tokens)],
        ['cache read', count((p) => p.cache_read_tokens)],
      ],
      'tokens',
    );
    const models = [...new Set(byModel.map((point) => point.group))];
    const cost = new Map(
      byModel.map((point) => [`${point.group}\u0000${Date.parse(point.bucket) / 1000}`, point.cost_usd]),
    );
    drawChart(
      'chart-cost',
      xs,
      models.map((model) => [model, xs.map((x) => cost.get(`${model}\u0000${x}`) ?? 0)]),
      'USD',
    );
    const called = points.reduce((total, point) => total + point.calls, 0);
    byId('chart-calls').dataset.calls = String(called);
  }

  function fillChoices(select, values) {
    const chosen = select.value;
    const known = new Set([...select.options].map((option) => option.value));
    for (const value of values) {
      if (known.has(value)) continue;
      const option = document.createElement('option');
      option.value = value;
      option.textContent = value;
      select.append(option);
    }
    select.value = chosen;
  }

  const groupColumns = [
    ['group', (g) => g.group],
    ['calls', (g) => number(g.calls), true],
    ['errors', (g) => number(g.errors), true],
    ['error %', (g) => percent(g.error_rate), true],
    ['input tokens', (g) => number(g.input_tokens), true],
    ['output tokens', (g) => number(g.output_tokens), true],
    ['cache read', (g) => number(g.cache_read_tokens), true],
    ['cost', (g) => dollars(g.cost_usd), true],
    ['p50 ms', (g) => number(g.latency_ms.p50), true],
    ['p95 ms', (g) => number(g.latency_ms.p95), true],
    ['p99 ms', (g) => number(g.latency_ms.p99), true],
    ['TTFT p50', (g) => number(g.ttft_ms.p50), true],
  ];

  const callColumns = [
    ['time (UTC)', (c) => time(c.timestamp)],
    ['operation', (c) => c.operation_name],
    ['model', (c) => c.model ?? ''],
    ['ms', (c) => number(c.duration_ms), true],
    ['TTFT', (c) => number(c.time_to_first_token_ms), true],
    ['in', (c) => number(c.input_tokens), true],
    ['out', (c) => number(c.output_tokens), true],
    ['cost', (c) => dollars(c.cost_usd), true],
    ['error', (c) => c.error ?? ''],
  ];

  async function load() {
    const mine = ++generation;
    statusLine.textContent = 'loading…';
    try {
      const { by, range: chosen } = settings();
      const bucket = BUCKETS[chosen];
      const [grouped, overall, series, byModel, sessions, users, models, providers] = await Promise.all([
        api(`/api/summary?${query({ by })}`),
        api(`/api/summary?${query({})}`),
        api(`/api/timeseries?${query({ bucket })}`),
        api(`/api/timeseries?${query({ bucket, by: 'model' })}`),
        api(`/api/sessions?${query({ sort: 'cost', limit: '10' })}`),
        api(`/api/summary?${query({ by: 'user' })}`),
        api(`/api/summary?${new URLSearchParams({ ...range(), by: 'model' })}`),
        api(`/api/summary?${new URLSearchParams({ ...range(), by: 'provider' })}`),
      ]);
      if (mine !== generation) return;
      fillChoices(
        controls.elements.model,
        models.groups.map((g) => g.group),
      );
      fillChoices(
        controls.elements.provider,
        providers.groups.map((g) => g.group),
      );
      showTotals(overall.groups, overall.groups[0]);
      drawTimeseries(bucket, series.points, byModel.points);
      byId('by-label').textContent = controls.elements.by.selectedOptions[0].textContent;
      fillTable(byId('groups'), groupColumns, grouped.groups);
      fillTable(
        byId('sessions'),
        [
          ['session', (s) => s.session_id],
          ['user', (s) => s.user_id ?? ''],
          ['calls', (s) => number(s.calls), true],
          ['cost', (s) => dollars(s.cost_usd), true],
          ['last seen', (s) => time(s.last_seen)],
        ],
        sessions.sessions,
        (s) => openSession(s.session_id),
      );
      fillTable(
        byId('users'),
        [
          ['user', (g) => g.group],
          ['calls', (g) => number(g.calls), true],
          ['cost', (g) => dollars(g.cost_usd), true],
        ],
        users.groups,
      );
      statusLine.textContent = `${range().from.slice(0, 16)}Z – ${range().to.slice(0, 16)}Z, buckets of ${series.bucket}`;
      document.body.dataset.loaded = String(mine);
    } catch (error) {
      if (mine === generation) statusLine.textContent = `could not load: ${error.message}`;
    }
  }

  async function openSession(id) {
    const session = await api(`/api/sessions/${encodeURIComponent(id)}`);
    byId('session-view').hidden = false;
    byId('session-id').textContent = id;
    const columns = [
      ...callColumns,
      ['trace', (c) => c.trace_id.slice(0, 12) + '…'],
      ['prompt', (c) => c.prompt ?? ''],
    ];
    fillTable(
      byId('session-calls'),
      columns,
      session.calls,
      (c) => openTrace(c.trace_id),
      (c) => (c.error ? 'failed' : ''),
    );
    byId('session-view').scrollIntoView();
  }

  async function openTrace(id) {
    const trace = await api(`/api/traces/${encodeURIComponent(id)}`);
    const rows = [];
    const walk = (node, depth) => {
      rows.push({ node, depth });
      for (const child of node.children) walk(child, depth + 1);
    };
    for (const root of trace.spans) walk(root, 0);
    const start = Math.min(...rows.map(({ node }) => Date.parse(node.timestamp)));
    const end = Math.max(...rows.map(({ node }) => Date.parse(node.timestamp) + (node.duration_ms || 0)));
    const total = Math.max(end - start, 1);
    const waterfall = byId('waterfall');
    waterfall.replaceChildren();
    for (const { node, depth } of rows) {
      const row = document.createElement('div');
      row.className = 'span-row';
      const name = document.createElement('div');
      name.className = 'span-name';
      name.style.paddingLeft = `${depth * 1.2}rem`;
      name.textContent = `${node.operation_name}${node.model ? ` · ${node.model}` : ''} · ${number(node.duration_ms)} ms`;
      const track = document.createElement('div');
      track.className = 'span-track';
      const bar = document.createElement('div');
      bar.className = node.error ? 'span-bar failed' : 'span-bar';
      bar.style.left = `${((Date.parse(node.timestamp) - start) / total) * 100}%`;
      bar.style.width = `${((node.duration_ms || 0) / total) * 100}%`;
      bar.title = node.error ?? '';
      track.append(bar);
      row.append(name, track);
      waterfall.append(row);
    }
    waterfall.dataset.spans = String(rows.length);
    byId('trace-id').textContent = id;
    byId('trace-view').hidden = false;
    byId('trace-view').scrollIntoView();
  }

  /** The live stream over fetch (so that a token can go in a header), read as Server-Sent Events. */
  async function follow() {
    liveController?.abort();
    const controller = new AbortController();
    liveController = controller;
    const { model } = settings();
    const state = byId('live-state');
    const table = byId('live');
    if (!table.tHead) fillTable(table, callColumns, []);
    try {
      const response = await fetch(`/api/live${model ? `?model=${encodeURIComponent(model)}` : ''}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let end;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event === 'ready') state.textContent = '(following)';
          if (event === 'error') state.textContent = `(${JSON.parse(data).error})`;
          if (event === 'calls') showLive(table, JSON.parse(data).calls);
        }
      }
    } catch (error) {
      if (error.name !== 'AbortError') state.textContent = `(stopped: ${error.message})`;
    }
  }

  function showLive(table, calls) {
    const body = table.tBodies[0];
    for (const call of calls) {
      const row = body.insertRow(0);
      row.dataset.eventId = call.event_id;
      if (call.error) row.className = 'failed';
      for (const [, value, numeric] of callColumns) cell(row, value(call), numeric ? 'number' : '');
    }
    while (body.rows.length > LIVE_ROWS) body.deleteRow(body.rows.length - 1);
    table.dataset.rows = String(body.rows.length);
  }

  controls.addEventListener('change', (event) => {
    void load();
    if (event.target.name === 'model') void follow();
  });
  byId('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = new FormData(event.target).get('token');
    sessionStorage.setItem('llamonitor-token', token);
    byId('token-form').hidden = true;
    void load();
    void follow();
  });
  void load();
  void follow();
})();
