/* Agent console tools (issue #20): internal notes in the transcript, canned replies in the reply box, and
   the supervisor's list of canned replies. Everything is built as text nodes (Clearline.h). */
"use strict";

(() => {
  const { api, h, toast, time } = Clearline;
  const byId = (id) => document.getElementById(id);
  const me = Clearline.me();
  const supervising = me && me.role !== "agent";
  let current = null; // the conversation detail last drawn
  let offered = []; // canned replies filled for it

  const path = (suffix) => `/conversations/${encodeURIComponent(current.id)}${suffix}`;
  const stamp = (iso) => Clearline.timestamp(iso) || 0;

  /* Notes go into the transcript at their time, styled apart from messages and labelled as internal. */
  function drawNotes(notes, detail) {
    const list = byId("transcript");
    const sentAt = new Map(detail.messages.map((m) => [String(m.id), stamp(m.created_at)]));
    for (const note of notes) {
      const item = h("li", { class: "msg note", dataset: { noteId: note.id } },
        h("div", { class: "msg-meta" },
          h("span", { class: "sender" }, "Internal note"),
          h("span", {}, note.author_name),
          h("time", {}, time(note.created_at)),
          h("span", { class: "muted" }, "not sent to the customer")),
        h("p", { class: "msg-text" }, note.text));
      const later = [...list.querySelectorAll("li.msg[data-message-id]")]
        .find((li) => (sentAt.get(li.dataset.messageId) || 0) > stamp(note.created_at));
      if (later) list.insertBefore(item, later); else list.append(item);
    }
    const empty = list.querySelector("li.empty");
    if (empty && notes.length) empty.remove();
  }

  async function drawCanned(detail) {
    const pick = byId("canned-pick");
    offered = byId("reply-form").hidden ? [] : await api(path("/canned-replies")).catch(() => []);
    pick.replaceChildren(h("option", { value: "" }, "Canned reply…"),
      ...offered.map((c) => h("option", { value: c.id }, c.queue ? c.title : `${c.title} (every queue)`)));
    pick.hidden = !offered.length;
    byId("canned-hint").hidden = true;
    return detail;
  }

  /* Insert the chosen reply; a variable with no value is selected in the text for the agent to type over. */
  function insertCanned() {
    const pick = byId("canned-pick");
    const chosen = offered.find((c) => String(c.id) === pick.value);
    pick.value = "";
    if (!chosen) return;
    const box = byId("reply-text");
    box.value = box.value.trim() ? `${box.value.trimEnd()} ${chosen.text}` : chosen.text;
    box.focus();
    const hint = byId("canned-hint");
    if (chosen.unfilled.length) {
      const first = `{{${chosen.unfilled[0]}}}`;
      const at = box.value.indexOf(first);
      if (at >= 0) box.setSelectionRange(at, at + first.length);
      hint.textContent = `Fill in ${chosen.unfilled.map((n) => `{{${n}}}`).join(", ")} before sending.`;
      hint.hidden = false;
    } else {
      hint.hidden = true;
    }
  }

  async function onRender(detail) {
    current = detail;
    const canWrite = supervising || detail.assigned_agent_id === me.id;
    byId("note-form").hidden = !canWrite;
    try {
      const notes = await api(path("/notes"));
      if (current === detail) drawNotes(notes, detail);
      if (current === detail) await drawCanned(detail);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function addNote(event) {
    event.preventDefault();
    const box = byId("note-text");
    const text = box.value.trim();
    if (!text || !current) return;
    try {
      await api(path("/notes"), { method: "POST", body: { text } });
      box.value = "";
      toast("Note added (not sent to the customer).", "ok");
    } catch (error) {
      toast(error.message, "error");
    }
    await ConversationView.reload();
  }

  /* -- the supervisor's list of canned replies ---------------------------------------------------- */

  async function loadAdmin() {
    const list = byId("canned-admin");
    try {
      const replies = await api("/canned-replies");
      list.replaceChildren(...replies.map((c) => h("li", {},
        h("strong", {}, c.title), h("span", { class: "muted" }, c.queue || "every queue"), h("span", {}, c.body),
        h("button", { type: "button", class: "btn ghost", onclick: () => removeCanned(c) }, "Delete"))));
      if (!replies.length) list.append(h("li", { class: "empty" }, "No canned replies yet."));
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function removeCanned(reply) {
    if (!window.confirm(`Delete the canned reply “${reply.title}”?`)) return;
    try {
      await api(`/canned-replies/${reply.id}`, { method: "DELETE" });
    } catch (error) {
      toast(error.message, "error");
    }
    await loadAdmin();
  }

  async function addCanned(event) {
    event.preventDefault();
    const form = event.target;
    const values = Object.fromEntries(new FormData(form).entries());
    try {
      await api("/canned-replies", { method: "POST", body: { title: values.title, body: values.body, queue: values.queue || null } });
      form.reset();
      toast("Canned reply saved.", "ok");
    } catch (error) {
      toast(error.message, "error"); // an unknown {{variable}} is named here
    }
    await loadAdmin();
  }

  async function setUpAdmin() {
    const queues = await api("/queue-names").catch(() => []);
    byId("canned-queue").append(...queues.map((name) => h("option", { value: name }, name)));
    byId("canned-form").addEventListener("submit", addCanned);
    await loadAdmin();
  }

  document.addEventListener("DOMContentLoaded", () => {
    ConversationView.onRender(onRender);
    byId("note-form").addEventListener("submit", addNote);
    byId("canned-pick").addEventListener("change", insertCanned);
    byId("note-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        byId("note-form").requestSubmit();
      }
    });
    if (supervising && byId("canned-admin")) setUpAdmin();
  });
})();
