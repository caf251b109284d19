// The review page: one key per decision, the next patch shown at once from the prefetched
// queue while the decision is saved in the background (in order), correction mode, the
// pixel chart. Time spent is measured here, from the moment a patch is shown to the decision.
import { api, ApiError } from "./api.js";
import { PixelChart } from "./review-chart.js";
import { CorrectionMode } from "./review-correct.js";
import { MaskEditor } from "./review-editor.js";
import { OverlayPicker } from "./review-overlays.js";
import { Queue } from "./review-queue.js";
import { PatchView, VIEWS } from "./review-view.js";

const $ = (id) => document.getElementById(id);
const root = $("review");
const initial = JSON.parse($("initial-state").textContent);

const state = {
  entry: null, // the queue entry of the patch on screen (null when opened by id)
  back: [], // patches shown before, for "previous patch"
  shownAt: performance.now(),
  pixel: null,
  saving: Promise.resolve(), // decisions are posted one after the other, in order
};
const queue = new Queue();
const view = new PatchView({
  onDate: (t) => setDate(t),
  onLegendClick: (code) => correction.active && editor.setClass(code),
});
const chart = new PixelChart($("chart"));
const editor = new MaskEditor($("editor-canvas"), { onChange: () => correction.ui() });
const correction = new CorrectionMode(editor, view);
const overlays = new OverlayPicker(view, { onError: (err) => report(err) });

function say(text, kind = "") {
  const el = $("message");
  el.textContent = text;
  el.className = `message ${kind}`;
}

const report = (err) => say(err instanceof ApiError || err instanceof Error ? err.message : String(err), "error");

function showDetail(detail, entry) {
  state.entry = entry;
  state.shownAt = performance.now();
  state.pixel = null;
  if (correction.active) correction.stop();
  chart.clear();
  $("comment").value = "";
  $("confidence").value = "";
  $("queue-empty").hidden = true;
  $("review-body").hidden = false;
  view.show(detail);
  overlays.patchShown(detail);
  root.dataset.currentPatch = String(detail.id);
  $("queue-remaining").textContent = `${queue.remaining} to review`;
  history.replaceState(null, "", `/review?patch=${detail.id}`);
  refreshHistory(detail).catch(report);
}

async function show(patchId, entry) {
  showDetail(await queue.detail(patchId), entry);
}

function showEmpty() {
  $("queue-empty").hidden = false;
  $("review-body").hidden = true;
  $("patch-title").textContent = "Queue empty";
  $("queue-remaining").textContent = "0 to review";
  root.dataset.currentPatch = "";
  view.detail = null;
}

async function refreshHistory(detail) {
  const record = await api(detail.urls.history);
  if (view.detail === detail) {
    view.renderHistory(record);
    view.setStatus(record.status);
  }
}

/** Ask the server what comes next and show it (after undo, or when nothing is prefetched). */
async function loadNext(afterPosition) {
  const next = await queue.fetch(afterPosition);
  queue.update(next);
  const entry = queue.take();
  if (!entry) return showEmpty();
  await show(entry.patch_id, entry);
  queue.prefetch(view.view);
}

/** Bring the local queue in line with the server once the saves are done. */
async function syncQueue() {
  await state.saving;
  const next = await queue.fetch();
  queue.update(next, view.detail?.id ?? null);
  $("queue-remaining").textContent = `${queue.remaining} to review`;
  if (!view.detail) {
    const entry = queue.take();
    if (entry) await show(entry.patch_id, entry);
  }
  queue.prefetch(view.view);
}

function remember() {
  if (view.detail) state.back.push({ patchId: view.detail.id, entry: state.entry });
}

function context() {
  const confidence = $("confidence").value;
  return {
    comment: $("comment").value,
    confidence: confidence ? Number(confidence) : null,
    time_spent_ms: Math.round(performance.now() - state.shownAt),
    view: view.view,
    date_shown: view.detail.dates[view.date],
  };
}

/** Queue a save after the previous ones; a failure brings its patch back on screen. */
function save(post, detail, entry, done) {
  const run = state.saving.then(post);
  state.saving = run.then(
    (result) => {
      queue.forget(detail.id);
      done(result);
    },
    (err) => {
      report(err);
      return show(detail.id, entry);
    },
  );
  return state.saving;
}

/** Move on to the next prefetched patch at once, or wait for the server when none is known. */
function moveOn() {
  remember();
  const entry = queue.take();
  if (entry) return show(entry.patch_id, entry).then(() => syncQueue());
  view.detail = null;
  return syncQueue().then(() => !view.detail && showEmpty());
}

function decide(kind) {
  const detail = view.detail;
  if (!detail || correction.active) return;
  const entry = state.entry;
  const body = { patch_id: detail.id, kind, label_revision_id: detail.revision?.id ?? null, ...context() };
  save(
    () => api("/api/v1/decisions", { method: "POST", json: body }),
    detail,
    entry,
    (result) => say(`${kind} saved for ${detail.external_id} (status ${result.patch_status}).`, "ok"),
  );
  moveOn().catch(report);
}

async function undo() {
  await state.saving;
  const result = await api("/api/v1/decisions", { method: "POST", json: { kind: "undo" } });
  say(`Undid your last decision on patch #${result.decision.patch_id}.`, "ok");
  queue.forget(result.decision.patch_id);
  remember();
  await loadNext();
}

async function nextPatch() {
  remember();
  await state.saving;
  await loadNext(state.entry ? state.entry.position : undefined);
}

