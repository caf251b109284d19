// Correction mode of the review page: loads the current revision's class codes into the
// raster editor, shows its tools, and saves the edited mask as a new revision (raw uint8
// bytes, row-major) based on the revision it started from.
import { api } from "./api.js";

const $ = (id) => document.getElementById(id);

export class CorrectionMode {
  constructor(editor, view) {
    this.editor = editor;
    this.view = view;
    this.active = false;
  }

  async start() {
    const detail = this.view.detail;
    if (!detail.urls.label_raw) throw new Error("This patch has no label to correct.");
    const response = await fetch(detail.urls.label_raw, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`Cannot load the label (HTTP ${response.status}).`);
    const labels = new Uint8Array(await response.arrayBuffer());
    this.editor.start(labels, detail.width, detail.height, detail.legend);
    this.base = detail.revision.id;
    this.active = true;
    $("review").classList.add("editing");
    $("editor-canvas").hidden = false;
    $("img-label").hidden = true;
    $("editor-panel").hidden = false;
    this.ui();
  }

  stop() {
    this.editor.stop();
    this.active = false;
    $("review").classList.remove("editing");
    $("editor-canvas").hidden = true;
    $("editor-panel").hidden = true;
    if (this.view.detail) this.view.render();
  }

  /** POST the mask; resolves to the new revision, rejects with ApiError (409 when stale). */
  save(context) {
    const form = new FormData();
    const blob = new Blob([this.editor.labels], { type: "application/octet-stream" });
    form.append("file", blob, "mask.raw");
    form.append("base_revision_id", String(this.base));
    for (const [k, v] of Object.entries(context)) {
      if (v !== null && v !== "") form.append(k, String(v));
    }
    return api(this.view.detail.urls.corrections, { method: "POST", body: form });
  }

  /** Select the class bound to number key n (the n-th class of the legend, ignored ones aside). */
  pickByKey(n) {
    const li = document.querySelector(`#legend li[data-key="${n}"]`);
    if (li) this.editor.setClass(Number(li.dataset.code));
  }

  ui() {
    const { editor } = this;
    for (const b of document.querySelectorAll("[data-tool]")) {
      b.classList.toggle("selected", b.dataset.tool === editor.tool);
    }
    $("brush-size").value = editor.size;
    $("brush-size-value").textContent = editor.size;
    for (const li of document.querySelectorAll("#legend li")) {
      li.classList.toggle("selected", this.active && Number(li.dataset.code) === editor.code);
    }
  }

  /** The keys of correction mode (null when the key means nothing here). */
  action(key, { ctrl, shift }) {
    const { editor } = this;
    if (ctrl && (key === "z" || key === "Z")) return shift ? () => editor.redo() : () => editor.undo();
    if (ctrl && key === "y") return () => editor.redo();
    if (ctrl) return null;
    if (/^[1-9]$/.test(key)) return () => this.pickByKey(Number(key));
    const keys = {
      b: () => editor.setTool("brush"),
      g: () => editor.setTool("fill"),
      "-": () => editor.setSize(editor.size - 1),
      "+": () => editor.setSize(editor.size + 1),
      "=": () => editor.setSize(editor.size + 1),
      Escape: () => this.stop(),
    };
    return keys[key] ?? null;
  }
}
