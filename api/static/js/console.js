/* Agent console: my conversations and my queues, refreshed from the live socket. */
"use strict";

(() => {
  const { api, h, duration, num, toast } = Clearline;

  function item(conv, extra) {
    const selected = ConversationView.currentId() === conv.id;
    return h("li", { class: `conv-item${selected ? " selected" : ""}${conv.sla_breached ? " breached" : ""}` },
      h("button", { type: "button", class: "conv-open", onclick: () => ConversationView.open(conv.id).then(refresh), dataset: { conversationId: conv.id } },
        h("span", { class: `band ${conv.priority_band || ""}` }, conv.priority_band || "–"),
        h("span", { class: "conv-id" }, conv.id),
        h("span", { class: "conv-sub" }, extra)));
  }

  async function loadMine() {
    const page = await api("/conversations?mine=true&state=assigned&limit=100");
    const list = document.getElementById("mine");
    list.replaceChildren(...page.items.map((c) => item(c, `${c.queue || ""} · stress ${num(c.max_stress)}${c.first_agent_reply_at ? "" : " · awaiting reply"}`)));
    if (!page.items.length) list.append(h("li", { class: "empty" }, "Nothing assigned to you."));
  }

  async function loadQueues() {
    const queues = await api("/queues");
    const box = document.getElementById("queues");
    box.replaceChildren(...queues.map((q) => h("div", { class: "queue-block" },
      h("h3", {}, q.name, h("small", { class: "muted" }, ` ${q.waiting.length} waiting · ${q.assigned} with agents`)),
      h("ul", { class: "conv-list" }, q.waiting.length
        ? q.waiting.map((w) => item({ ...w, state: "queued" }, `waiting ${duration(w.waiting_s)}${w.sla_remaining_s !== null ? ` · SLA ${w.sla_breached ? "breached" : duration(w.sla_remaining_s)}` : ""}`))
        : [h("li", { class: "empty" }, "Empty.")]))));
    if (!queues.length) box.append(h("p", { class: "muted" }, "You have no queues (ask an admin to add skills)."));
  }

  async function refresh() {
    try {
      await Promise.all([loadMine(), loadQueues()]);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  const refreshSoon = Clearline.debounce(refresh, 200);
  const refreshOpen = Clearline.debounce(() => ConversationView.refresh(), 200);

  document.addEventListener("DOMContentLoaded", () => {
    ConversationView.onChange(refresh);
    refresh();
    Clearline.live((record) => {
      refreshSoon();
      if (record.conversation_id && record.conversation_id === ConversationView.currentId()) refreshOpen();
    });
    setInterval(refreshSoon, 15000); // waiting times and SLA timers move even without events
  });
})();
