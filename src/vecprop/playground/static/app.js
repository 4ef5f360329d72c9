// vecprop playground: the page. It draws what the server's JSON API answers (see docs/playground.md);
// every number on it comes from vecprop. Plain JavaScript, no dependencies.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const COLORS = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const $ = (id) => document.getElementById(id);

const state = {
  options: null, session: null, info: null, events: null, points: [], boundary: null,
  running: false, inspect: null, stages: [], shown: 0, buildTimer: null, csv: "", csvName: "data.csv", building: 0,
};

// ------------------------------------------------------------------------------------------ API
async function api(method, path, body) {
  const response = await fetch("/api/" + path, {
    method, headers: { "X-Vecprop-Token": TOKEN, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data;
  try { data = await response.json(); } catch (e) { data = { error: `${response.status} ${response.statusText}` }; }
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function guarded(fn) {
  try { showError(""); return await fn(); } catch (e) { showError(e.message); return undefined; }
}

// ------------------------------------------------------------------------------------------ build
function fillSelect(select, names, value) {
  select.innerHTML = names.map((n) => `<option value="${n}">${n}</option>`).join("");
  if (value !== undefined) select.value = value;
}

function parseHidden() {
  const text = $("hidden").value.trim();
  if (text === "") return [];
  return text.split(",").map((s) => Number(s.trim()));
}

function renderActivationSelects() {
  const hidden = parseHidden();
  const box = $("activations");
  const old = [...box.querySelectorAll("select")].map((s) => s.value);
  const L = hidden.length + 1;
  const outputDefault = { categorical_cross_entropy: "softmax", mse: "linear" }[$("loss").value] || "sigmoid";
  const oldHidden = old.slice(0, -1), oldOutput = old[old.length - 1];
  box.innerHTML = "";
  for (let l = 1; l <= L; l++) {
    const label = document.createElement("label");
    label.textContent = l === L ? `g[${l}] (output)` : `g[${l}]`;
    const select = document.createElement("select");
    select.id = `g${l}`;
    // hidden layers keep their g (new ones take the first hidden layer's); the output keeps its own
    fillSelect(select, state.options.activations, l === L ? (oldOutput || outputDefault) : (oldHidden[l - 1] || oldHidden[0] || "tanh"));
    select.addEventListener("change", scheduleBuild);
    label.appendChild(select);
    box.appendChild(label);
  }
}

function numberOf(id) {
  const text = $(id).value.trim();
  return text === "" ? NaN : Number(text);
}

function readConfig() {
  const config = {
    dataset: $("dataset").value, n_samples: numberOf("n_samples"), seed: numberOf("seed"), hidden: parseHidden(),
    activations: [...$("activations").querySelectorAll("select")].map((s) => s.value),
    loss: $("loss").value, initializer: $("initializer").value, learning_rate: numberOf("learning_rate"),
    optimizer: $("optimizer").value, batch_size: numberOf("batch_size"), l2: numberOf("l2"),
    keep_prob: numberOf("keep_prob"), validation_fraction: numberOf("validation_fraction"),
    standardize: $("standardize").checked,
  };
  if (config.dataset === "csv") { config.csv = state.csv; config.csv_name = state.csvName; }
  // the server checks every value; NaN is not JSON, so an empty or non-numeric box is sent as its text
  for (const key of ["n_samples", "seed", "learning_rate", "batch_size", "l2", "keep_prob", "validation_fraction"]) {
    if (Number.isNaN(config[key])) config[key] = $(key).value;
  }
  config.hidden = config.hidden.map((n, i) => (Number.isNaN(n) ? $("hidden").value.split(",")[i].trim() : n));
  return config;
}

function scheduleBuild() {
  clearTimeout(state.buildTimer);
  state.buildTimer = setTimeout(build, 250);
}

async function build() {
  const ticket = ++state.building;
  if (state.session && state.running) api("POST", `session/${state.session}/train`, { action: "pause" }).catch(() => {});
  const info = await guarded(() => api("POST", "session", readConfig()));
  if (!info || ticket !== state.building) return;
  if (state.events) state.events.close();
  state.session = info.session;
  state.info = info;
  state.points = [];
  state.inspect = null;
  state.stages = [];
  state.shown = 0;
  renderTable(info);
  $("batch-index").max = info.n_batches - 1;
  $("batch-index").value = 0;
  $("export-model").href = `/api/session/${info.session}/model?token=${encodeURIComponent(TOKEN)}`;
  $("export-python").href = `/api/session/${info.session}/python?token=${encodeURIComponent(TOKEN)}`;
  $("gradcheck-result").innerHTML = "";
  applyProgress(info.progress, true);
  listen();
  await loadBatch();
  document.body.dataset.ready = info.session;
}

function renderTable(info) {
  const tbody = $("dims").querySelector("tbody");
  tbody.innerHTML = info.table.map((r) =>
    `<tr data-variable="${r.variable}"><td>${r.variable}</td><td>(${r.shape.join(", ")})</td><td>${r.note}</td></tr>`).join("");
  $("table-m").textContent = `m = ${info.batch_size} (a mini-batch)`;
  $("n-params").textContent = `Network [${info.layer_dims.join(", ")}], ${info.n_params} parameters; loss ${info.loss}; ` +
    `${info.m_train} training and ${info.m_val} validation examples, ${info.n_batches} mini-batch(es) per epoch`;
}

// ------------------------------------------------------------------------------------------ training
function listen() {
  const source = new EventSource(`/api/session/${state.session}/events?token=${encodeURIComponent(TOKEN)}`);
  const session = state.session;
  source.addEventListener("progress", (e) => { if (session === state.session) applyProgress(JSON.parse(e.data), false); });
  source.addEventListener("reset", (e) => { if (session === state.session) applyProgress(JSON.parse(e.data), true); });
  source.addEventListener("error", (e) => { if (e.data && session === state.session) showError(JSON.parse(e.data).message); });
  source.addEventListener("closed", (e) => { showError(JSON.parse(e.data).message); source.close(); });
  state.events = source;
}

function applyProgress(p, reset) {
  if (reset) state.points = [];
  for (const point of p.points) state.points[point.i] = point;
  state.boundary = p.boundary;
  const stopped = state.running && !p.running;
  state.running = p.running;
  if (stopped) { $("batch-index").value = p.batch; loadBatch(); showPython(); }   // show the trained weights
  $("play").textContent = p.running ? "❚❚ pause" : "▶ play";
  for (const id of ["step", "epoch"]) $(id).disabled = p.running;
  const last = state.points[state.points.length - 1] || {};
  const fmt = (v, d = 4) => (v === undefined || v === null ? "—" : v.toFixed(d));
  $("counters").textContent = `epoch ${fmt(last.epoch, 2)} · ${last.updates || 0} updates · cost ${fmt(last.loss)}` +
    (last.val_loss !== undefined ? ` · val cost ${fmt(last.val_loss)}` : "") +
    (last.accuracy !== undefined ? ` · accuracy ${fmt(last.accuracy, 3)}` : "") +
    (last.val_accuracy !== undefined ? ` · val accuracy ${fmt(last.val_accuracy, 3)}` : "");
  $("status").textContent = p.running ? "training…" : "";
  if (p.message) showError(p.message);
  drawBoundary();
  drawCurves();
}

async function train(action) {
  if (!state.session) return;
  const speed = Number($("speed").value);
  const p = await guarded(() => api("POST", `session/${state.session}/train`, { action, speed }));
  if (!p) return;
  applyProgress(p, action === "reset");
  if (action !== "play") showPython();
  if (action === "step" || action === "epoch" || action === "reset") {
    if (action !== "epoch") $("batch-index").value = p.batch;
    await loadBatch();
  }
}

// ------------------------------------------------------------------------------------------ drawing
function hexRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function drawBoundary() {
  const canvas = $("boundary");
  const ctx = canvas.getContext("2d");
  const b = state.boundary;
  const info = state.info;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!b || !info) return;
  const W = canvas.width, H = canvas.height, n = b.n;
  const K = info.classes.length;
  const image = ctx.createImageData(n, n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const k = r * n + c;
      const out = b.output[k];
      let rgb, strength;
      if (K === 2 && info.layer_dims[info.layer_dims.length - 1] === 1) {
        const c0 = hexRgb(COLORS[0]), c1 = hexRgb(COLORS[1]);
        const t = Math.min(1, Math.max(0, out));
        rgb = c0.map((v, i) => v + (c1[i] - v) * t);
        strength = Math.abs(t - 0.5) * 2;
      } else {
        rgb = hexRgb(COLORS[b.predicted[k] % COLORS.length]);
        strength = Math.max(0, (out - 1 / K) / (1 - 1 / K));
      }
      const a = 0.15 + 0.55 * strength;
      const o = ((n - 1 - r) * n + c) * 4;                 // row r of the lattice is y = ys[r], y grows upward
      for (let i = 0; i < 3; i++) image.data[o + i] = Math.round(255 + (rgb[i] - 255) * a);
      image.data[o + 3] = 255;
    }
  }
  const off = document.createElement("canvas");
  off.width = n; off.height = n;
  off.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, W, H);
  const sx = (x) => ((x - b.x[0]) / (b.x[1] - b.x[0])) * W;
  const sy = (y) => H - ((y - b.y[0]) / (b.y[1] - b.y[0])) * H;
  const dots = (pts, hollow) => {
    if (!pts) return;
    for (let i = 0; i < pts.y.length; i++) {
      ctx.beginPath();
      ctx.arc(sx(pts.x[0][i]), sy(pts.x[1][i]), 3, 0, 2 * Math.PI);
      ctx.lineWidth = hollow ? 1.6 : 0.8;
      ctx.strokeStyle = hollow ? COLORS[pts.y[i] % COLORS.length] : "#fff";
      ctx.fillStyle = COLORS[pts.y[i] % COLORS.length];
      if (!hollow) ctx.fill();
      ctx.stroke();
    }
  };
  dots(info.train_points, false);
  dots(info.val_points, true);
  $("boundary-legend").innerHTML = info.classes.map((name, k) => `<i style="background:${COLORS[k % COLORS.length]}"></i>${name}`).join("") +
    " · dots: training set, rings: validation set";
}

function drawCurve(canvas, series, yMin, yMax) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = { l: 40, r: 8, t: 16, b: 18 };
  ctx.clearRect(0, 0, W, H);
  const pts = state.points.filter(Boolean);
  const xMax = Math.max(1, ...pts.map((p) => p.epoch));
  let lo = yMin, hi = yMax;
  if (lo === undefined) {
    const vals = pts.flatMap((p) => series.map((s) => p[s.key])).filter((v) => v !== undefined && v !== null);
    lo = Math.min(0, ...vals); hi = Math.max(1e-9, ...vals);
  }
  const X = (x) => pad.l + (x / xMax) * (W - pad.l - pad.r);
  const Y = (y) => H - pad.b - ((y - lo) / (hi - lo || 1)) * (H - pad.t - pad.b);
  ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#777"; ctx.font = "10px sans-serif"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(pad.l, pad.t); ctx.lineTo(pad.l, H - pad.b); ctx.lineTo(W - pad.r, H - pad.b); ctx.stroke();
  ctx.fillText(hi.toPrecision(3), 2, pad.t + 4);
  ctx.fillText(lo.toPrecision(3), 2, H - pad.b);
  ctx.fillText(`epoch ${xMax.toFixed(xMax < 10 ? 1 : 0)}`, W - pad.r - 60, H - 4);
  let x0 = pad.l + 40;
  for (const s of series) {
    const have = pts.filter((p) => p[s.key] !== undefined && p[s.key] !== null);
    if (!have.length) continue;
    ctx.strokeStyle = s.color; ctx.setLineDash(s.dash || []); ctx.lineWidth = 1.6;
    ctx.beginPath();
    have.forEach((p, i) => (i ? ctx.lineTo(X(p.epoch), Y(p[s.key])) : ctx.moveTo(X(p.epoch), Y(p[s.key]))));
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = s.color; ctx.fillText(s.label, x0, 10); x0 += 60;   // the legend, above the plot
  }
}

