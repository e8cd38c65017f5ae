/* Replay and promote (supervisors; promote and roll back: admins): the registered versions, a what-if
   replay of a candidate (POST /replay, the report of `clearline replay --json`), promotion of the candidate
   with a reason, rollback with a reason, and the registry's audit trail. Every value is shown as text. */
"use strict";

(() => {
  const { api, h, pct, time, toast } = Clearline;
  const byId = (id) => document.getElementById(id);
  const REGISTRY_ACTIONS = new Set(["model_add", "policy_add", "model_promote", "policy_promote", "model_rollback", "policy_rollback", "model_shadow", "replay"]);
  let last = null; // the report shown

  const open = (id) => h("button", { type: "button", class: "link", onclick: () => ConversationView.open(id) }, id);
  const active = (rows) => rows.find((r) => r.active);

  function rows(table, entries, cells, empty) {
    const body = byId(table).querySelector("tbody");
    body.replaceChildren(...entries.map((e) => h("tr", { dataset: { conversationId: e.conversation_id } }, cells(e).map((c) => h("td", {}, c)))));
    if (!entries.length) body.append(h("tr", {}, h("td", { colspan: byId(table).querySelectorAll("th").length, class: "empty" }, empty)));
  }

  function versionRows(table, versions) {
    byId(table).querySelector("tbody").replaceChildren(...versions.map((v) => h("tr", { class: v.active ? "active" : "", dataset: { version: v.version } },
      h("td", {}, v.version), h("td", {}, time(v.created_at)), h("td", {}, v.added_by), h("td", {}, v.reason),
      h("td", {}, v.active ? h("strong", {}, "active") : ""))));
  }

  function options(select, versions, first) {
    const keep = select.value;
    select.replaceChildren(...(first ? [first] : []), ...versions.map((v) => h("option", { value: v.version }, v.active ? `${v.version} (active)` : v.version)));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
    else if (!first) select.value = (active(versions) || versions[0] || {}).version || "";
  }

  async function loadVersions() {
    const [models, policies] = await Promise.all([api("/models"), api("/policies")]);
    versionRows("models", models);
    versionRows("policies", policies);
    const form = byId("replay-form").elements;
    options(form.model_version, models, h("option", { value: "" }, "the stored scores"));
    options(form.policy_version, policies, null);
    const model = active(models), policy = active(policies);
    byId("active-versions").textContent = `Active: model ${model ? model.version : "none registered"} · policy ${policy ? policy.version : "none registered"}`;
  }

  async function loadHistory() {
    const records = (await api("/audit?newest=true&limit=1000")).filter((r) => REGISTRY_ACTIONS.has(r.action));
    const version = (r) => (r.action === "replay"
      ? `policy ${r.versions.policy || "–"}, ${r.inputs.model_version ? `model ${r.inputs.model_version}` : "the stored scores"}`
      : r.action === "model_shadow" ? `shadow: ${(r.outcome || {}).shadow || "none"}`
        : String((r.outcome || {}).version || ""));
    byId("history").querySelector("tbody").replaceChildren(...records.map((r) => h("tr", { dataset: { action: r.action } },
      h("td", {}, time(r.at)), h("td", {}, r.actor), h("td", {}, r.action.replace("_", " ")), h("td", {}, version(r)),
      h("td", {}, String((r.inputs || {}).reason || "")))));
  }

  /* The window's days in the browser's time zone: from the first day's start to the last day's end. */
  function windowOf(form) {
    const body = {};
    if (form.since.value) body.since = new Date(`${form.since.value}T00:00:00`).toISOString();
    if (form.until.value) body.until = new Date(`${form.until.value}T23:59:59.999`).toISOString();
    return body;
  }

  async function run(event) {
    event.preventDefault();
    const form = event.target.elements;
    const body = windowOf(form);
    if (form.model_version.value) body.model_version = form.model_version.value;
    if (form.policy_version.value) body.policy_version = form.policy_version.value;
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    byId("replay-state").textContent = "Replaying…";
    try {
      show(await api("/replay", { method: "POST", body }));
      byId("replay-state").textContent = `Done in ${last.seconds} s.`;
    } catch (error) {
      byId("replay-state").textContent = "";
      toast(error.message, "error");
    } finally {
      button.disabled = false;
    }
    loadHistory().catch(report);
  }

  function card(label, value, hint) {
    return h("article", { class: "figure" }, h("span", { class: "figure-label" }, label), h("strong", { class: "figure-value" }, value),
      hint ? h("span", { class: "figure-hint" }, hint) : null);
  }

  function show(report) {
    last = report;
    const { model, policy } = report;
    byId("report-of").textContent = `policy ${policy.version}${policy.current ? " (active)" : ` against ${policy.current_version}`} · `
      + (model.rescored ? `model ${model.version}${model.current ? " (active)" : ` against ${model.current_version || "the configured one"}`}` : "the stored scores")
      + ` · ${report.since ? time(report.since) : "from the first"} to ${report.until ? time(report.until) : "the latest"}`;
    byId("report-figures").replaceChildren(
      card("Conversations", String(report.conversations), `${report.messages} customer message(s)`),
      card("Escalations", `${report.escalations_current} → ${report.escalations_candidate}`, "now → candidate (first escalation each)"),
      card("Added · removed", `+${report.added.length} · −${report.removed.length}`, `${report.priority_changed.length} other priority, ${report.queue_changed.length} other queue`),
      card("Flag precision", `${pct(report.precision_current)} → ${pct(report.precision_candidate)}`, `${report.feedback_used} verdict(s) used`),
      card("Recall", `${pct(report.recall_current)} → ${pct(report.recall_candidate)}`, "of the flags judged right and the missed flags"),
    );
    rows("added", report.added, (e) => [open(e.conversation_id), `${e.priority} (${e.band})`, e.queue], "None.");
    rows("removed", report.removed, (e) => [open(e.conversation_id), `${e.priority} (${e.band})`, e.queue, e.verdict || "none"], "None.");
    rows("priority-changed", report.priority_changed, (e) => [open(e.conversation_id), `${e.current} (${e.band_current})`, `${e.candidate} (${e.band_candidate})`], "None.");
    rows("queue-changed", report.queue_changed, (e) => [open(e.conversation_id), e.current, e.candidate], "None.");
    byId("report").hidden = false;
    offerPromotion();
  }

  /* What promoting the report's candidate changes: its policy and its model, each when it is not active. */
  function candidates() {
    if (!last) return [];
    const out = [];
    if (last.policy.registered && !last.policy.current) out.push({ plural: "policies", kind: "policy", version: last.policy.version });
    if (last.model.rescored && !last.model.current && last.model.version) out.push({ plural: "models", kind: "model", version: last.model.version });
    return out;
  }

  function offerPromotion() {
    const form = byId("promote-form");
    if (!form) return; // supervisors see the report only
    const wanted = candidates();
    form.hidden = !wanted.length;
    byId("promote-what").textContent = wanted.map((c) => `${c.kind} ${c.version}`).join(" and ");
  }

  async function promote(event) {
    event.preventDefault();
    const reason = event.target.elements.reason.value.trim();
    try {
      // one at a time: when the second fails the first stays promoted, and the lists below show it
      for (const c of candidates()) {
        await api(`/${c.plural}/${encodeURIComponent(c.version)}/promote`, { method: "POST", body: { reason } });
        toast(`Promoted ${c.kind} ${c.version}.`, "ok");
      }
      event.target.reset();
      event.target.hidden = true; // the report compared against the versions active before
      byId("report-of").textContent += " · promoted since";
    } finally {
      await Promise.all([loadVersions(), loadHistory()]);
    }
  }

  async function rollback(event) {
    event.preventDefault();
    const form = event.target.elements;
    const plural = form.kind.value === "model" ? "models" : "policies";
    const done = await api(`/${plural}/rollback`, { method: "POST", body: { reason: form.reason.value.trim() } });
    toast(`Rolled back the ${done.kind}: ${done.before} → ${done.after}.`, "ok");
    event.target.reset();
    await Promise.all([loadVersions(), loadHistory()]);
  }

  const report = (error) => toast(error.message, "error");

  document.addEventListener("DOMContentLoaded", () => {
    byId("replay-form").addEventListener("submit", run);
    const promoteForm = byId("promote-form");
    if (promoteForm) promoteForm.addEventListener("submit", (e) => promote(e).catch(report));
    const rollbackForm = byId("rollback-form");
    if (rollbackForm) rollbackForm.addEventListener("submit", (e) => rollback(e).catch(report));
    const refresh = Clearline.debounce(() => Promise.all([loadVersions(), loadHistory()]).catch(report), 300);
    refresh();
    // another admin's promotion or rollback, someone's replay: the lists follow
    Clearline.live((record) => { if (REGISTRY_ACTIONS.has(record.action)) refresh(); });
  });
})();