async function previousPatch() {
  const previous = state.back.pop();
  if (!previous) return say("No previous patch.");
  await show(previous.patchId, previous.entry);
  if (previous.entry) {
    // The queue goes on after the patch now on screen.
    await state.saving;
    queue.update(await queue.fetch(previous.entry.position), previous.patchId);
    queue.prefetch(view.view);
  }
}

async function saveCorrection() {
  const detail = view.detail;
  await state.saving;
  try {
    const revision = await correction.save(context());
    say(`Saved label v${revision.version} of ${detail.external_id}.`, "ok");
    queue.forget(detail.id);
    correction.stop();
    await moveOn();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 409) throw err;
    queue.forget(detail.id);
    await show(detail.id, state.entry);
    say(`Someone saved revision ${err.body.current_revision_id} meanwhile; it is shown now. ` +
      "Correct it again if needed.", "error");
  }
}

function setDate(t) {
  const n = view.detail.dates.length;
  view.date = (t + n) % n;
  view.render();
  if (state.pixel) showPixel(...state.pixel).catch(report);
}

function setView(v) {
  view.view = v;
  view.render();
}

function setOpacity(value) {
  view.opacity = Math.min(1, Math.max(0, Math.round(value * 10) / 10));
  view.render();
}

async function showPixel(row, col) {
  state.pixel = [row, col];
  await chart.showPixel(view, row, col);
}

function toggle(name) {
  view[name] = !view[name];
  view.render();
}

const COMMON_KEYS = {
  "?": () => { $("keymap").hidden = false; },
  ArrowLeft: () => setDate(view.date - 1),
  ArrowRight: () => setDate(view.date + 1),
  t: () => setView("true"),
  f: () => setView("false"),
  d: () => setView("ndvi"),
  v: () => setView(VIEWS[(VIEWS.indexOf(view.view) + 1) % VIEWS.length]),
  o: () => toggle("overlay"),
  c: () => toggle("clouds"),
  "[": () => setOpacity(view.opacity - 0.1),
  "]": () => setOpacity(view.opacity + 0.1),
};
const REVIEW_KEYS = {
  a: () => decide("accept"),
  r: () => decide("reject"),
  u: () => decide("uncertain"),
  s: () => decide("skip"),
  z: undo,
  n: nextPatch,
  p: previousPatch,
  e: () => correction.start(),
  m: () => overlays.cycle(),
};

function onKey(event) {
  if (event.target.matches?.("input[type=text], textarea, select")) return;
  const { key } = event;
  const ctrl = event.ctrlKey || event.metaKey;
  if (!$("keymap").hidden) {
    if (key === "Escape" || key === "?") $("keymap").hidden = true;
    event.preventDefault();
    return;
  }
  if (!view.detail) return;
  let action;
  if (correction.active && ((ctrl && key === "s") || key === "Enter")) action = saveCorrection;
  else if (correction.active) action = correction.action(key, { ctrl, shift: event.shiftKey });
  else if (ctrl && (key === "z" || key === "Z")) action = undo;
  else if (!ctrl) action = REVIEW_KEYS[key];
  action = action ?? (ctrl ? null : COMMON_KEYS[key]);
  if (!action) return;
  event.preventDefault();
  Promise.resolve(action()).catch(report);
}

function on(id, type, handler) {
  $(id).addEventListener(type, (event) => Promise.resolve(handler(event)).catch(report));
}

function wire() {
  document.addEventListener("keydown", onKey);
  for (const b of document.querySelectorAll("[data-decision]")) {
    b.addEventListener("click", () => decide(b.dataset.decision));
  }
  for (const b of document.querySelectorAll("[data-view]")) {
    b.addEventListener("click", () => setView(b.dataset.view));
  }
  for (const b of document.querySelectorAll("[data-tool]")) {
    b.addEventListener("click", () => editor.setTool(b.dataset.tool));
  }
  on("btn-undo", "click", undo);
  on("btn-next", "click", nextPatch);
  on("btn-prev", "click", previousPatch);
  on("btn-correct", "click", () => (correction.active ? correction.stop() : correction.start()));
  on("btn-prev-date", "click", () => setDate(view.date - 1));
  on("btn-next-date", "click", () => setDate(view.date + 1));
  on("btn-keymap", "click", () => { $("keymap").hidden = !$("keymap").hidden; });
  on("btn-edit-undo", "click", () => editor.undo());
  on("btn-edit-redo", "click", () => editor.redo());
  on("btn-save", "click", saveCorrection);
  on("btn-cancel", "click", () => correction.stop());
  on("brush-size", "input", (e) => editor.setSize(Number(e.target.value)));
  on("opacity", "input", (e) => setOpacity(Number(e.target.value) / 100));
  on("toggle-label", "change", () => toggle("overlay"));
  on("toggle-clouds", "change", () => toggle("clouds"));
  on("toggle-reference", "change", () => toggle("reference"));
  on("stage", "click", (event) => {
    if (correction.active || !view.detail) return;
    const rect = $("img-base").getBoundingClientRect();
    const col = Math.floor(((event.clientX - rect.left) / rect.width) * view.detail.width);
    const row = Math.floor(((event.clientY - rect.top) / rect.height) * view.detail.height);
    if (row >= 0 && col >= 0 && row < view.detail.height && col < view.detail.width) {
      return showPixel(row, col);
    }
  });
}

wire();
queue.update(initial.queue, initial.detail?.id ?? null);
if (initial.detail) {
  const entry = initial.queue.current?.patch_id === initial.detail.id ? initial.queue.current : null;
  queue.details.set(initial.detail.id, Promise.resolve(initial.detail));
  showDetail(initial.detail, entry);
  queue.prefetch(view.view);
} else {
  showEmpty();
}
root.dataset.ready = "true";
