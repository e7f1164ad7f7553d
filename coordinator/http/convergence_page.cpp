#include "coordinator/http/convergence_page.hpp"

namespace ampere {

const std::string& convergence_page() {
  static const std::string page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Ampere Fleet: convergence</title>
<link rel="icon" href="data:,">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 .3em; }
h2 { font-size: 16px; margin: 1.2em 0 .3em; }
.note { color: #666; font-size: 12px; }
#status { margin: .4em 0; }
svg { border: 1px solid #ddd; background: #fcfcfc; }
.legend span { display: inline-block; margin-right: 1.2em; }
.sw { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
table { border-collapse: collapse; font-size: 12px; }
td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right; }
td:first-child, th:first-child { text-align: left; font-family: monospace; max-width: 520px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
</style>
</head>
<body>
<h1>Ampere Fleet: convergence</h1>
<div>Device class <select id="cls"></select> <span id="status" class="note">loading…</span></div>
<h2>Per-kind convergence</h2>
<div class="note">The stop rule's max predictive std relative to the data (log scale) each time a kind's GP was
fitted, against the points it had; profiling stops a kind under 5% (dashed). Points per kind against the budget below.</div>
<svg id="stdplot" width="900" height="280" role="img" aria-label="max relative std per kind against profiled points"></svg>
<div id="kinds"></div>
<h2>Measured vs estimated (per iteration)</h2>
<div class="note">Each point a network measured on the class: held-out models (filled), profiled variant networks
(hollow, in-sample), the FLOPs line for the held-out models (grey crosses). Diagonal: exact; band: ±10%.</div>
<svg id="scatter" width="520" height="520" role="img" aria-label="measured vs estimated seconds"></svg>
<div id="mape" class="note"></div>
<h2>Latest pruning plan</h2>
<div class="note">Estimated cost per iteration of the latest plan's model (<code>POST /v1/plan:prune</code>) against a
uniform width multiplier: AMPERE (blue, ±1 std band) and cost proportional to FLOPs (grey); the budget dashed.</div>
<svg id="planplot" width="520" height="300" role="img" aria-label="estimated cost against the width multiplier"></svg>
<div id="plannote" class="note">no plan yet</div>
<script>
"use strict";
window.addEventListener("error", ev => {
  document.body.dataset.errors = (document.body.dataset.errors || "") + ev.message + "\n";
});
const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                "#bcbd22", "#7f7f7f"];
let deviceClass = new URLSearchParams(location.search).get("class") || "";

function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
function text(parent, x, y, s, anchor) {
  const t = el("text", {x: x, y: y, "font-size": 11, "text-anchor": anchor || "start", fill: "#444"}, parent);
  t.textContent = s;
  return t;
}
function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }
async function getJson(path) {
  const r = await fetch(path, {headers: {"Accept": "application/json"}});
  const body = await r.json();
  if (!r.ok) throw new Error(path + ": " + (body.detail || body.error || r.status));
  return body;
}
function shortKind(k) { return k.replace(/^v1\|/, "").replace(/\|dtype=float32$/, ""); }

function drawStd(kinds) {
  const svg = document.getElementById("stdplot");
  clear(svg);
  const W = 900, H = 280, L = 60, R = 20, T = 15, B = 35;
  const xmax = Math.max(4, ...kinds.map(k => k.budget));
  const ymin = Math.log10(0.001), ymax = Math.log10(10);
  const X = n => L + (W - L - R) * n / xmax;
  const Y = v => T + (H - T - B) * (ymax - Math.log10(Math.min(10, Math.max(0.001, v)))) / (ymax - ymin);
  el("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999"}, svg);
  el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#999"}, svg);
  for (const v of [0.001, 0.01, 0.05, 0.1, 1, 10]) {
    el("line", {x1: L, y1: Y(v), x2: W - R, y2: Y(v), stroke: v === 0.05 ? "#d62728" : "#eee",
                "stroke-dasharray": v === 0.05 ? "4 3" : ""}, svg);
    text(svg, L - 5, Y(v) + 4, (v * 100) + "%", "end");
  }
  for (let n = 0; n <= xmax; n += Math.max(1, Math.round(xmax / 10))) text(svg, X(n), H - B + 14, String(n), "middle");
  text(svg, (L + W) / 2, H - 5, "profiled points of the kind", "middle");
  kinds.forEach((k, i) => {
    const pts = (k.convergence || []).filter(p => p[1] > 0);
    const color = COLORS[i % COLORS.length];
    if (pts.length > 1)
      el("polyline", {class: "series", points: pts.map(p => X(p[0]) + "," + Y(p[1])).join(" "), fill: "none",
                      stroke: color, "stroke-width": 2}, svg);
    for (const p of pts) el("circle", {class: "pt", cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: color}, svg);
  });
}

function drawKinds(kinds) {
  const rows = kinds.map((k, i) =>
    "<tr><td title='" + k.kind + "'><span class='sw' style='background:" + COLORS[i % COLORS.length] + "'></span>" +
    shortKind(k.kind) + "</td><td>" + k.role + "</td><td>" + k.points + " / " + k.budget + "</td><td>" +
    (k.max_relative_std === null ? "-" : (100 * k.max_relative_std).toFixed(1) + "%") + "</td><td>" + k.state + "</td></tr>");
  document.getElementById("kinds").innerHTML =
    "<table><tr><th>kind</th><th>role</th><th>points</th><th>max rel. std</th><th>state</th></tr>" + rows.join("") +
    "</table>";
}

function drawScatter(acc) {
  const svg = document.getElementById("scatter");
  clear(svg);
  const S = 520, M = 55;
  const pts = acc.points || [];
  const vals = [];
  for (const p of pts) {
    vals.push(p.measured.seconds_per_iteration, p.estimated.seconds_per_iteration.mean);
    if (p.heldout && p.flops_baseline.seconds_per_iteration) vals.push(p.flops_baseline.seconds_per_iteration.mean);
  }
  const pos = vals.filter(v => v > 0);
  const lo = Math.log10(pos.length ? Math.min(...pos) / 1.3 : 1e-3), hi = Math.log10(pos.length ? Math.max(...pos) * 1.3 : 1);
  const P = v => M + (S - 2 * M) * (Math.log10(Math.max(v, 1e-12)) - lo) / Math.max(1e-9, hi - lo);
  const Q = v => S - P(v);
  el("rect", {x: M, y: M, width: S - 2 * M, height: S - 2 * M, fill: "none", stroke: "#999"}, svg);
  const a = Math.pow(10, lo), b = Math.pow(10, hi);
  el("polygon", {points: [P(a) + "," + Q(a * 1.1), P(b) + "," + Q(b * 1.1), P(b) + "," + Q(b * 0.9), P(a) + "," + Q(a * 0.9)].join(" "),
                 fill: "#2ca02c", "fill-opacity": 0.12}, svg);
  el("line", {x1: P(a), y1: Q(a), x2: P(b), y2: Q(b), stroke: "#2ca02c"}, svg);
  text(svg, S / 2, S - 15, "measured seconds per iteration (log)", "middle");
  const yl = text(svg, 15, S / 2, "estimated seconds per iteration (log)", "middle");
  yl.setAttribute("transform", "rotate(-90 15 " + (S / 2) + ")");
  text(svg, M, S - M + 14, a.toPrecision(2), "start");
  text(svg, S - M, S - M + 14, b.toPrecision(2), "end");
  for (const p of pts) {
    const x = P(p.measured.seconds_per_iteration);
    if (p.heldout && p.flops_baseline.seconds_per_iteration) {
      const y = Q(p.flops_baseline.seconds_per_iteration.mean);
      el("path", {class: "flops", d: "M" + (x - 4) + "," + (y - 4) + "l8,8m0,-8l-8,8", stroke: "#888"}, svg);
    }
    el("circle", {class: "pt", cx: x, cy: Q(p.estimated.seconds_per_iteration.mean), r: p.heldout ? 4.5 : 3,
                  fill: p.heldout ? "#1f77b4" : "none", stroke: "#1f77b4"}, svg).appendChild(
      document.createElementNS(NS, "title")).textContent = p.model;
  }
  const pct = v => v === null || v === undefined ? "n/a" : (100 * v).toFixed(1) + "%";
  document.getElementById("mape").textContent =
    pts.length + " networks; held-out time MAPE " + pct(acc.heldout_mape_seconds) + " vs FLOPs " +
    pct(acc.heldout_flops_mape_seconds) + " over " + acc.heldout_models + " held-out models.";
}

function drawPlan(plan) {
  const svg = document.getElementById("planplot");
  clear(svg);
  const note = document.getElementById("plannote");
  if (!plan) { note.textContent = "no plan yet"; document.body.dataset.planPoints = "0"; return; }
  const c = plan.curve, unit = plan.unit === "joules" ? "J" : "s";
  const budget = plan.budget[plan.unit];
  const W = 520, H = 300, L = 60, R = 15, T = 15, B = 40;
  let ymax = budget;
  for (const p of c) ymax = Math.max(ymax, p.ampere + p.ampere_std, p.flops_proportional);
  const x0 = c[0].multiplier, x1 = c[c.length - 1].multiplier;
  const X = m => L + (m - x0) / Math.max(1e-9, x1 - x0) * (W - L - R);
  const Y = v => H - B - v / ymax * (H - T - B);
  el("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999"}, svg);
  el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#999"}, svg);
  el("line", {x1: L, y1: Y(budget), x2: W - R, y2: Y(budget), stroke: "#d62728", "stroke-dasharray": "5 4"}, svg);
  text(svg, W - R, Y(budget) - 4, "budget " + budget.toPrecision(3) + " " + unit, "end");
  const band = c.map(p => X(p.multiplier) + "," + Y(p.ampere + p.ampere_std)).concat(
      c.slice().reverse().map(p => X(p.multiplier) + "," + Y(Math.max(0, p.ampere - p.ampere_std))));
  el("polygon", {points: band.join(" "), fill: "#1f77b4", "fill-opacity": 0.15}, svg);
  el("polyline", {points: c.map(p => X(p.multiplier) + "," + Y(p.ampere)).join(" "), fill: "none", stroke: "#1f77b4",
                  "stroke-width": 2}, svg);
  el("polyline", {points: c.map(p => X(p.multiplier) + "," + Y(p.flops_proportional)).join(" "), fill: "none",
                  stroke: "#888", "stroke-width": 2, class: "flops-curve"}, svg);
  for (const p of c) el("circle", {class: "plan", cx: X(p.multiplier), cy: Y(p.ampere), r: 2.5, fill: "#1f77b4"}, svg);
  text(svg, (L + W) / 2, H - 8, "uniform width multiplier", "middle");
  text(svg, L - 5, Y(ymax) + 4, ymax.toPrecision(2), "end");
  text(svg, L - 5, H - B + 4, "0", "end");
  text(svg, X(x0), H - B + 14, x0.toFixed(2), "middle");
  text(svg, X(x1), H - B + 14, x1.toFixed(2), "middle");
  const chosen = plan.plans[plan.chosen];
  note.textContent = plan.model + " on " + plan.device_class + ": " + plan.chosen + " plan keeps " +
    (100 * chosen.parameters / plan.original.parameters).toFixed(1) + "% of the parameters at " +
    chosen.estimate.mean.toPrecision(3) + " " + unit + " (estimates from " + plan.meter + "); FLOPs-proportional misses by " +
    (100 * plan.flops_proportional.miss).toFixed(1) + "%.";
  document.body.dataset.planPoints = String(c.length);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const classes = await getJson("/v1/device-classes");
    const select = document.getElementById("cls");
    const names = classes.map(c => c.name);
    if (!deviceClass && names.length) deviceClass = names[0];
    if (select.options.length !== names.length) {
      select.innerHTML = "";
      for (const n of names) {
        const o = document.createElement("option");
        o.value = n;
        o.textContent = n;
        select.appendChild(o);
      }
    }
    select.value = deviceClass;
    if (!deviceClass) { status.textContent = "no device classes yet"; return; }
    const campaigns = (await getJson("/v1/campaigns")).filter(c => c.device_class === deviceClass);
    const kinds = [];
    // a stopped campaign's unfinished kinds show as stopped: nothing more will be measured for them
    for (const c of campaigns)
      for (const k of c.kinds) kinds.push(c.state === "stopped" && k.state !== "done" ? {...k, state: "stopped"} : k);
    drawStd(kinds);
    drawKinds(kinds);
    let acc = {points: [], heldout_models: 0};
    try { acc = await getJson("/v1/device-classes/" + encodeURIComponent(deviceClass) + "/accuracy"); }
    catch (e) { /* no measurements on this class yet */ }
    drawScatter(acc);
    const latest = await fetch("/v1/plans/latest", {headers: {"Accept": "application/json"}});
    drawPlan(latest.status === 200 ? await latest.json() : null);
    const states = {};
    for (const c of campaigns) states[c.state] = (states[c.state] || 0) + 1;
    status.textContent = campaigns.length + " campaign(s) (" +
      Object.entries(states).map(([state, n]) => n + " " + state).join(", ") + "), " + kinds.length + " kinds; updated " +
      new Date().toLocaleTimeString();
    document.body.dataset.plotted = String(document.querySelectorAll("svg .pt").length);
  } catch (e) {
    status.textContent = "cannot load: " + e.message;
  }
}
document.getElementById("cls").addEventListener("change", ev => {
  deviceClass = ev.target.value;
  refresh();
});
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)html";
  return page;
}

}  // namespace ampere
