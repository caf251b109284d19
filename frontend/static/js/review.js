// The review page: the annotator's queue, one key per decision, prefetch of the next patches,
// correction mode, the pixel chart. Time spent is measured here, from the moment a patch is
// shown to the decision.
import { api, ApiError } from "./api.js";
import { PixelChart } from "./review-chart.js";
import { MaskEditor } from "./review-editor.js";
import { PatchView, VIEWS, fill, patchImageUrls } from "./review-view.js";

const $ = (id) => document.getElementById(id);
const root = $("review");
const details = new Map(); // patch id -> Promise of its detail JSON
const prefetched = []; // keeps Image objects alive until the browser has cached them

const state = {
  entry: null, // the queue entry of the patch on screen (null when opened by id)
  back: [], // patches shown before, for "previous patch"
  shownAt: performance.now(),
  editing: false,
  busy: false,
};

const view = new PatchView({
  onDate: (t) => setDate(t),
  onLegendClick: (code) => editor.active && editor.setClass(code),
});
const chart = new PixelChart($("chart"));
const editor = new MaskEditor($("editor-canvas"), { onChange: () => editorUi() });

function detailOf(patchId) {
  if (!details.has(patchId)) {
    const promise = api(`/api/v1/patches/${patchId}`);
    promise.catch(() => details.delete(patchId));
    details.set(patchId, promise);
  }
  return details.get(patchId);
}

async function prefetch(entries) {
  for (const entry of entries) {
    const detail = await detailOf(entry.patch_id);
    for (const url of patchImageUrls(detail, detail.default_date, view.view)) {
      const img = new Image();
      img.src = url;
      prefetched.push(img);
    }
  }
  prefetched.splice(0, Math.max(0, prefetched.length - 40));
}

function say(text, kind = "") {
  const el = $("message");
  el.textContent = text;
  el.className = `message ${kind}`;
}

async function show(patchId, entry, options = {}) {
  const detail = await detailOf(patchId);
  state.entry = entry;
  state.shownAt = performance.now();
  stopEditing();
  chart.clear();
  $("pixel-marker").hidden = true;
  $("pixel-info").textContent = "click the image";
  $("comment").value = "";
  $("confidence").value = "";
  $("queue-empty").hidden = true;
  $("review-body").hidden = false;
  view.show(detail, options);
  root.dataset.currentPatch = String(patchId);
  history.replaceState(null, "", `/review?patch=${patchId}`);
  refreshHistory();
}

async function refreshHistory() {
  const detail = view.detail;
  const record = await api(detail.urls.history);
  if (view.detail === detail) {
    view.renderHistory(record);
    view.setStatus(record.status);
  }
}

async function loadNext(afterPosition) {
  const query = afterPosition === undefined ? "" : `?after_position=${afterPosition}`;
  const next = await api(`/api/v1/review/next${query}`);
  $("queue-remaining").textContent = `${next.remaining} to review`;
  if (!next.current) {
    $("queue-empty").hidden = false;
    $("review-body").hidden = true;
    $("patch-title").textContent = "Queue empty";
    root.dataset.currentPatch = "";
    return;
  }
  prefetch(next.upcoming);
  await show(next.current.patch_id, next.current);
}

function remember() {
  if (view.detail) state.back.push({ patchId: view.detail.id, entry: state.entry });
}

async function guarded(action) {
  if (state.busy) return;
  state.busy = true;
  try {
    await action();
  } catch (err) {
    say(err instanceof ApiError ? err.message : String(err), "error");
  } finally {
    state.busy = false;
  }
}

function decisionContext() {
  const confidence = $("confidence").value;
  return {
    comment: $("comment").value,
    confidence: confidence ? Number(confidence) : null,
    time_spent_ms: Math.round(performance.now() - state.shownAt),
    view: view.view,
    date_shown: view.detail.dates[view.date],
  };
}

function decide(kind) {
  return guarded(async () => {
    const detail = view.detail;
    const result = await api("/api/v1/decisions", {
      method: "POST",
      json: { patch_id: detail.id, kind, label_revision_id: detail.revision?.id ?? null, ...decisionContext() },
    });
    say(`${kind} saved for ${detail.external_id} (status ${result.patch_status}).`, "ok");
    details.delete(detail.id); // its status changed
    remember();
    await loadNext();
  });
}

