/* Supervisor dashboard, "Model health": the active model's drift by day against its reference, and the
   bias audit by segment with a plot (rates with their 95 % intervals against the overall rate). */
"use strict";

(() => {
  const { api, h, svg, num, toast } = Clearline;

  function driftTable(report) {
    const rows = report.days.map((d) => h("tr", { class: d.alert ? "breached" : "" },
      h("td", {}, d.day), h("td", {}, String(d.messages)), h("td", {}, num(d.stress_psi, 3)),
      h("td", {}, d.ks_statistic === null ? "–" : `${num(d.ks_statistic, 3)} (p ${Number(d.ks_pvalue).toPrecision(2)})`),
      h("td", {}, num(d.label_psi, 3)), h("td", {}, num(d.flag_rate, 3)),
      h("td", {}, d.flag_precision === null ? "–" : `${num(d.flag_precision, 3)} (${d.judged})`),
      h("td", {}, d.alert ? h("strong", { class: "drift-alert" }, d.reasons.join("; "))
        : d.messages < report.thresholds.min_messages ? `not judged: under ${report.thresholds.min_messages} messages`
          : "within thresholds")));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No scored messages in the window.")));
    const ref = report.reference;
    return h("div", {},
      h("p", { class: "muted" }, `Model ${report.model_version} against its reference: ${ref.source}, ${ref.n} texts, flag rate ${num(ref.flag_rate, 3)}.`),
      h("table", { class: "table compact", id: "drift-table" },
        h("thead", {}, h("tr", {}, ...["Day", "Messages", "Stress PSI", "KS", "Label PSI", "Flag rate", "Precision (judged)", "Drift"].map((t) => h("th", {}, t)))),
        h("tbody", {}, ...rows)));
  }

  /* One row per segment: a bar for the rate, a whisker for its interval, a line at the overall rate. */
  function ratePlot(dimension, rows, overall, metric) {
    const shown = rows.filter((r) => r[metric] !== null);
    if (!shown.length) return null;
    const rowHeight = 18, labelWidth = 110, width = 360, plotWidth = width - labelWidth - 50;
    const height = shown.length * rowHeight + 6;
    const x = (rate) => labelWidth + rate * plotWidth;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "rate-plot", role: "img",
      "aria-label": `${metric.replace("_", " ")} by ${dimension}` });
    shown.forEach((r, i) => {
      const y = i * rowHeight + 4;
      const [low, high] = r[`${metric}_ci`];
      chart.append(svg("text", { x: 0, y: y + 11, class: "plot-label" }, r.segment));
      const bar = svg("rect", { x: labelWidth, y, width: Math.max(1, r[metric] * plotWidth), height: rowHeight - 6,
        class: r.warnings.length ? "warn" : "" });
      bar.append(svg("title", {}, `${r.segment}: ${num(r[metric], 3)} (${num(low, 3)}–${num(high, 3)})`));
      chart.append(bar, svg("line", { x1: x(low), x2: x(high), y1: y + 6, y2: y + 6, class: "whisker" }),
        svg("text", { x: x(Math.max(high, r[metric])) + 4, y: y + 11, class: "plot-label" }, num(r[metric], 2)));
    });
    if (overall[metric] !== null) {
      chart.append(svg("line", { x1: x(overall[metric]), x2: x(overall[metric]), y1: 0, y2: height, class: "overall" }));
    }
    return chart;
  }

  function biasView(report) {
    const metric = document.getElementById("bias-metric").value;
    const blocks = Object.entries(report.dimensions).map(([dimension, rows]) => {
      const plot = ratePlot(dimension, rows, report.overall, metric);
      return h("figure", { class: "bias-dimension", dataset: { dimension } }, h("figcaption", {}, dimension),
        plot || h("p", { class: "muted" }, "no data"));
    });
    const warnings = report.warnings.length
      ? h("ul", { id: "bias-warnings" }, ...report.warnings.map((w) => h("li", { class: "alert warning" }, w)))
      : h("p", { id: "bias-warnings", class: "muted" }, "No segment differs from the overall rate beyond the configured ratio.");
    return h("div", {}, h("div", { class: "bias-grid" }, ...blocks), warnings);
  }

  function shadowView(report) {
    if (!report.shadow_version) {
      return h("p", { class: "muted", id: "shadow-summary" }, "No shadow model. An admin sets one: clearline models shadow VERSION, or POST /api/v1/models/{version}/shadow.");
    }
    const summary = h("p", { id: "shadow-summary" },
      h("strong", {}, report.shadow_version), report.shadow_active ? " scores beside the active model, acting on nothing: " : " (no longer the shadow): ",
      `${report.scored} message(s) in the window, flagged ${report.flagged_shadow} against the active model's ${report.flagged_active}; `,
      `${report.disagreements} disagreement(s) on the flag (agreement ${report.agreement === null ? "–" : num(report.agreement, 3)}), `,
      `mean stress difference ${num(report.mean_abs_stress_difference, 3)}.`);
    const flag = (flagged, stress) => `${num(stress, 3)} ${flagged ? "(flag)" : "(no flag)"}`;
    const rows = report.latest_disagreements.map((d) => h("tr", {},
      h("td", {}, Clearline.time(d.at)),
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => ConversationView.open(d.conversation_id) }, d.conversation_id)),
      h("td", {}, flag(d.flagged, d.stress)), h("td", {}, flag(d.shadow_flagged, d.shadow_stress))));
    if (!rows.length) return summary;
    return h("div", {}, summary, h("table", { class: "table compact", id: "shadow-table" },
      h("thead", {}, h("tr", {}, ...["When", "Conversation", "Active model", "Shadow model"].map((t) => h("th", {}, t)))),
      h("tbody", {}, ...rows)));
  }

  let lastBias = null;

  async function load() {
    const days = Number(document.getElementById("health-days").value) || 7;
    const drift = document.getElementById("drift");
    try {
      drift.replaceChildren(driftTable(await api(`/monitoring/drift?days=${days}`)));
    } catch (error) {
      drift.replaceChildren(h("p", { class: "muted" }, error.message));
    }
    try {
      document.getElementById("shadow").replaceChildren(shadowView(await api(`/monitoring/shadow?days=${days}`)));
    } catch (error) {
      toast(error.message, "error");
    }
    try {
      lastBias = await api(`/monitoring/bias?days=${days}`);
      document.getElementById("bias").replaceChildren(biasView(lastBias));
    } catch (error) {
      toast(error.message, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!document.getElementById("model-health-panel")) return;
    document.getElementById("health-days").addEventListener("change", load);
    document.getElementById("bias-metric").addEventListener("change", () => {
      if (lastBias) document.getElementById("bias").replaceChildren(biasView(lastBias));
    });
    load();
  });
})();