function drawCurves() {
  drawCurve($("cost-curve"), [{ key: "loss", label: "train", color: "#333" }, { key: "val_loss", label: "validation", color: "#d62728", dash: [4, 3] }]);
  drawCurve($("acc-curve"), [{ key: "accuracy", label: "train", color: "#333" }, { key: "val_accuracy", label: "validation", color: "#d62728", dash: [4, 3] }], 0, 1);
}

// At most five characters: 0.91, -0.27, 12.3, 4e-3 (hovering shows six significant digits).
function short(v) {
  const a = Math.abs(v);
  if (v === 0) return "0";
  if (a < 0.01) return v.toExponential(0);
  if (a < 10) return v.toFixed(2);
  if (a < 1000) return v.toPrecision(3);
  return v.toExponential(0).replace("e+", "e");
}

// A matrix as a heat-map: blue negative, red positive, white 0, scaled by its largest |value|; hover shows the value.
function heatmap(name, m, note) {
  const wrap = document.createElement("div");
  wrap.className = "mat";
  const [rows, cols] = m.shape.length === 2 ? m.shape : [m.shape[0], 1];
  const cell = Math.max(2, Math.min(34, Math.floor(300 / cols), Math.floor(170 / rows)));
  const canvas = document.createElement("canvas");
  canvas.width = cols * cell; canvas.height = rows * cell;
  canvas.dataset.name = name;
  canvas.dataset.shape = `${rows}x${cols}`;
  const ctx = canvas.getContext("2d");
  let max = 0;
  for (const row of m.values) for (const v of row) if (v !== null && Math.abs(v) > max) max = Math.abs(v);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = m.values[r][c];
      const t = v === null || max === 0 ? 0 : v / max;
      const a = Math.abs(t);
      const [R, G, B] = t >= 0 ? [255, 255 - 200 * a, 255 - 210 * a] : [255 - 210 * a, 255 - 140 * a, 255];
      ctx.fillStyle = v === null ? "#000" : `rgb(${R | 0},${G | 0},${B | 0})`;
      ctx.fillRect(c * cell, r * cell, cell, cell);
      if (cell >= 34 && v !== null) {
        ctx.fillStyle = a > 0.7 ? "#fff" : "#222"; ctx.font = "10px ui-monospace, monospace"; ctx.textAlign = "center";
        ctx.fillText(short(v), c * cell + cell / 2, r * cell + cell / 2 + 3);
      }
    }
  }
  canvas.addEventListener("mousemove", (e) => {
    const c = Math.floor((e.offsetX / canvas.clientWidth) * cols), r = Math.floor((e.offsetY / canvas.clientHeight) * rows);
    if (r < 0 || c < 0 || r >= rows || c >= cols) return;
    const v = m.values[r][c];
    const tip = $("tip");
    tip.textContent = `${name}[${r}, ${c}] = ${v === null ? "not finite" : v.toPrecision(6)}`;
    tip.style.left = `${e.clientX + 12}px`; tip.style.top = `${e.clientY + 12}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { $("tip").hidden = true; });
  const cap = document.createElement("div");
  cap.className = "cap";
  cap.textContent = `${name}  (${m.shape.join(", ")})${note ? "  " + note : ""}`;
  const range = document.createElement("div");
  range.className = "rng";
  range.textContent = `|max| ${max.toPrecision(3)}`;
  wrap.append(cap, canvas, range);
  return wrap;
}

// ------------------------------------------------------------------------------------------ one mini-batch
function stagesOf(d) {
  const L = d.layers.length, m = d.m, sub = (l) => `[${l}]`;
  const stages = [];
  for (const layer of d.layers) {
    const l = layer.l;
    const mats = [["W" + sub(l), layer.W], ["·"], [`A${sub(l - 1)}`, layer.A_prev], ["+"], ["b" + sub(l), layer.b, "broadcast over m columns"], ["="], ["Z" + sub(l), layer.Z]];
    stages.push({ kind: "fwd", tag: "(2)", eq: `Z[${l}] = W[${l}] A[${l - 1}] + b[${l}]`, mats });
    const a = [["A" + sub(l), layer.A]];
    if (layer.D) a.push(["D" + sub(l), layer.D, `dropout mask, keep_prob ${d.keep_prob}`]);
    stages.push({ kind: "fwd", tag: "(1)", eq: `A[${l}] = g(Z[${l}]),  g = ${layer.g}` + (layer.D ? `; then A[${l}] * D[${l}] / keep_prob` : ""), mats: a });
  }
  const l2 = d.l2 > 0 ? ` + λ/(2m) Σ‖W[l]‖²  (λ = ${d.l2})` : "";
  stages.push({ kind: "fwd", tag: "(3)", eq: `J = (1/m) Σᵢ L(y(i), A[L](i))${l2} = ${d.cost === null ? "not finite" : d.cost.toPrecision(6)}   with m = ${m}, loss ${d.loss}`,
    mats: [[`A[${L}]`, d.AL], [`Y`, d.Y]], cost: d.cost });
  for (let i = L - 1; i >= 0; i--) {
    const layer = d.layers[i], l = layer.l;
    if (l === L && d.fused_output) {
      stages.push({ kind: "bwd", tag: "BP4", eq: `dZ[${L}] = A[${L}] − Y   (dA[${L}] * g'(Z[${L}]) for ${layer.g} with ${d.loss})`, mats: [[`A[${L}]`, d.AL], ["−"], ["Y", d.Y], ["="], [`dZ[${L}]`, layer.dZ]] });
    } else {
      const dA = l === L ? null : d.layers[i + 1].dA_prev;
      const mats = dA ? [[`dA[${l}]`, dA], [`* g'(Z[${l}]) =`], [`dZ[${l}]`, layer.dZ]] : [[`dZ[${l}]`, layer.dZ]];
      stages.push({ kind: "bwd", tag: "BP4", eq: `dZ[${l}] = dA[${l}] * g'(Z[${l}]),  g = ${layer.g}` + (layer.D ? `  (dA[${l}] masked by D[${l}] / keep_prob)` : ""), mats });
    }
    const reg = d.l2 > 0 ? ` + (λ/m) W[${l}]` : "";
    stages.push({ kind: "bwd", tag: "BP1", eq: `dW[${l}] = (1/m) dZ[${l}] A[${l - 1}]ᵀ${reg}   with 1/m = 1/${m}`, mats: [["(1/" + m + ")"], [`dZ[${l}]`, layer.dZ], ["·"], [`A[${l - 1}]ᵀ`, transpose(layer.A_prev)], ["="], [`dW[${l}]`, layer.dW]] });
    stages.push({ kind: "bwd", tag: "BP2", eq: `db[${l}] = (1/m) Σᵢ dZ[${l}](i)   (the row sums of dZ[${l}] over the m = ${m} columns, / m)`, mats: [[`db[${l}]`, layer.db]] });
    if (layer.dA_prev) {
      stages.push({ kind: "bwd", tag: "BP3", eq: `dA[${l - 1}] = W[${l}]ᵀ dZ[${l}]   (no 1/m here)`, mats: [[`W[${l}]ᵀ`, transpose(layer.W)], ["·"], [`dZ[${l}]`, layer.dZ], ["="], [`dA[${l - 1}]`, layer.dA_prev]] });
    }
  }
  const rule = d.optimizer === "gd" ? "W[l] := W[l] − α dW[l],  b[l] := b[l] − α db[l]" : `the ${d.optimizer} update from dW[l], db[l]`;
  stages.push({ kind: "bwd", tag: "update", eq: `${rule}   (α = ${d.learning_rate}); the "step" button applies it to this mini-batch`, mats: [] });
  return stages;
}

