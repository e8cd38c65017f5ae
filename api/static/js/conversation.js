/* One conversation: header, actions, explanation view, reply, feedback, audit (console and dashboard). */
"use strict";

const ConversationView = (() => {
  const { api, h, toast, duration, time, num } = Clearline;
  const byId = (id) => document.getElementById(id);
  const me = Clearline.me();
  const supervising = me && me.role !== "agent";
  let detail = null;
  let unmarked = new Map();
  /* words of the customer's messages a person adds to the highlights (sent with a verdict or a missed
     flag), and whether the transcript's words are toggles right now */
  let added = new Map();
  let adding = false;
  let missedFlags = [];
  let missedForm = null; // the open missed-flag form: kept (with what was typed) when the view redraws
  let changed = () => {};
  const renderHooks = []; // other panels drawn from the same detail (agent_tools.js: notes, canned replies)

  const latestEscalation = () => (detail && detail.escalations.length ? detail.escalations[detail.escalations.length - 1] : null);
  const path = (suffix = "") => `/conversations/${encodeURIComponent(detail.id)}${suffix}`;

  async function open(id) {
    unmarked = new Map();
    added = new Map();
    adding = false;
    missedForm = null;
    await load(id);
    const view = byId("conversation");
    view.hidden = false;
    const placeholder = byId("placeholder");
    if (placeholder) placeholder.hidden = true;
    view.scrollIntoView({ block: "nearest" });
    // open at the message that triggered the escalation (the explained one), not at the top
    const escalation = latestEscalation();
    const trigger = escalation && (escalation.explanations || []).find((e) => e.message_id);
    if (trigger) showMessage(trigger.message_id, "trigger");
  }

  /* Scroll the transcript to a message and mark it for a moment (the trigger stays marked). */
  function showMessage(messageId, mark = "flash") {
    const item = document.querySelector(`#transcript li[data-message-id="${Number(messageId)}"]`);
    if (!item) return;
    item.classList.add(mark);
    item.scrollIntoView({ block: "center" });
    if (mark === "flash") setTimeout(() => item.classList.remove("flash"), 1500);
  }

  async function load(id) {
    const base = `/conversations/${encodeURIComponent(id)}`;
    try {
      [detail, missedFlags] = await Promise.all([api(base), api(`${base}/missed-flag`).catch(() => [])]);
    } catch (error) {
      toast(error.message, "error");
      return;
    }
    redraw();
    if (supervising) await loadAudit();
  }

  /* The view and the panels drawn with it (the notes go into the transcript). */
  function redraw() {
    render();
    for (const hook of renderHooks) hook(detail);
  }

  /* The policy's own flag stands: feedback goes on that escalation, not as a missed flag. */
  const flaggedByPolicy = () => detail.escalations.some((e) => e.trigger === "policy" && !e.unflagged);

  function render() {
    const escalation = latestEscalation();
    byId("conv-title").textContent = `Conversation ${detail.id}`;
    const meta = byId("conv-meta");
    meta.replaceChildren(...[
      h("span", { class: `state ${detail.state}` }, detail.state),
      detail.priority_band ? h("span", { class: `band ${detail.priority_band}` }, `${detail.priority_band} · ${detail.priority}`) : null,
      detail.queue ? h("span", { class: "queue" }, `queue ${detail.queue}`) : null,
      detail.assigned_agent_name ? h("span", {}, `agent ${detail.assigned_agent_name}`) : null,
      h("span", {}, `tier ${detail.customer_tier}`),
      detail.language ? h("span", { class: "lang", title: "the customer's language" }, `language ${detail.language}`) : null,
      slaBadge(detail),
    ].filter(Boolean));
    renderActions();
    const explanations = escalation ? escalation.explanations : [];
    const factors = escalation ? escalation.factors || [] : [];
    Explain.renderFactors(byId("factors"), escalation);
    byId("faithfulness").textContent = escalation ? Explain.faithfulnessSentence(explanations) : "";
    // the points are the scored customer messages in order: each point's card tells that turn's reasons
    const scored = detail.messages.filter((m) => m.sender === "customer" && m.stress !== null && m.stress !== undefined);
    const turns = scored.length === (detail.stress_trajectory || []).length
      ? scored.map((message) => ({ message, explanation: (explanations || []).find((e) => e.message_id === message.id), factors }))
      : [];
    Explain.renderTrajectory(byId("trajectory"), detail.stress_trajectory, detail.stress_counts_from, turns, (id) => showMessage(id));
    const addingWords = { active: adding, isAdded: (key) => added.has(key), toggle: toggleAdded };
    Explain.renderTranscript(byId("transcript"), detail.messages, explanations, (key) => unmarked.has(key), toggleWord, factors, addingWords);
    Explain.renderEmotions(byId("emotions"), detail.messages);
    // pending or failed, and no signal words: no highlights
    byId("legend").hidden = !explanations.some((e) => e.words && e.words.length)
      && !factors.some((f) => Array.isArray(f.words) && f.words.length);
    byId("feedback-panel").hidden = !escalation;
    byId("feedback-state").textContent = escalation
      ? escalation.unflagged ? "This flag was withdrawn." : escalation.feedback_state ? `Marked ${escalation.feedback_state === "correct" ? "right" : "wrong"}.` : "No feedback yet."
      : "";
    updateUnmarkedCount();
    updateAddedCount();
    renderMissedFlags();
    const canReply = detail.state === "assigned" && (supervising || detail.assigned_agent_id === me.id);
    byId("reply-form").hidden = !canReply;
  }

  function slaBadge(conv) {
    if (!conv.sla_deadline || conv.first_agent_reply_at || !["queued", "assigned"].includes(conv.state)) return null;
    const remaining = (Clearline.timestamp(conv.sla_deadline) - Date.now()) / 1000;
    const breached = conv.sla_breached || remaining < 0;
    return h("span", { class: breached ? "sla breached" : "sla", dataset: { deadline: conv.sla_deadline } },
      breached ? `SLA breached ${duration(-remaining)} ago` : `SLA ${duration(remaining)} left`);
  }

  function toggleWord(key, word, mark) {
    if (unmarked.has(key)) unmarked.delete(key); else unmarked.set(key, word);
    mark.classList.toggle("unmarked", unmarked.has(key));
    updateUnmarkedCount();
  }

  function updateUnmarkedCount() {
    byId("unmarked-count").textContent = unmarked.size
      ? `${unmarked.size} word(s) unmarked: they will be sent with your verdict.`
      : "Click a highlighted word (on a touch screen: tap it, then “Not a reason”) to say it should not have been highlighted.";
  }

  function toggleAdded(key, word) {
    if (added.has(key)) added.delete(key); else added.set(key, word);
    updateAddedCount();
    return added.has(key);
  }

  /* Turn the customer's words into toggles (or back into text); the words added so far stay marked. */
  function setAdding(on) {
    adding = on;
    redraw();
  }

  function updateAddedCount() {
    const toggle = byId("add-words");
    toggle.setAttribute("aria-pressed", String(adding));
    toggle.textContent = adding ? "Done adding words" : "Add words the model missed";
    const text = added.size
      ? `${added.size} word(s) added: they will be sent with your verdict or missed flag.`
      : adding ? "Click or tap a word of the customer's that should have been highlighted." : "";
    for (const id of ["added-count", "missed-added-count"]) {
      const line = byId(id);
      if (line) line.textContent = text;
    }
  }

  /* Who said the policy missed this conversation, and about what. */
  function renderMissedFlags() {
    const panel = byId("missed-panel");
    panel.hidden = !missedFlags.length;
    const number = new Map(detail.messages.filter((m) => m.sender === "customer").map((m, i) => [m.id, i + 1]));
    byId("missed-flags").replaceChildren(...missedFlags.map((m) => h("li", {},
      h("time", {}, time(m.created_at)), " ", h("strong", {}, m.user_name),
      m.message_id ? ` · customer message ${number.get(m.message_id) || m.message_id}` : "",
      m.words.length ? ` · words: ${m.words.map((w) => `“${w.word}”`).join(", ")}` : "",
      m.comment ? h("span", { class: "reason" }, ` — “${m.comment}”`) : null)));
  }

  /* The policy should have escalated this conversation: which customer message (optional), why
     (optional), and the words that should have been highlighted (the transcript's words are toggles
     while this form is open). */
  function missedFlagForm() {
    const customer = detail.messages.filter((m) => m.sender === "customer");
    const short = (text) => (text.length > 60 ? `${text.slice(0, 60)}…` : text);
    const message = h("select", { name: "message_id", id: "missed-message" },
      h("option", { value: "" }, "No message in particular"),
      customer.map((m, i) => h("option", { value: m.id }, `Message ${i + 1}: ${short(m.text)}`)));
    const comment = h("textarea", { name: "comment", id: "missed-comment", rows: 2, maxlength: 1000, placeholder: "optional: why it should have gone to a person" });
    const close = () => { missedForm = null; setAdding(false); };
    const form = h("form", { class: "action-form", id: "missed-form" }, h("strong", {}, "Missed flag"),
      h("label", {}, "Message that should have triggered it", message),
      h("label", {}, "Comment", comment),
      h("p", { class: "muted small", id: "missed-added-count" }),
      h("button", { class: "btn primary", type: "submit" }, "Mark missed flag"),
      h("button", { class: "btn ghost", type: "button", onclick: close }, "Cancel"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { words: [...added.values()] };
      if (message.value) body.message_id = Number(message.value);
      if (comment.value.trim()) body.comment = comment.value.trim();
      try {
        await api(path("/missed-flag"), { method: "POST", body });
        added = new Map();
        toast("Thanks: the missed flag is stored.", "ok");
      } catch (error) {
        toast(error.message, "error");
        return;
      }
      missedForm = null;
      adding = false;
      await load(detail.id);
      changed();
    });
    missedForm = form;
    setAdding(true); // the customer's words become toggles
    message.focus();
  }

  function renderActions() {
    const box = byId("conv-actions");
    box.replaceChildren();
    if (missedForm) {
      box.append(missedForm);
      return;
    }
    const open = ["queued", "assigned"].includes(detail.state);
    const mine = detail.assigned_agent_id === me.id;
    const escalation = latestEscalation();
    if (!supervising && detail.state === "queued") {
      box.append(button("Accept", "primary", () => act("/accept", {})));
    }
    if (open && (supervising || mine)) {
      box.append(button("Transfer", "", transferForm));
      box.append(button("Resolve", "", resolveForm));
    }
    if (supervising && open) {
      box.append(button("Reassign", "", reassignForm));
      box.append(button("Priority", "", () => showForm("Set priority", [field("priority", "Priority (0-100)", "number")], (v) => act("/priority", { ...v, priority: Number(v.priority) }))));
    }
    if (supervising && escalation && !escalation.unflagged) {
      box.append(button("Unflag", "bad", () => showForm("Withdraw this flag", [], (v) => escalationAct(`/escalations/${escalation.id}/unflag`, v))));
    }
    if (!flaggedByPolicy()) box.append(button("Missed flag", "", missedFlagForm));
  }

  const button = (label, kind, onclick) => h("button", { type: "button", class: `btn ${kind}`, onclick }, label);
  const field = (name, label, type, options) => ({ name, label, type, options });

  /* Resolve: a closing message for the customer is offered (sent as the agent's reply first); with no
     agent reply yet and no closing message, a reason is required (kept in the audit trail). */
  function resolveForm() {
    const answered = Boolean(detail.first_agent_reply_at);
    const canWrite = detail.state === "assigned"; // a queued conversation has nobody to write from
    const closing = h("textarea", { name: "closing_message", rows: 2, maxlength: 2000, placeholder: "e.g. Glad I could help. The assistant is here if you need anything else." });
    const reason = h("input", { name: "reason", minlength: 3, maxlength: 500, placeholder: answered ? "optional" : "needed without a closing message or reply" });
    const form = h("form", { class: "action-form", id: "resolve-form" }, h("strong", {}, "Resolve"),
      canWrite ? h("label", {}, "Closing message to the customer (optional)", closing) : null, h("label", {}, "Reason", reason),
      h("button", { class: "btn primary", type: "submit" }, "Resolve"),
      h("button", { class: "btn ghost", type: "button", onclick: () => renderActions() }, "Cancel"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = {};
      if (closing.value.trim()) body.closing_message = closing.value.trim();
      if (reason.value.trim()) body.reason = reason.value.trim();
      if (!answered && !body.closing_message && !body.reason) {
        toast(canWrite ? "No one has answered the customer: write a closing message or give a reason." : "No one has answered the customer: give a reason.", "error");
        return;
      }
      act("/resolve", body);
    });
    byId("conv-actions").replaceChildren(form);
    (canWrite ? closing : reason).focus();
  }

  async function transferForm() {
    const names = await api("/queue-names");
    const options = names.filter((name) => name !== detail.queue).map((name) => [name, name]);
    showForm("Transfer to queue", [field("to_queue", "Queue", "select", options)], (v) => act("/transfer", v));
  }

  async function reassignForm() {
    const agents = await api("/agents");
    const options = agents.map((a) => [a.id, `${a.display_name} (${a.status}, ${a.load}/${a.capacity})`]);
    showForm("Reassign to agent", [field("to_agent_id", "Agent", "select", options)], (v) => {
      const agent = agents.find((a) => a.id === Number(v.to_agent_id));
      // an agent at capacity takes it only with the supervisor's confirmation, for the same reason
      const full = agent && agent.load >= agent.capacity;
      if (full && !window.confirm(`${agent.display_name} is at capacity (${agent.load}/${agent.capacity}). Assign anyway?`)) return;
      act("/reassign", { ...v, to_agent_id: Number(v.to_agent_id), ...(full ? { over_capacity_reason: v.reason } : {}) });
    });
  }

  /* An inline form under the header; every supervisor override needs a reason. */
  function showForm(title, fields, submit) {
    const box = byId("conv-actions");
    const inputs = fields.map((f) => {
      const input = f.type === "select"
        ? h("select", { name: f.name, required: true }, f.options.map(([value, label]) => h("option", { value }, label)))
        : h("input", { name: f.name, type: f.type, required: true, min: f.type === "number" ? 0 : null, max: f.type === "number" ? 100 : null, maxlength: 64 });
      return h("label", {}, f.label, input);
    });
    const reason = h("input", { name: "reason", required: true, minlength: 3, maxlength: 500, placeholder: "Why? (kept in the audit trail)" });
    const form = h("form", { class: "action-form" }, h("strong", {}, title), inputs, h("label", {}, "Reason", reason),
      h("button", { class: "btn primary", type: "submit" }, "Confirm"),
      h("button", { class: "btn ghost", type: "button", onclick: () => renderActions() }, "Cancel"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = Object.fromEntries(new FormData(form).entries());
      submit(values);
    });
    box.replaceChildren(form);
    (form.querySelector("input, select") || reason).focus();
  }

  async function act(suffix, body) {
    try {
      await api(path(suffix), { method: "POST", body: { ...body, expected_version: detail.version } });
      toast("Done.", "ok");
    } catch (error) {
      toast(error.status === 409 ? `Someone changed this conversation first: ${error.message}` : error.message, "error");
    }
    await load(detail.id);
    changed();
  }

  async function escalationAct(url, body) {
    try {
      await api(url, { method: "POST", body });
      toast("Done.", "ok");
    } catch (error) {
      toast(error.message, "error");
    }
    await load(detail.id);
    changed();
  }

  async function loadAudit() {
    const panel = byId("audit-panel");
    panel.hidden = false;
    const records = await api(path("/audit")).catch(() => []);
    const list = byId("audit");
    list.replaceChildren(...records.map((r) => h("li", {},
      h("time", {}, time(r.at)), " ", h("strong", {}, r.action), ` by ${r.actor}`,
      r.inputs && r.inputs.reason ? h("span", { class: "reason" }, ` — “${r.inputs.reason}”`) : null)));
    if (!records.length) list.append(h("li", { class: "empty" }, "No records."));
  }

  document.addEventListener("DOMContentLoaded", () => {
    byId("reply-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const box = byId("reply-text");
      const text = box.value.trim();
      if (!text) return;
      try {
        await api(path("/reply"), { method: "POST", body: { text } });
        box.value = "";
      } catch (error) {
        toast(error.message, "error");
      }
      await load(detail.id);
      changed();
    });
    byId("reply-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        byId("reply-form").requestSubmit();
      }
    });
    byId("add-words").addEventListener("click", () => setAdding(!adding));
    for (const btn of document.querySelectorAll("#feedback-panel [data-verdict]")) {
      btn.addEventListener("click", async () => {
        const escalation = latestEscalation();
        if (!escalation) return;
        try {
          const body = { verdict: btn.dataset.verdict, unmarked_words: [...unmarked.values()], added_words: [...added.values()] };
          const comment = byId("feedback-comment").value.trim();
          if (comment) body.comment = comment;
          await api(`/escalations/${escalation.id}/feedback`, { method: "POST", body });
          unmarked = new Map();
          added = new Map();
          adding = false;
          byId("feedback-comment").value = "";
          toast("Thanks: your feedback is stored.", "ok");
        } catch (error) {
          toast(error.message, "error");
        }
        await load(detail.id);
        changed();
      });
    }
  });

  return {
    open,
    currentId: () => (detail ? detail.id : null),
    refresh: () => (detail ? load(detail.id) : null),
    onChange: (fn) => { changed = fn; },
    onRender: (fn) => { renderHooks.push(fn); },
    reload: () => (detail ? load(detail.id).then(() => changed()) : null),
    slaBadge,
  };
})();
