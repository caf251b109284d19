// One job live: server-sent events feed the progress bar, the log and the metric curves (uPlot).
import { api } from "./api.js";

const root = document.getElementById("job");
const jobId = root.dataset.jobId;
const $ = (id) => document.getElementById(id);
const FINISHED = ["succeeded", "failed", "cancelled"];
let job = null;
let tick = null;

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h} h ${m} min` : m ? `${m} min ${r} s` : `${r} s`;
}

function showJob(data) {
  // a comparison's table is rendered by the server: reload when the job has just succeeded
  if (data.kind === "compare" && data.state === "succeeded" && !FINISHED.includes(root.dataset.state)) {
    window.location.reload();
  }
  job = { ...data, seenAt: Date.now() };
  root.dataset.state = job.state;
  $("job-state").textContent = job.state;
  $("job-state").className = `pill ${job.state}`;
  $("job-message").textContent = job.message;
  $("job-bar").style.width = `${(100 * job.progress).toFixed(1)}%`;
  $("job-progress").textContent = `${Math.round(100 * job.progress)}%`;
  $("job-attempts").textContent = job.attempts;
  $("job-worker").textContent = job.worker_id ?? "";
  const cancel = $("cancel"), retry = $("retry");
  if (cancel) cancel.hidden = !["queued", "running"].includes(job.state) || job.cancel_requested;
  if (retry) retry.hidden = !["failed", "cancelled"].includes(job.state);
  $("job-runs").innerHTML = job.run_ids.map((id) => `<a class="run-link" href="/runs/${id}">Results: run ${id}</a>`).join(" ");
  showTimes();
}

function showTimes() {
  if (!job) return;
  const running = job.state === "running";
  const since = running ? (Date.now() - job.seenAt) / 1000 : 0;
  $("job-elapsed").textContent = duration(job.elapsed_s === null ? null : job.elapsed_s + since);
  $("job-eta").textContent = running ? duration(job.eta_s === null ? null : Math.max(0, job.eta_s - since)) : "–";
}

// -- metric curves: one uPlot chart per metric, one line per seed -------------------------
// A comparison over several seeds names its metrics "seed-<n>/<stage>/<metric>": the seeds
// of one curve share a chart, so that their spread shows at a glance.
const charts = new Map(); // chart name -> {lines: Map(label -> Map(step -> value)), plot}
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
const COLOURS = ["#0b6e4f", "#c2410c", "#1d4ed8", "#a21caf", "#854d0e", "#0e7490", "#be123c", "#4d7c0f"];

function chartOf(name) {
  const seeded = /^seed-(\d+)\/(.+)$/.exec(name);
  return seeded ? { chart: seeded[2], line: `seed ${seeded[1]}` } : { chart: name, line: name };
}

function addMetric({ name, value, step }) {
  $("no-metrics")?.remove();
  const { chart, line } = chartOf(name);
  let entry = charts.get(chart);
  if (!entry) {
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.metric = chart;
    $("charts").append(box);
    const plot = new uPlot(
      { title: chart, width: 420, height: 220, scales: { x: { time: false } },
        axes: [{ incrs: WHOLE_STEPS }], // steps are epochs: no tick at epoch 0.2
        series: [{ label: "step" }] },
      [[]], box);
    entry = { lines: new Map(), plot };
    charts.set(chart, entry);
  }
  if (!entry.lines.has(line)) {
    const stroke = COLOURS[entry.lines.size % COLOURS.length];
    entry.lines.set(line, new Map());
    entry.plot.addSeries({ label: line, stroke, width: 2, points: { show: true } }, entry.lines.size);
  }
  entry.lines.get(line).set(step, value);
  const lines = [...entry.lines.values()];
  const steps = [...new Set(lines.flatMap((points) => [...points.keys()]))].sort((a, b) => a - b);
  entry.plot.setData([steps, ...lines.map((points) => steps.map((s) => points.get(s) ?? null))]);
}

function addLog({ level, message, at }) {
  const log = $("log");
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  const time = at ? new Date(at).toLocaleTimeString() : "";
  log.append(`${time} ${level ?? "INFO"} ${message}\n`);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function onProgress({ fraction, message }) {
  if (!job) return;
  showJob({ ...job, progress: fraction, message });
}

// -- the stream, with a polling fallback --------------------------------------------------
let lastId = 0;
const handlers = { metric: addMetric, log: addLog, progress: onProgress };

function listen() {
  const source = new EventSource(`/api/v1/jobs/${jobId}/stream?after=${lastId}`);
  for (const [kind, handle] of Object.entries(handlers)) {
    source.addEventListener(kind, (e) => { lastId = Number(e.lastEventId) || lastId; handle(JSON.parse(e.data)); });
  }
  source.addEventListener("job", (e) => showJob(JSON.parse(e.data)));
  source.addEventListener("end", () => { source.close(); api(`/api/v1/jobs/${jobId}`).then(showJob); });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) { poll(); }
  };
}

async function poll() {
  const events = await api(`/api/v1/jobs/${jobId}/events?after=${lastId}`);
  for (const e of events) { lastId = e.id; handlers[e.kind]?.({ ...e.payload, at: e.created_at }); }
  showJob(await api(`/api/v1/jobs/${jobId}`));
  if (!FINISHED.includes(job.state)) setTimeout(poll, 2000);
}

async function act(path) {
  $("action-error").textContent = "";
  try { showJob(await api(`/api/v1/jobs/${jobId}/${path}`, { method: "POST" })); if (path === "retry") listen(); }
  catch (err) { $("action-error").textContent = err.message; }
}
$("cancel")?.addEventListener("click", () => act("cancel"));
$("retry")?.addEventListener("click", () => act("retry"));

tick = setInterval(showTimes, 1000);
if (typeof EventSource === "function") listen(); else poll();
