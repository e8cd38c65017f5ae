/* The typing indicator in the console (issue #20): "Customer is typing…" read every 2 s while a
   conversation waiting for or with an agent is open, and the agent's own typing in the reply box
   signalled (never the text) at most every 2.5 s, so the customer's chat shows "<name> is typing…".
   The api clears the agent's signal with the reply; the signal expires 6 s after the last one. */
"use strict";

(() => {
  const { api } = Clearline;
  const SEND_EVERY_MS = 2500;
  const READ_EVERY_MS = 2000;
  const byId = (id) => document.getElementById(id);
  let current = null; // the open conversation's detail
  let lastSent = 0; // when this agent's last "typing" went out for it; 0: none since the last reply
  let generation = 0; // bumped when another conversation opens: an older read is not shown

  const open = () => current && ["queued", "assigned"].includes(current.state);
  const path = () => `/conversations/${encodeURIComponent(current.id)}/typing`;

  function show(typing) {
    const box = byId("customer-typing");
    if (box) box.textContent = typing ? "Customer is typing…" : ""; // aria-live polite, text only
  }

  async function read() {
    if (!open() || document.hidden) return;
    const started = generation;
    try {
      const answer = await api(path());
      if (started === generation) show(answer.customer_typing);
    } catch (_error) {
      /* the next read says; a conversation taken away shows nothing */
    }
  }

  function signal(typing) {
    api(path(), { method: "POST", body: { typing } }).catch(() => {}); // e.g. 409 once resolved: no indicator
  }

  function typed() {
    const form = byId("reply-form");
    if (!current || current.state !== "assigned" || !form || form.hidden) return; // only who may reply
    const text = byId("reply-text").value.trim();
    const now = Date.now();
    if (!text) {
      if (lastSent) signal(false);
      lastSent = 0;
    } else if (now - lastSent >= SEND_EVERY_MS) {
      lastSent = now;
      signal(true);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const box = byId("reply-text");
    if (!box || !byId("customer-typing")) return;
    ConversationView.onRender((detail) => {
      if (!detail) return;
      if (!current || current.id !== detail.id) {
        generation += 1;
        lastSent = 0;
        show(false);
        current = detail;
        read();
      } else {
        current = detail;
        if (!open()) show(false);
      }
    });
    box.addEventListener("input", typed);
    byId("reply-form").addEventListener("submit", () => { lastSent = 0; }); // the reply clears it on the api
    setInterval(read, READ_EVERY_MS);
  });
})();
