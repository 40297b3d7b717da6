// Brim dashboard: polls /v1/stats every second and draws every chart on a <canvas> by hand (no chart library, no CDN).
// Each chart records how many data points it drew in data-points and in window.brimDashboard, so a browser test can
// tell a live chart from an empty one.
"use strict";

// The time axis grows with the data: 30 s, 1, 2 then 5 minutes (the length of the series /v1/stats keeps).
const SPANS = [[30, 5], [60, 10], [120, 20], [300, 60]];
const COLORS = { blue: "#5cc8ff", green: "#7ee787", orange: "#ffa657", purple: "#d2a8ff", red: "#ff7b72", yellow: "#e3b341" };
const pct = v => v == null ? null : v * 100;

// What each chart shows: series keys of /v1/stats, how to scale them, and when the chart cannot be drawn honestly.
const CHARTS = {
  "chart-throughput": { lines: [["outputTokensPerSecond", "output", COLORS.blue], ["prefillTokensPerSecond", "prefill (prompt)", COLORS.purple]] },
  "chart-occupancy": { yMax: 100, lines: [["occupancy", "batch occupancy", COLORS.green, pct], ["busyFraction", "engine busy", COLORS.yellow, pct]] },
  "chart-utilization": {
    lines: [["mfu", "MFU", COLORS.orange, pct], ["mbu", "MBU", COLORS.blue, pct]],
    unavailable: s => s.device.ceilings.peakFlopsPerSecond == null && s.device.ceilings.peakBytesPerSecond == null
      ? "n/a: the device's peak FLOP/s and bytes/s are unknown (configure them)" : null,
  },
  "chart-gpu": { yMax: 100, lines: [["gpuUtilization", "GPU busy", COLORS.red, pct]], unavailable: s => s.gpu.available ? null : s.gpu.status },
  "chart-queue": { lines: [["running", "running (all)", COLORS.green], ["waiting", "waiting (all)", COLORS.red],
    ["runningOffline", "running offline", COLORS.blue], ["waitingOffline", "waiting offline", COLORS.orange]] },
  "chart-latency": {
    lines: [["ttftOnline", "TTFT online", COLORS.blue], ["ttftOffline", "TTFT offline", COLORS.purple],
            ["e2eOnline", "E2E online", COLORS.green], ["e2eOffline", "E2E offline", COLORS.orange]],
  },
  "chart-cost": {
    lines: [["costPerMillionOutputTokens", "$ / 1M output tokens", COLORS.yellow]],
    unavailable: s => s.device.hourlyCost == null ? "n/a: " + s.device.hourlyCostSource : null,
  },
};

const state = window.brimDashboard = { polls: 0, errors: 0, lastError: null, charts: {} };

function fmt(v, unit, digits) {
  if (v == null || !isFinite(v)) return "n/a";
  const a = Math.abs(v);
  const [scaled, prefix] = a >= 1e12 ? [v / 1e12, "T"] : a >= 1e9 ? [v / 1e9, "G"] : a >= 1e6 ? [v / 1e6, "M"] : a >= 1e4 ? [v / 1e3, "k"] : [v, ""];
  const b = Math.abs(scaled);
  const s = b === 0 ? "0" : prefix ? scaled.toFixed(b >= 100 ? 0 : 1) : b >= 100 || digits === 0 ? scaled.toFixed(0) : b >= 1 ? scaled.toFixed(digits ?? 1) : scaled.toPrecision(2);
  if (unit === "$") return "$" + s + prefix;
  if (unit === "%") return s + "%";
  return unit ? s + " " + prefix + unit : s + prefix;
}

