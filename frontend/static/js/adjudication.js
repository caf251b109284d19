// Adjudication page: the annotators' versions side by side; the reviewer keeps one or rejects the patch.
import { api } from "./api.js";

const controls = document.querySelector(".adj-controls");
const patchId = controls.dataset.patchId;
const campaignId = controls.dataset.campaignId ? Number(controls.dataset.campaignId) : null;
const result = document.getElementById("adj-result");

function showImagery() {
  const date = document.getElementById("adj-date").value;
  const view = document.getElementById("adj-view").value;
  for (const img of document.querySelectorAll(".version img.base")) {
    img.src = `/api/v1/patches/${patchId}/images/${date}/${view}.png`;
  }
}

function showOpacity() {
  const opacity = document.getElementById("adj-opacity").value;
  for (const img of document.querySelectorAll(".version img.overlay")) img.style.opacity = opacity;
}

async function settle(body) {
  result.textContent = "Saving…";
  try {
    const out = await api(`/api/v1/patches/${patchId}/adjudicate`, {
      method: "POST",
      json: { ...body, campaign_id: campaignId, comment: document.getElementById("adj-comment").value },
    });
    const status = document.getElementById("patch-status");
    status.textContent = out.patch_status;
    status.className = `status status-${out.patch_status}`;
    result.textContent = `Settled: ${out.kind}` + (out.new_revision_id ? ` (new revision ${out.new_revision_id})` : "");
    result.dataset.settled = out.patch_status;
  } catch (err) {
    result.textContent = err.message;
  }
}

document.getElementById("adj-date").addEventListener("change", showImagery);
document.getElementById("adj-view").addEventListener("change", showImagery);
document.getElementById("adj-opacity").addEventListener("input", showOpacity);
document.getElementById("adj-reject").addEventListener("click", () => settle({ reject: true }));
for (const button of document.querySelectorAll("button.keep")) {
  button.addEventListener("click", () => settle({ revision_id: Number(button.dataset.revisionId) }));
}
showOpacity();