function transpose(m) {
  const rows = m.values, out = rows[0].map((_, c) => rows.map((r) => r[c]));
  return { shape: [m.shape[1], m.shape[0]], values: out };
}

async function loadBatch() {
  if (!state.session) return;
  const batch = Number($("batch-index").value);
  const d = await guarded(() => api("POST", `session/${state.session}/inspect`, { batch: Number.isInteger(batch) ? batch : $("batch-index").value }));
  if (!d) return;
  state.inspect = d;
  state.stages = stagesOf(d);
  state.shown = Math.min(state.shown, state.stages.length);
  $("batch-info").textContent = `of ${d.n_batches}: training examples ${d.columns[0]}…${d.columns[1] - 1}, m = ${d.m}`;
  renderStages();
}

function renderStages() {
  const box = $("stages");
  box.innerHTML = "";
  state.stages.slice(0, state.shown).forEach((s, i) => {
    const div = document.createElement("div");
    div.className = `stage ${s.kind}`;
    div.dataset.index = i;
    div.dataset.tag = s.tag;
    const eq = document.createElement("div");
    eq.className = "eq";
    eq.innerHTML = `<b>${s.tag}</b>`;
    eq.appendChild(document.createTextNode(s.eq));
    const mats = document.createElement("div");
    mats.className = "mats";
    for (const [name, m, note] of s.mats) {
      if (m) mats.appendChild(heatmap(name, m, note));
      else { const op = document.createElement("span"); op.className = "op"; op.textContent = name; mats.appendChild(op); }
    }
    div.append(eq, mats);
    box.appendChild(div);
  });
  $("stage-info").textContent = `${state.shown} / ${state.stages.length} shown`;
  $("fwd-back").disabled = state.shown === 0;
  $("fwd-next").disabled = state.shown >= state.stages.length;
  if (state.shown) box.lastChild.scrollIntoView({ block: "nearest" });
}

