/* The "Suggested next action" card of the conversation view (issue #20): the best action for the agent and
   at most two alternatives, each with its reasons, read when a conversation opens
   (GET .../suggestion: the provider's records are read then, like the customer panel's); Accept or Dismiss
   keeps the verdict (POST .../suggestion/verdict), and the card then says what was decided. Built as text
   nodes only (Clearline.h): a merchant or a reason with markup stays text. */
"use strict";

(() => {
  const { api, h, time, toast } = Clearline;
  const byId = (id) => document.getElementById(id);
  let shownFor = null; // the conversation whose suggestion is drawn

  const path = (id, suffix = "") => `/conversations/${encodeURIComponent(id)}/suggestion${suffix}`;
  const DECIDED = { accepted: "Accepted", dismissed: "Dismissed" };

  function decided(verdict) {
    return h("p", { class: `suggestion-verdict verdict-${verdict.verdict}` },
      `${DECIDED[verdict.verdict] || verdict.verdict} by ${verdict.by} · ${time(verdict.at)}`);
  }

  function buttons(id, suggestion) {
    const comment = h("input", { type: "text", class: "suggestion-comment", maxlength: 1000, placeholder: "Comment (optional)", "aria-label": `Comment on “${suggestion.title}” (optional)` });
    const decide = (verdict) => async (event) => {
      const box = event.currentTarget.parentElement;
      box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      const body = { key: suggestion.key, verdict };
      if (comment.value.trim()) body.comment = comment.value.trim();
      try {
        await api(path(id, "/verdict"), { method: "POST", body });
        toast(verdict === "accepted" ? "Suggestion accepted" : "Suggestion dismissed");
      } catch (error) {
        toast(error.message, "error");
      }
      if (shownFor === id) load(id); // what is suggested now, with the verdict kept
    };
    return h("div", { class: "suggestion-buttons" },
      comment,
      h("button", { class: "btn good", type: "button", onclick: decide("accepted") }, "Accept"),
      h("button", { class: "btn bad", type: "button", onclick: decide("dismissed") }, "Dismiss"));
  }

  function item(id, suggestion, index) {
    return h("article", { class: `suggestion ${index ? "alternative" : "best"}`, dataset: { key: suggestion.key } },
      h("p", { class: "suggestion-kind muted small" }, index ? "Alternative" : "Best next action"),
      h("h4", { class: "suggestion-title" }, suggestion.title),
      h("ul", { class: "suggestion-reasons", "aria-label": "Reasons" }, suggestion.reasons.map((r) => h("li", {}, r))),
      suggestion.verdict ? decided(suggestion.verdict) : buttons(id, suggestion));
  }

  function draw(id, data) {
    const box = byId("suggestion");
    if (!data.suggestions.length) {
      box.replaceChildren(h("p", { class: "suggestion-none muted" }, `No suggestion: ${data.none_because || "nothing fits"}.`));
      return;
    }
    box.replaceChildren(...data.suggestions.map((s, i) => item(id, s, i)));
  }

  async function load(id) {
    const box = byId("suggestion");
    if (!box.childElementCount) box.replaceChildren(h("p", { class: "muted small" }, "Working out a suggestion…"));
    try {
      const data = await api(path(id));
      if (shownFor === id) draw(id, data);
    } catch (error) {
      if (shownFor !== id) return;
      const text = error.status === 503
        ? `Provider unavailable: ${error.message}. No suggestion can be checked against the records.`
        : `The suggestion could not be loaded: ${error.message}`;
      box.replaceChildren(h("p", { class: "provider-down" }, text));
    }
  }

  ConversationView.onRender((detail) => {
    if (!byId("suggestion") || !detail || detail.id === shownFor) return;
    shownFor = detail.id;
    byId("suggestion").replaceChildren();
    load(detail.id);
  });
})();
