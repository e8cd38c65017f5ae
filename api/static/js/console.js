/* Agent console: my conversations and my queues, refreshed from the live socket; notifications (notify.js)
   and keyboard shortcuts (shortcuts.js). */
"use strict";

(() => {
  const { api, h, duration, num, toast } = Clearline;

  function openConversation(id) {
    Notifier.opened(id);
    return ConversationView.open(id).then(refresh);
  }

  function item(conv, extra) {
    const selected = ConversationView.currentId() === conv.id;
    const unread = Notifier.unreadOf(conv.id);
    return h("li", { class: `conv-item${selected ? " selected" : ""}${conv.sla_breached ? " breached" : ""}${unread ? " unread" : ""}` },
      h("button", { type: "button", class: "conv-open", onclick: () => openConversation(conv.id), dataset: { conversationId: conv.id } },
        h("span", { class: `band ${conv.priority_band || ""}` }, conv.priority_band || "–"),
        h("span", { class: "conv-id" }, conv.id),
        unread ? h("span", { class: "unread-badge", title: `${unread} new` }, String(unread)) : null,
        h("span", { class: "conv-sub" }, extra)));
  }

  async function loadMine() {
    const page = await api("/conversations?mine=true&state=assigned&limit=100");
    Notifier.setMine(page.items.map((c) => c.id));
    const list = document.getElementById("mine");
    list.replaceChildren(...page.items.map((c) => item(c, `${c.queue || ""} · stress ${num(c.max_stress)}${c.first_agent_reply_at ? "" : " · awaiting reply"}`)));
    if (!page.items.length) list.append(h("li", { class: "empty" }, "Nothing assigned to you."));
  }

  /* Conversations the agent handled that are back with the assistant: where a missed flag is marked. */
  async function loadRecent() {
    const page = await api("/conversations?mine=true&limit=50");
    const back = page.items.filter((c) => c.state === "bot" || c.state === "resolved").slice(0, 10);
    const list = document.getElementById("recent");
    list.replaceChildren(...back.map((c) => item(c, `${c.state === "resolved" ? "resolved" : "with the assistant"}${c.queue ? ` · ${c.queue}` : ""}`)));
    if (!back.length) list.append(h("li", { class: "empty" }, "None yet."));
  }

  async function loadQueues() {
    const queues = await api("/queues");
    Notifier.queues(queues);
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
      await Promise.all([loadMine(), loadQueues(), loadRecent()]);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  const refreshSoon = Clearline.debounce(refresh, 200);
  const refreshOpen = Clearline.debounce(() => ConversationView.refresh(), 200);

  function setUpNotifications() {
    Notifier.onChange = refreshSoon;
    Notifier.onOpen = openConversation;
    for (const pref of ["sound", "desktop"]) {
      const box = document.getElementById(`notify-${pref}`);
      box.checked = Notifier.wants(pref);
      box.addEventListener("change", async () => { box.checked = await Notifier.setPref(pref, box.checked); });
    }
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && ConversationView.currentId()) Notifier.opened(ConversationView.currentId());
    });
  }

  document.addEventListener("DOMContentLoaded", async () => {
    ConversationView.onChange(refresh);
    setUpNotifications();
    try {
      Notifier.setMe((await api("/auth/me")).user);
    } catch (error) {
      toast(error.message, "error");
    }
    refresh();
    Clearline.live((record) => {
      Notifier.record(record);
      refreshSoon();
      if (record.conversation_id && record.conversation_id === ConversationView.currentId()) refreshOpen();
    });
    setInterval(refreshSoon, 15000); // waiting times and SLA timers move even without events
  });
})();