function niceStep(max) {
  const raw = max / 4, mag = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

function setupChart(fig) {
  if (fig.querySelector("canvas")) return;
  fig.innerHTML = `<figcaption>${fig.dataset.title} <span class="unit">(${fig.dataset.unit})</span></figcaption><div class="legend"></div><canvas></canvas>`;
}

function drawChart(fig, spec, snap) {
  setupChart(fig);
  const canvas = fig.querySelector("canvas"), legend = fig.querySelector(".legend");
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  g.font = "11px system-ui, sans-serif";

  const times = snap.series.unixSeconds, now = Math.floor(Date.parse(snap.at) / 1000);
  const why = spec.unavailable ? spec.unavailable(snap) : null;
  const lines = spec.lines.map(([key, label, color, scale]) => ({ label, color, values: snap.series[key].map(v => scale ? scale(v) : v) }));
  const points = why ? 0 : lines.reduce((n, l) => n + l.values.filter(v => v != null).length, 0);
  legend.innerHTML = lines.map(l => {
    const last = [...l.values].reverse().find(v => v != null);
    return `<span><i style="background:${l.color}"></i>${l.label}: <b>${why ? "n/a" : fmt(last, fig.dataset.unit)}</b></span>`;
  }).join("");

  const [span, tick] = SPANS.find(([sp]) => sp >= now - (times[0] ?? now)) ?? SPANS.at(-1);
  const left = 52, right = 14, top = 8, bottom = 20, pw = w - left - right, ph = h - top - bottom;
  const unit = fig.dataset.unit;
  const x = t => left + pw * (1 - (now - t) / span);
  g.strokeStyle = "#26313d"; g.fillStyle = "#8593a3"; g.lineWidth = 1;
  g.textAlign = "center"; g.textBaseline = "top";
  for (let ago = span; ago >= 0; ago -= tick) {
    g.textAlign = ago === 0 ? "right" : "center";
    g.fillText(ago === 0 ? "now" : ago % 60 === 0 ? `-${ago / 60} min` : `-${ago} s`, ago === 0 ? w - right : x(now - ago), h - bottom + 5);
  }

  if (why) {
    g.strokeRect(left + 0.5, top + 0.5, pw, ph);
    wrapText(g, why, left + pw / 2, top + ph / 2, pw - 24);
    return finish(fig, 0, why);
  }

  let max = spec.yMax ?? Math.max(1e-9, ...lines.flatMap(l => l.values.filter(v => v != null)));
  const step = spec.yMax ? spec.yMax / 4 : niceStep(max * 1.1);
  max = spec.yMax ?? step * Math.ceil(max * 1.1 / step);
  const y = v => top + ph * (1 - v / max);
  g.textAlign = "right"; g.textBaseline = "middle";
  for (let v = 0; v <= max + 1e-9; v += step) {
    g.beginPath(); g.moveTo(left, y(v) + 0.5); g.lineTo(w - right, y(v) + 0.5); g.stroke();
    g.fillText(fmt(v, unit === "%" || unit === "$" ? unit : "", step < 1 ? 2 : 0), left - 6, y(v));
  }

  if (points === 0) {
    wrapText(g, "no data yet", left + pw / 2, top + ph / 2, pw - 24);
  } else {
    g.lineWidth = 1.8;
    for (const l of lines) {
      g.strokeStyle = l.color; g.fillStyle = l.color; g.beginPath();
      let open = false, lone = 0;
      l.values.forEach((v, i) => {
        if (v == null || now - times[i] > span) { open = false; return; }
        const px = x(times[i]), py = y(Math.min(v, max));
        if (open) g.lineTo(px, py); else { g.moveTo(px, py); lone++; }
        open = true;
      });
      g.stroke();
      // Isolated points (latency of a lone request) would vanish as zero-length lines: draw them as dots.
      l.values.forEach((v, i) => {
        const prev = l.values[i - 1], next = l.values[i + 1];
        if (v != null && prev == null && next == null) { g.beginPath(); g.arc(x(times[i]), y(Math.min(v, max)), 2.5, 0, 7); g.fill(); }
      });
    }
  }

  finish(fig, points, null);
}

// Records what the chart shows, for people (data attributes) and for the browser test (window.brimDashboard).
function finish(fig, points, why) {
  fig.dataset.points = String(points);
  fig.dataset.state = why ? "unavailable" : points > 0 ? "live" : "empty";
  state.charts[fig.id] = { points, state: fig.dataset.state, reason: why };
}

function wrapText(g, text, cx, cy, width) {
  g.save();
  g.fillStyle = "#8593a3"; g.font = "13px system-ui, sans-serif"; g.textAlign = "center"; g.textBaseline = "middle";
  const lines = [];
  for (const word of text.split(" ")) {
    const last = lines.at(-1);
    if (last != null && g.measureText(last + " " + word).width <= width) lines[lines.length - 1] = last + " " + word;
    else lines.push(word);
  }
  lines.forEach((line, i) => g.fillText(line, cx, cy + (i - (lines.length - 1) / 2) * 17));
  g.restore();
}

function tile(label, value) {
  return `<div class="tile"><div class="label">${label}</div><div class="value${value === "n/a" ? " na" : ""}">${value}</div></div>`;
}

function render(s) {
  const w = Object.fromEntries(s.windows.map(x => [x.name, x]));
  const d = s.device, c = d.ceilings;
  document.getElementById("facts").innerHTML = [
    `model <b>${s.model.architecture}</b> · ${fmt(s.model.parameters)} parameters · weights/step ${fmt(s.model.weightBytesPerStep, "B")} · KV/token ${fmt(s.model.kvBytesPerToken, "B")} (${s.model.kvDType})`,
    `device <b>${d.deviceName}</b>${d.deviceCount > 1 ? " ×" + d.deviceCount : ""}`,
    `peak <b>${fmt(c.peakFlopsPerSecond, "FLOP/s")}</b>, <b>${fmt(c.peakBytesPerSecond, "B/s")}</b> (${c.source})`,
    `price <b>${d.hourlyCost == null ? "n/a" : "$" + d.hourlyCost.toFixed(2) + "/h"}</b> (${d.hourlyCostSource})`,
    `GPU counters: <b>${s.gpu.status}</b>`,
  ].map(x => `<span>${x}</span>`).join("");
  const gpu = s.gpu.latest.length ? s.gpu.latest.reduce((a, g) => a + g.gpuUtilizationPercent, 0) / s.gpu.latest.length : null;
  document.getElementById("tiles").innerHTML = [
    tile("output tokens/s (10 s)", fmt(w["10s"].outputTokensPerSecond)),
    tile("batch occupancy (10 s)", fmt(pct(w["10s"].occupancy), "%")),
    tile("MFU (1 min)", fmt(pct(w["1m"].mfu), "%", 2)),
    tile("MBU (1 min)", fmt(pct(w["1m"].mbu), "%", 2)),
    tile("GPU busy (NVML)", s.gpu.available ? fmt(gpu, "%") : "n/a"),
    tile("waiting", fmt(s.series.waiting.at(-1) ?? null, "", 0)),
    tile("prefix cache hit rate (1 min)", fmt(pct(w["1m"].prefixCacheHitRate ?? null), "%")),
    // Speculative decoding: shown only when drafts were verified in the last minute (otherwise it is off or idle).
    ...(w["1m"].specAcceptanceRate == null ? [] : [
      tile("draft acceptance (1 min)", fmt(pct(w["1m"].specAcceptanceRate), "%")),
      tile("tokens per draft (1 min)", fmt(w["1m"].specMeanAcceptedLength, "", 2)),
    ]),
    tile("$ / 1M tokens (1 min)", fmt(w["1m"].costPerMillionOutputTokens, "$", 2)),
    tile("$ / 1M tokens (1 h)", fmt(w["1h"].costPerMillionOutputTokens, "$", 2)),
    tile("host gap between steps (1 min)", fmt(w["1m"].hostGapSeconds * 1000, "ms")),
  ].join("");
  for (const [id, spec] of Object.entries(CHARTS)) drawChart(document.getElementById(id), spec, s);

  document.querySelector("#economics tbody").innerHTML = s.economics.rows.map(r =>
    `<tr class="${r.projected ? "projected" : ""}"><td>${r.projected ? "projected at " : "measured at "}${fmt(r.occupancy * 100, "%", 0)}</td>` +
    `<td>${fmt(r.outputTokensPerSecond)}</td><td>${fmt(r.costPerMillionOutputTokens, "$", 2)}</td></tr>`).join("");
  document.getElementById("assumption").textContent = "Measured: over the last minute of wall time, idle included. Projected " + s.economics.assumption.replace(/^projected /, "") + ".";
  const ms = (p50, p95) => p50 == null ? "n/a" : `${fmt(p50 * 1000, "", 0)} / ${fmt(p95 * 1000, "", 0)} ms`;
  document.querySelector("#latency tbody").innerHTML = s.latency.map(l =>
    `<tr><td>${l.trafficClass.toLowerCase()}</td><td>${l.requests}</td><td>${ms(l.ttftP50, l.ttftP95)}</td>` +
    `<td>${ms(l.tpotP50, l.tpotP95)}</td><td>${ms(l.e2eP50, l.e2eP95)}</td></tr>`).join("");
  renderModels(s);
}

// Model names are the operator's text: escaped before they go into the page.
function esc(text) {
  return String(text).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Several served models (and the router): a row per model and one for all of them; hidden for a server of one model.
function renderModels(s) {
  document.getElementById("models-card").hidden = !s.models;
  if (!s.models) return;
  document.querySelector("#models tbody").innerHTML = s.models.map(m =>
    `<tr><td>${esc(m.name)}</td><td>${fmt(m.outputTokens)}</td><td>${fmt(m.deviceSecondsPerMillionOutputTokens)}</td>` +
    `<td>${fmt(m.costPerMillionOutputTokens, "$", 2)}</td></tr>`).join("");
  const r = s.router;
  document.getElementById("router").textContent = r
    ? `Router '${r.alias}': ${r.cascaded} cascaded, ${r.escalations} escalated (${fmt(r.escalatedShare == null ? null : r.escalatedShare * 100, "%", 0)}).`
    : "";
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("/v1/stats", { cache: "no-store" });
    if (!response.ok) throw new Error(`/v1/stats answered ${response.status}`);
    const snap = await response.json();
    render(snap);
    state.polls++;
    status.className = "status";
    status.textContent = `updated ${new Date(snap.at).toLocaleTimeString()} · up ${fmt(snap.uptimeSeconds, "s", 0)} · ${snap.totals.steps} steps`;
  } catch (e) {
    state.errors++; state.lastError = String(e);
    status.className = "status error";
    status.textContent = "cannot read /v1/stats: " + e;
  } finally {
    setTimeout(poll, 1000);
  }
}

poll();
