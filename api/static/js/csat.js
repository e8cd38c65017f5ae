/* Customer satisfaction on the supervisor's dashboard: the 1-5 ratings of the figures' window, by who
   handled the conversation, by queue and by agent, each a bar on the 1-5 scale with its count. */
"use strict";

const CsatPanel = (() => {
  const { h, svg, num } = Clearline;
  const SCALE = 5;

  // one horizontal bar per group: its average on the 1-5 scale, the number of ratings beside it
  function scaleBar(group) {
    const width = 160;
    const filled = (group.average / SCALE) * width;
    const chart = svg("svg", { viewBox: `0 0 ${width} 12`, class: "csat-bar", role: "img",
      "aria-label": `${group.label}: ${num(group.average, 2)} of ${SCALE} from ${group.responses} rating(s)` });
    chart.append(svg("rect", { x: 0, y: 0, width, height: 12, class: "track" }), svg("rect", { x: 0, y: 0, width: filled, height: 12 }));
    return chart;
  }

  function table(caption, groups, empty) {
    const rows = groups.length
      ? groups.map((g) => h("tr", {}, h("td", {}, g.label), h("td", {}, scaleBar(g)), h("td", { class: "num" }, num(g.average, 2)),
        h("td", { class: "num" }, String(g.responses))))
      : [h("tr", {}, h("td", { colspan: 4, class: "empty" }, empty))];
    return h("table", { class: "table compact csat-table" }, h("caption", {}, caption),
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "Average (1–5)"), h("th", {}, ""), h("th", {}, "Ratings"))),
      h("tbody", {}, ...rows));
  }

  function render(csat) {
    const box = document.getElementById("csat-panel");
    if (!box) return;
    const summary = csat.responses
      ? `${num(csat.average, 2)} of ${SCALE} from ${csat.responses} rating(s) · ` +
        csat.distribution.map((n, i) => `${i + 1}★ ${n}`).join(" · ")
      : "No ratings in this window.";
    box.replaceChildren(
      h("p", { class: "muted", id: "csat-summary" }, summary),
      h("div", { class: "csat-grid" },
        table("Handled by", csat.by_escalated, "No ratings."),
        table("By queue", csat.by_queue, "No rated hand-offs."),
        table("By agent", csat.by_agent, "No rated hand-offs.")),
    );
  }

  return { render };
})();
