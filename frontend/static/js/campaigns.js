// Campaigns page: the admins' creation form and the reviewers' export form, both through the JSON API.
import { api } from "./api.js";

const list = (value) => value.split(",").map((s) => s.trim()).filter(Boolean);

function campaignBody(form) {
  const data = new FormData(form);
  const filter = {};
  if (data.get("status")) filter.status = list(data.get("status"));
  if (data.get("split")) filter.split = list(data.get("split"));
  if (data.get("min_suspicion")) filter.min_suspicion = Number(data.get("min_suspicion"));
  if (data.get("external_ids")) filter.external_ids = list(data.get("external_ids"));
  const gold_external = {};
  for (const line of data.get("gold").split("\n")) {
    const [id, answer] = line.trim().split(/\s+/);
    if (id) gold_external[id] = answer;
  }
  return {
    name: data.get("name"),
    dataset_id: Number(data.get("dataset_id")),
    overlap: Number(data.get("overlap")),
    order: data.get("order"),
    user_ids: data.getAll("user_ids").map(Number),
    filter,
    gold_external,
  };
}

document.getElementById("campaign-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("campaign-error");
  error.textContent = "";
  try {
    const campaign = await api("/api/v1/campaigns", { method: "POST", json: campaignBody(event.target) });
    window.location.href = `/campaigns/${campaign.id}`;
  } catch (err) {
    error.textContent = err.message;
  }
});

document.getElementById("export-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  const result = document.getElementById("export-result");
  result.textContent = "Exporting…";
  try {
    const out = await api("/api/v1/exports", {
      method: "POST",
      json: { dataset: data.get("dataset") || null, formats: data.getAll("formats") },
    });
    result.innerHTML = "";
    const link = Object.assign(document.createElement("a"), { href: out.url, textContent: out.name });
    link.id = "export-link";
    result.append("Ready: ", link, ` (${(out.size / 1024).toFixed(0)} KiB)`);
  } catch (err) {
    result.textContent = err.message;
  }
});
