// Jobs page: the launch form (errors shown next to their fields) and live progress of the list.
import { api } from "./api.js";

const form = document.getElementById("launch-form");
const NUMBERS = ["epochs", "pretrain_epochs", "lr", "batch_size", "patch_size", "label_fraction", "head_lr", "head_warmup_epochs", "class_balance", "crop_balance", "ema_decay", "patience", "seed"];
const IDS = ["dataset_id", "training_set_id", "pretrained_run_id", "run_id", "scene_dataset_id"];

function visible(el) {
  for (let node = el; node && node !== form; node = node.parentElement) {
    if (node.hidden) return false;
  }
  return true;
}

function showKind() {
  const kind = form.elements.kind.value;
  for (const el of form.querySelectorAll("[data-kinds]")) {
    el.hidden = !el.dataset.kinds.split(" ").includes(kind);
  }
}

function params() {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.name === "kind" || !visible(el)) continue;
    if (el.type === "checkbox") out[el.name] = el.checked;
    else if (el.type === "select-multiple") out[el.name] = Array.from(el.selectedOptions, (o) => Number(o.value));
    else if (el.value === "") continue;
    else if (el.value === "true" || el.value === "false") out[el.name] = el.value === "true";
    else if (IDS.includes(el.name)) out[el.name] = Number(el.value);
    else if (NUMBERS.includes(el.name)) out[el.name] = Number(el.value);
    else out[el.name] = el.value;
  }
  return out;
}

function clearErrors() {
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
}

function showErrors(err) {
  const errors = err.body?.errors ?? (err.body?.field ? { [err.body.field]: err.message } : {});
  let placed = false;
  for (const [field, message] of Object.entries(errors)) {
    const slot = form.querySelector(`.field-error[data-for="${field}"]`);
    if (slot && visible(slot)) {
      slot.textContent = message;
      form.elements[field]?.classList.add("invalid");
      placed = true;
    }
  }
  if (!placed) document.getElementById("launch-error").textContent = err.message;
}

if (form) {
  form.elements.kind.addEventListener("change", showKind);
  showKind();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    try {
      const job = await api("/api/v1/jobs", { method: "POST", json: { kind: form.elements.kind.value, params: params() } });
      window.location.href = `/jobs/${job.id}`;
    } catch (err) {
      showErrors(err);
    }
  });
}

// Live progress of the list: one poll every two seconds while some job is not finished.
const table = document.getElementById("jobs");
async function refresh() {
  const jobs = await api("/api/v1/jobs");
  let active = false;
  for (const job of jobs) {
    const row = table.querySelector(`tr[data-job-id="${job.id}"]`);
    if (!row) continue;
    row.className = `state-${job.state}`;
    row.querySelector(".state").innerHTML = `<span class="pill ${job.state}">${job.state}</span>`;
    row.querySelector(".bar-fill").style.width = `${(100 * job.progress).toFixed(1)}%`;
    row.querySelector(".message").textContent = job.message;
    row.querySelector(".attempts").textContent = job.attempts;
    active ||= job.state === "queued" || job.state === "running";
  }
  if (active) setTimeout(refresh, 2000);
}
if (table.querySelector("tr.state-queued, tr.state-running")) setTimeout(refresh, 1000);