// ------------------------------------------------------------------------------------------ gradient check
async function gradcheck() {
  if (!state.session) return;
  const box = $("gradcheck-result");
  box.textContent = "checking…";
  const r = await guarded(() => api("POST", `session/${state.session}/gradcheck`, { batch: Number($("batch-index").value) }));
  if (!r) { box.textContent = ""; return; }
  const verdict = (x) => (x !== null && x < r.threshold ? `<span class="pass">${x.toExponential(2)} ✓</span>`
    : `<span class="fail">${x === null ? "not finite" : x.toExponential(2)} ✗</span>`);
  const num = (x) => (x === null ? "not finite" : x.toPrecision(8));
  const dropout = state.inspect && state.inspect.keep_prob ? " (dropout off, as the course prescribes)" : "";
  box.innerHTML = `<p>mini-batch ${r.batch} (m = ${r.m}), ε = ${r.epsilon}${dropout}: overall relative difference ${verdict(r.difference)}</p>` +
    `<table id="gradcheck-table"><thead><tr><th>parameter</th><th>‖g − ĝ‖ / (‖g‖ + ‖ĝ‖)</th><th>worst entry: backprop g, numeric ĝ</th><th>backprop g</th><th>numeric ĝ</th></tr></thead><tbody></tbody></table>`;
  const tbody = box.querySelector("tbody");
  for (const p of r.parameters) {
    const tr = document.createElement("tr");
    tr.dataset.param = p.name;
    tr.innerHTML = `<td>d${p.name}</td><td class="diff">${verdict(p.difference)}</td><td>[${p.worst_index.join(", ")}]: ${num(p.analytic_at_worst)}, ${num(p.numeric_at_worst)}</td><td></td><td></td>`;
    tr.children[3].appendChild(heatmap(`d${p.name}`, p.backprop));
    tr.children[4].appendChild(heatmap(`d${p.name} (numeric)`, p.numeric));
    tbody.appendChild(tr);
  }
}