function undo() {
  return guarded(async () => {
    const result = await api("/api/v1/decisions", { method: "POST", json: { kind: "undo" } });
    say(`Undid your last decision on patch #${result.decision.patch_id}.`, "ok");
    details.delete(result.decision.patch_id);
    await loadNext();
  });
}

const nextPatch = () => guarded(async () => {
  remember();
  await loadNext(state.entry ? state.entry.position : undefined);
});

const previousPatch = () => guarded(async () => {
  const previous = state.back.pop();
  if (!previous) return say("No previous patch.");
  await show(previous.patchId, previous.entry);
});

function setDate(t) {
  const n = view.detail.dates.length;
  view.date = (t + n) % n;
  view.render();
  if (state.pixel) showPixel(...state.pixel);
}

function setView(v) {
  view.view = v;
  view.render();
}

function setOpacity(delta) {
  view.opacity = Math.min(1, Math.max(0, Math.round((view.opacity + delta) * 10) / 10));
  view.render();
}

async function showPixel(row, col) {
  state.pixel = [row, col];
  const detail = view.detail;
  const marker = $("pixel-marker");
  marker.hidden = false;
  marker.style.left = `${(100 * (col + 0.5)) / detail.width}%`;
  marker.style.top = `${(100 * (row + 0.5)) / detail.height}%`;
  const series = await api(fill(detail.urls.pixel, { row, col }));
  if (view.detail !== detail) return;
  const ref = series.reference !== null ? ` · reference ${series.reference}` : "";
  $("pixel-info").textContent = `row ${row}, col ${col} · label ${series.label} ${series.label_name ?? ""}${ref}`;
  chart.show(series, view.date);
}

// --- correction mode ---

async function startEditing() {
  const detail = view.detail;
  if (!detail.urls.label_raw) return say("This patch has no label to correct.", "error");
  const response = await fetch(detail.urls.label_raw, { credentials: "same-origin" });
  const labels = new Uint8Array(await response.arrayBuffer());
  editor.start(labels, detail.width, detail.height, detail.legend);
  state.editing = true;
  root.classList.add("editing");
  $("editor-canvas").hidden = false;
  $("img-label").hidden = true;
  $("editor-panel").hidden = false;
  editorUi();
  say("Correction mode: brush (b) or fill (g), pick a class with 1–9, Enter saves.");
}

function stopEditing() {
  editor.stop();
  state.editing = false;
  root.classList.remove("editing");
  $("editor-canvas").hidden = true;
  $("editor-panel").hidden = true;
  if (view.detail) view.render();
}

function editorUi() {
  for (const b of document.querySelectorAll("[data-tool]")) {
    b.classList.toggle("selected", b.dataset.tool === editor.tool);
  }
  $("brush-size").value = editor.size;
  $("brush-size-value").textContent = editor.size;
  for (const li of document.querySelectorAll("#legend li")) {
    li.classList.toggle("selected", state.editing && Number(li.dataset.code) === editor.code);
  }
}

function saveCorrection() {
  return guarded(async () => {
    const detail = view.detail;
    const form = new FormData();
    form.append("file", new Blob([editor.labels], { type: "application/octet-stream" }), "mask.raw");
    form.append("base_revision_id", String(detail.revision.id));
    const ctx = decisionContext();
    for (const [k, v] of Object.entries(ctx)) if (v !== null && v !== "") form.append(k, String(v));
    try {
      const revision = await api(detail.urls.corrections, { method: "POST", body: form });
      say(`Saved label v${revision.version} of ${detail.external_id}.`, "ok");
      details.delete(detail.id);
      stopEditing();
      remember();
      await loadNext();
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 409) throw err;
      details.delete(detail.id);
      stopEditing();
      await show(detail.id, state.entry);
      say(`Someone saved revision ${err.body.current_revision_id} meanwhile; it is shown now. ` +
        "Correct it again if needed.", "error");
    }
  });
}

// --- keys and buttons ---

