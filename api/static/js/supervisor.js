/* Supervisor dashboard: figures, live queues with SLA timers, agents, conversations (search, filters). */
"use strict";

(() => {
  const { api, h, svg, duration, num, pct, time, toast } = Clearline;

  function bars(values, labels, { width = 220, height = 60, title = "" } = {}) {
    const max = Math.max(1, ...values);
    const w = width / Math.max(1, values.length);
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "bars", role: "img", "aria-label": title });
    values.forEach((v, i) => {
      const barHeight = (v / max) * (height - 4);
      const rect = svg("rect", { x: i * w + 1, y: height - barHeight, width: Math.max(1, w - 2), height: barHeight });
      rect.append(svg("title", {}, `${labels[i]}: ${v}`));
      chart.append(rect);
    });
    return chart;
  }

  function card(label, value, hint, chart) {
    return h("article", { class: "figure" }, h("span", { class: "figure-label" }, label), h("strong", { class: "figure-value" }, value),
      hint ? h("span", { class: "figure-hint" }, hint) : null, chart || null);
  }

  const windowLabel = { 1: "1 h", 24: "24 h", 168: "7 days", 720: "30 days" };

  async function loadFigures() {
    const hoursBack = Number(document.getElementById("figures-window").value) || 24;
    const f = await api(`/metrics?window_hours=${hoursBack}`);
    const label = windowLabel[hoursBack] || `${hoursBack} h`;
    const hours = f.escalations_per_hour.map((x) => new Date(x.hour).getHours() + ":00");
    const bins = f.stress_bins.slice(0, -1).map((b, i) => `${num(b, 1)}–${num(f.stress_bins[i + 1], 1)}`);
    const span = (s) => (s === null ? "–" : duration(s));
    document.getElementById("figures").replaceChildren(
      card(`Escalations (${label})`, String(f.escalations), "per hour", bars(f.escalations_per_hour.map((x) => x.count), hours, { title: "Escalations per hour" })),
      card("Escalation rate", pct(f.escalation_rate), `of ${f.conversations} conversation(s) started`),
      card("Flag precision", pct(f.flag_precision), `latest verdicts, unflags count as wrong · ${f.feedback_count} verdict(s)`),
      card("Median first reply", span(f.median_first_reply_s), "escalation → first agent reply"),
      card("Median resolution", span(f.median_resolution_s), "escalation → resolved"),
      card("SLA breach rate", pct(f.sla_breach_rate), "of escalated conversations"),
      card("Stress distribution", "", "customer messages, 0 → 1", bars(f.stress_histogram, bins, { title: "Stress score distribution" })),
      card("Customer satisfaction", f.csat_average === null ? "–" : `${num(f.csat_average, 2)} / 5`,
        `${f.csat_responses} rating(s), 1 → 5`, bars(f.csat.distribution, ["1", "2", "3", "4", "5"], { title: "Ratings from 1 to 5" })),
    );
    CsatPanel.render(f.csat);
    document.querySelector("#by-queue tbody").replaceChildren(...f.by_queue.map((q) => h("tr", {},
      h("td", {}, q.queue), h("td", {}, String(q.escalations)), h("td", {}, pct(q.flag_precision)),
      h("td", {}, span(q.median_first_reply_s)), h("td", {}, span(q.median_resolution_s)), h("td", {}, pct(q.sla_breach_rate)))));
    if (!f.by_queue.length) document.querySelector("#by-queue tbody").append(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No escalations in this window.")));
    document.querySelector("#by-agent tbody").replaceChildren(...f.by_agent.map((a) => h("tr", {},
      h("td", {}, a.name), h("td", {}, String(a.conversations_answered)), h("td", {}, String(a.replies)), h("td", {}, String(a.resolved)))));
    if (!f.by_agent.length) document.querySelector("#by-agent tbody").append(h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No agent work in this window.")));
  }

  async function loadQueues() {
    const queues = await api("/queues");
    const box = document.getElementById("queues");
    box.replaceChildren(...queues.map((q) => h("div", { class: `queue-block${q.breaches ? " has-breach" : ""}` },
      h("h3", {}, q.name, h("small", { class: "muted" }, ` ${q.waiting.length} waiting · ${q.assigned} with agents · oldest ${duration(q.oldest_wait_s)}`),
        q.breaches ? h("span", { class: "sla breached" }, `${q.breaches} breach(es)`) : null),
      h("table", { class: "table compact" }, h("tbody", {}, q.waiting.map((w) => h("tr", { class: w.sla_breached ? "breached" : "" },
        h("td", {}, h("button", { type: "button", class: "link", onclick: () => ConversationView.open(w.id) }, w.id)),
        h("td", {}, h("span", { class: `band ${w.priority_band || ""}` }, w.priority_band || "–")),
        h("td", {}, `waiting ${duration(w.waiting_s)}`),
        h("td", {}, h("span", { class: w.sla_breached ? "sla breached" : "sla", dataset: { deadline: w.sla_deadline || "" } },
          w.sla_remaining_s === null ? "no SLA" : w.sla_breached ? `breached ${duration(-w.sla_remaining_s)} ago` : `${duration(w.sla_remaining_s)} left`)))))))));
    if (!queues.length) box.append(h("p", { class: "muted" }, "No open conversations."));
  }

  async function loadAgents() {
    const agents = await api("/agents");
    const body = document.querySelector("#agents tbody");
    body.replaceChildren(...agents.map((a) => {
      const fill = h("span", { class: "bar-fill" });
      fill.style.width = `${a.capacity ? Math.min(100, Math.round((a.load / a.capacity) * 100)) : 0}%`;
      return h("tr", {}, h("td", {}, a.display_name), h("td", {}, h("span", { class: `status ${a.status}` }, a.status)),
        h("td", {}, h("span", { class: "bar load" }, fill), ` ${a.load}/${a.capacity}`), h("td", {}, (a.skills || []).join(", ")));
    }));
  }

  /* The filters live in the page's address (?q=...&queue=...), so a view can be bookmarked and shared;
     the form is filled from it on load and writes it back on each search. */
  const FILTER_DEFAULTS = { flagged: "true" };

  function filterParams() {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(document.getElementById("filters")).entries()) {
      if (value !== "" || key in FILTER_DEFAULTS) params.set(key, value);
    }
    return params;
  }

  function fillFilters(params) {
    const form = document.getElementById("filters");
    for (const field of form.elements) {
      if (!field.name) continue;
      const value = params.has(field.name) ? params.get(field.name) : (FILTER_DEFAULTS[field.name] ?? "");
      if (field.tagName === "SELECT" && value && ![...field.options].some((o) => o.value === value)) {
        field.append(h("option", { value }, value));  // a queue named in a shared link that is not open now
      }
      field.value = value;
    }
  }

  function filterQuery() {
    const params = new URLSearchParams({ limit: "100" });
    for (const [key, value] of filterParams().entries()) {
      if (!value) continue;
      params.set(key, key === "since" ? new Date(value).toISOString() : value);
    }
    return params.toString();
  }

  async function loadFlagged() {
    const page = await api(`/conversations?${filterQuery()}`);
    const body = document.querySelector("#flagged tbody");
    body.replaceChildren(...page.items.map((c) => h("tr", { class: c.sla_breached ? "breached" : "", dataset: { conversationId: c.id } },
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => ConversationView.open(c.id) }, c.id)),
      h("td", {}, h("span", { class: `band ${c.priority_band || ""}` }, `${c.priority_band || "–"} · ${c.priority ?? "–"}`)),
      h("td", {}, c.queue || "–"), h("td", {}, h("span", { class: `state ${c.state}` }, c.state)),
      h("td", {}, num(c.max_stress)), h("td", {}, c.assigned_agent_name || "–"),
      h("td", {}, c.feedback_state ? (c.feedback_state === "correct" ? "right" : "wrong") : "–"), h("td", {}, time(c.escalated_at)))));
    if (!page.items.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No conversations match.")));
    document.getElementById("match-count").textContent = `${page.total} match${page.total === 1 ? "" : "es"}`;
  }

  async function search(event) {
    event.preventDefault();
    const query = filterParams().toString();
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
    await loadFlagged().catch((e) => toast(e.message, "error"));
  }

  async function setUpFilters() {
    document.getElementById("filters").addEventListener("submit", search);  // before any await: no native submit
    const names = await api("/queue-names").catch(() => []);
    document.getElementById("filter-queue").append(...names.map((name) => h("option", { value: name }, name)));
    fillFilters(new URLSearchParams(location.search));
  }

  /* Export: the browser downloads the streamed file itself (the session cookie signs the GET). Dates are
     the supervisor's local days: from the first day's start to the end of the last. */
  function setUpExport() {
    const form = document.getElementById("export-form");
    const today = new Date();
    const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    form.elements.until.value = day(today);
    form.elements.since.value = day(new Date(today.getTime() - 6 * 86400000));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const since = new Date(`${data.get("since")}T00:00:00`);
      const until = new Date(`${data.get("until")}T00:00:00`);
      until.setDate(until.getDate() + 1);
      if (!(until > since)) { toast("The last day must not be before the first.", "error"); return; }
      if (until - since > 366 * 86400000) { toast("An export covers at most 366 days.", "error"); return; }
      const params = new URLSearchParams({ format: data.get("format"), since: since.toISOString(), until: until.toISOString() });
      window.location.assign(`/api/v1/export/${encodeURIComponent(data.get("kind"))}?${params}`);
    });
  }

  /* Alerts (triage/domain/alerts.py): those not acknowledged yet, newest first; acknowledging one is
     audited and reaches the other supervisors through the live feed. */
  async function loadAlerts() {
    const alerts = await api("/alerts?open=true&limit=50");
    document.getElementById("alerts-count").textContent = alerts.length ? `${alerts.length} open` : "";
    const list = document.getElementById("alerts");
    list.replaceChildren(...alerts.map((a) => h("li", { class: `alert ${a.severity}`, dataset: { alertId: a.id } },
      h("span", { class: `severity ${a.severity}` }, a.severity), " ",
      h("span", { class: "alert-text" }, a.text), " ",
      h("span", { class: "muted" }, time(a.created_at)), " ",
      a.conversation_id ? h("button", { type: "button", class: "link", onclick: () => ConversationView.open(a.conversation_id) }, "open") : null, " ",
      h("button", { type: "button", class: "btn small", onclick: () => acknowledgeAlert(a.id) }, "Acknowledge"))));
    if (!alerts.length) list.append(h("li", { class: "empty muted" }, "No open alerts."));
  }

  async function acknowledgeAlert(id) {
    try {
      await api(`/alerts/${id}/acknowledge`, { method: "POST" });
      await loadAlerts();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function refresh() {
    try {
      await Promise.all([loadFigures(), loadAlerts(), loadQueues(), loadAgents(), loadFlagged()]);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  /* SLA timers tick every second between refreshes. */
  function tick() {
    for (const badge of document.querySelectorAll(".sla[data-deadline]")) {
      const deadline = Clearline.timestamp(badge.dataset.deadline);
      if (!deadline) continue;
      const remaining = (deadline - Date.now()) / 1000;
      if (remaining < 0) {
        badge.classList.add("breached");
        badge.textContent = `breached ${duration(-remaining)} ago`;
      } else {
        badge.textContent = `${duration(remaining)} left`;
      }
    }
  }

  const refreshSoon = Clearline.debounce(refresh, 300);
  const refreshOpen = Clearline.debounce(() => ConversationView.refresh(), 300);

  document.addEventListener("DOMContentLoaded", () => {
    ConversationView.onChange(refresh);
    setUpExport();
    document.getElementById("figures-window").addEventListener("change", () => loadFigures().catch((e) => toast(e.message, "error")));
    setUpFilters().then(refresh);
    Clearline.live((record) => {
      refreshSoon();
      if (record.conversation_id && record.conversation_id === ConversationView.currentId()) refreshOpen();
    });
    setInterval(tick, 1000);
    setInterval(refreshSoon, 30000);
  });
})();