// ------------------------------------------------------------------------------------------ start
async function start() {
  const opts = await guarded(() => api("GET", "options"));
  if (!opts) return;
  state.options = opts;
  const d = opts.defaults;
  fillSelect($("dataset"), opts.datasets, d.dataset);
  fillSelect($("loss"), opts.losses, d.loss);
  fillSelect($("initializer"), opts.initializers, d.initializer);
  fillSelect($("optimizer"), opts.optimizers, d.optimizer);
  for (const key of ["n_samples", "seed", "learning_rate", "batch_size", "l2", "keep_prob", "validation_fraction"]) $(key).value = d[key];
  $("hidden").value = d.hidden.join(",");
  renderActivationSelects();
  $("activations").querySelectorAll("select").forEach((s, i) => { s.value = d.activations[i]; });

  for (const id of ["n_samples", "seed", "learning_rate", "batch_size", "l2", "keep_prob", "validation_fraction", "standardize", "initializer", "optimizer"]) {
    $(id).addEventListener("change", scheduleBuild);
  }
  $("hidden").addEventListener("change", () => { renderActivationSelects(); scheduleBuild(); });
  $("loss").addEventListener("change", () => {        // the output g that goes with the new loss
    const selects = $("activations").querySelectorAll("select");
    selects[selects.length - 1].value = { categorical_cross_entropy: "softmax", mse: "linear" }[$("loss").value] || "sigmoid";
    scheduleBuild();
  });
  $("dataset").addEventListener("change", () => {
    $("csv-row").hidden = $("dataset").value !== "csv";
    if ($("dataset").value !== "csv" || state.csv) scheduleBuild();
  });
  $("csv-file").addEventListener("change", async () => {
    const file = $("csv-file").files[0];
    if (!file) return;
    state.csv = await file.text();
    state.csvName = file.name;
    scheduleBuild();
  });
  $("play").addEventListener("click", () => train(state.running ? "pause" : "play"));
  for (const action of ["step", "epoch", "reset"]) $(action).addEventListener("click", () => train(action));
  $("fwd-next").addEventListener("click", () => { state.shown = Math.min(state.stages.length, state.shown + 1); renderStages(); });
  $("fwd-back").addEventListener("click", () => { state.shown = Math.max(0, state.shown - 1); renderStages(); });
  $("fwd-all").addEventListener("click", () => { state.shown = state.stages.length; renderStages(); });
  $("batch-index").addEventListener("change", loadBatch);
  $("gradcheck").addEventListener("click", gradcheck);
  $("export-python").addEventListener("mouseenter", showPython);
  await build();
  showPython();
}

async function showPython() {
  if (!state.session) return;
  const r = await fetch(`/api/session/${state.session}/python`, { headers: { "X-Vecprop-Token": TOKEN } });
  if (r.ok) $("python-code").textContent = await r.text();
}

start();