function onKey(event) {
  const target = event.target;
  if (target.matches?.("input[type=text], textarea, select")) return;
  const key = event.key;
  const ctrl = event.ctrlKey || event.metaKey;
  if (!$("keymap").hidden) {
    if (key === "Escape" || key === "?") $("keymap").hidden = true;
    event.preventDefault();
    return;
  }
  if (!view.detail && key !== "?") return;
  const digit = /^[1-9]$/.test(key) ? Number(key) : null;
  const edit = state.editing;
  const actions = {
    "?": () => { $("keymap").hidden = false; },
    ArrowLeft: () => setDate(view.date - 1),
    ArrowRight: () => setDate(view.date + 1),
    t: () => setView("true"), f: () => setView("false"), d: () => setView("ndvi"),
    v: () => setView(VIEWS[(VIEWS.indexOf(view.view) + 1) % VIEWS.length]),
    o: () => { view.overlay = !view.overlay; view.render(); },
    c: () => { view.clouds = !view.clouds; view.render(); },
    "[": () => setOpacity(-0.1), "]": () => setOpacity(0.1),
  };
  const decisionKeys = {
    a: () => decide("accept"), r: () => decide("reject"), u: () => decide("uncertain"),
    s: () => decide("skip"), z: undo, n: nextPatch, p: previousPatch, e: startEditing,
  };
  const editKeys = {
    b: () => editor.setTool("brush"), g: () => editor.setTool("fill"),
    "-": () => editor.setSize(editor.size - 1), "+": () => editor.setSize(editor.size + 1),
    "=": () => editor.setSize(editor.size + 1),
    Enter: saveCorrection, Escape: stopEditing,
  };
  let action;
  if (ctrl && (key === "z" || key === "Z")) action = edit ? (event.shiftKey ? () => editor.redo() : () => editor.undo()) : undo;
  else if (ctrl && key === "y") action = edit ? () => editor.redo() : null;
  else if (ctrl && key === "s") action = edit ? saveCorrection : null;
  else if (ctrl) return;
  else if (edit && digit) action = () => pickClassByKey(digit);
  else action = actions[key] ?? (edit ? editKeys[key] : decisionKeys[key]);
  if (!action) return;
  event.preventDefault();
  action();
}

function pickClassByKey(n) {
  const li = document.querySelector(`#legend li[data-key="${n}"]`);
  if (li) editor.setClass(Number(li.dataset.code));
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
  $("btn-undo").addEventListener("click", undo);
  $("btn-next").addEventListener("click", nextPatch);
  $("btn-prev").addEventListener("click", previousPatch);
  $("btn-correct").addEventListener("click", () => (state.editing ? stopEditing() : startEditing()));
  $("btn-prev-date").addEventListener("click", () => setDate(view.date - 1));
  $("btn-next-date").addEventListener("click", () => setDate(view.date + 1));
  $("btn-keymap").addEventListener("click", () => { $("keymap").hidden = !$("keymap").hidden; });
  $("btn-edit-undo").addEventListener("click", () => editor.undo());
  $("btn-edit-redo").addEventListener("click", () => editor.redo());
  $("btn-save").addEventListener("click", saveCorrection);
  $("btn-cancel").addEventListener("click", stopEditing);
  $("brush-size").addEventListener("input", (e) => editor.setSize(Number(e.target.value)));
  $("opacity").addEventListener("input", (e) => { view.opacity = Number(e.target.value) / 100; view.render(); });
  $("toggle-label").addEventListener("change", (e) => { view.overlay = e.target.checked; view.render(); });
  $("toggle-clouds").addEventListener("change", (e) => { view.clouds = e.target.checked; view.render(); });
  $("toggle-reference").addEventListener("change", (e) => { view.reference = e.target.checked; view.render(); });
  $("stage").addEventListener("click", (event) => {
    if (state.editing || !view.detail) return;
    const rect = $("img-base").getBoundingClientRect();
    const col = Math.floor(((event.clientX - rect.left) / rect.width) * view.detail.width);
    const row = Math.floor(((event.clientY - rect.top) / rect.height) * view.detail.height);
    if (row >= 0 && col >= 0 && row < view.detail.height && col < view.detail.width) {
      showPixel(row, col).catch((err) => say(err.message, "error"));
    }
  });
}

wire();
const requested = Number(root.dataset.patchId) || null;
guarded(async () => {
  if (requested) {
    const next = await api("/api/v1/review/next");
    const entry = [next.current, ...next.upcoming].find((e) => e?.patch_id === requested) ?? null;
    $("queue-remaining").textContent = `${next.remaining} to review`;
    await show(requested, entry);
    prefetch(next.upcoming);
  } else {
    await loadNext();
  }
  root.dataset.ready = "true";
});
