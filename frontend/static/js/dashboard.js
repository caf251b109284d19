// Admins add a dataset: the zip goes to the ingest API, which validates every patch first
// and answers with what was added and, per refused patch, why.
import { api } from "./api.js";

const form = document.getElementById("ingest-form");
const result = document.getElementById("ingest-result");

function show(report) {
  const lines = [`${report.added} patch(es) added, ${report.already_present} already present.`];
  for (const problem of report.problems ?? []) lines.push(`refused ${problem.patch_id}: ${problem.reason}`);
  result.replaceChildren(...lines.map((text) => Object.assign(document.createElement("p"), { textContent: text })));
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  if (!data.get("format")) data.delete("format");
  if (!data.get("name")) data.delete("name");
  result.textContent = "Checking every patch…";
  try {
    show(await api("/api/v1/datasets/ingest", { method: "POST", body: data }));
    setTimeout(() => window.location.reload(), 1500);
  } catch (err) {
    const problems = err.body?.problems ?? [];
    result.replaceChildren(
      Object.assign(document.createElement("p"), { className: "error", textContent: err.message }),
      ...problems.map((p) => Object.assign(document.createElement("p"), { textContent: `${p.patch_id}: ${p.reason}` })),
    );
  }
});
