/* The customer panel of the conversation view (issue #20): who the customer is as far as the bot verified
   it, from the provider's records, read once when a conversation opens (GET .../customer; audited), and
   their earlier conversations (GET .../earlier). Built as text nodes only (Clearline.h): a name or a
   merchant with markup stays text. */
"use strict";

(() => {
  const { api, h } = Clearline;
  const byId = (id) => document.getElementById(id);
  let shownFor = null; // the conversation whose customer is drawn: redraws of the same one read nothing

  const day = (iso) => (iso ? new Date(`${iso}T00:00:00`).toLocaleDateString() : null);
  const dated = (label, iso) => (iso ? `${label} ${day(iso)}` : null);
  const joined = (...parts) => parts.filter(Boolean).join(" · ");

  const NOT_VERIFIED = {
    channel: "Not verified: this channel's sender ids identify nobody, so the provider's records are not read.",
    unknown: "Not verified: the provider's records name no customer for this conversation.",
  };

  function line(cls, ...children) {
    return h("li", { class: cls }, ...children);
  }

  function cards(list) {
    if (!list.length) return h("p", { class: "muted small" }, "No cards.");
    return h("ul", { class: "customer-list", "aria-label": "Cards" },
      list.map((c) => line(`card status-${c.status}`,
        h("strong", {}, `•••• ${c.last_four}`), " ",
        h("span", { class: "muted" }, joined(c.kind, c.status, dated("dispatched", c.dispatched_on), dated("expected", c.expected_by))))));
  }

  function payments(title, list, counterparty, when, reason) {
    const body = list.length
      ? h("ul", { class: "customer-list", "aria-label": title },
          list.map((p) => line(`payment status-${p.status}`,
            h("span", { class: "ref" }, p.reference), " ",
            h("span", {}, p[counterparty]), " ",
            h("strong", { class: "amount" }, p.amount), " ",
            h("span", { class: "muted" }, joined(p.status, when(p))),
            p[reason] ? h("div", { class: "reason small" }, p[reason]) : null)))
      : h("p", { class: "muted small" }, `No ${title.toLowerCase()}.`);
    return [h("h4", {}, title, " ", h("small", { class: "muted" }, "newest 5")), body];
  }

  function draw(data) {
    const box = byId("customer");
    if (!data.verified) {
      box.replaceChildren(h("p", { class: "unverified" }, NOT_VERIFIED[data.not_verified_because] || "Not verified."));
      return;
    }
    box.replaceChildren(
      h("p", { class: "customer-who" },
        h("span", { class: "badge verified" }, "verified"), " ",
        h("strong", { class: "customer-name" }, data.name), " ",
        h("span", { class: "muted" }, data.tier ? `${data.tier} tier` : "tier unknown")),
      h("h4", {}, "Cards"),
      cards(data.cards),
      ...payments("Transfers", data.transfers, "counterparty",
        (t) => joined(dated("on", t.created_on), dated("settled", t.settled_on), dated("expected", t.expected_by)), "failure_reason"),
      ...payments("Refunds", data.refunds, "merchant",
        (r) => joined(dated("issued", r.issued_on), dated("completed", r.completed_on), dated("expected", r.expected_by)), "rejection_reason"));
  }

  const OUTCOME = { bot: "with the bot", queued: "waiting for our team", assigned: "with our team", resolved: "resolved" };

  function outcome(c) {
    const handled = c.escalated ? (c.agent ? `handed to ${c.agent}` : "handed to our team") : "the bot alone";
    const rated = c.csat === null ? null : `rated ${c.csat}/5`;
    return joined(handled, OUTCOME[c.state] || c.state, c.queue, rated);
  }

  /* The same customer's other conversations (Clearline's own records, linked by the bot's reference to
     who the customer is): when each started, on which channel, how it ended; a button opens one. */
  function drawEarlier(data) {
    const title = h("h4", {}, "Earlier conversations");
    if (!data.linked) return h("div", { class: "customer-earlier" }, title,
      h("p", { class: "muted small" }, "Not linked: the bot does not know who this customer is."));
    const rows = data.conversations.map((c) => line("earlier",
      h("button", { type: "button", class: "link", onclick: () => ConversationView.open(c.id) }, new Date(c.started_at).toLocaleDateString()),
      " ", h("span", { class: "muted" }, joined(c.channel, outcome(c)))));
    const hidden = data.not_shown ? h("p", { class: "muted small" }, `${data.not_shown} more in queues you do not work in.`) : null;
    return h("div", { class: "customer-earlier" }, title,
      rows.length ? h("ul", { class: "customer-list", "aria-label": "Earlier conversations" }, rows)
        : h("p", { class: "muted small" }, "None."), hidden);
  }

  async function loadEarlier(id) {
    let part;
    try {
      part = drawEarlier(await api(`/conversations/${encodeURIComponent(id)}/earlier`));
    } catch (error) {
      part = h("div", { class: "customer-earlier" }, h("p", { class: "muted small" }, `Earlier conversations could not be loaded: ${error.message}`));
    }
    if (shownFor === id) byId("customer").append(part);
  }

  /* The panel reads the provider once per opened conversation; this reads it again (audited once per
     viewer in ten minutes, like the transcript). */
  const again = () => h("button", { class: "btn small", type: "button", onclick: () => load(shownFor) }, "Read again");

  async function load(id) {
    const box = byId("customer");
    box.replaceChildren(h("p", { class: "muted small" }, "Reading the provider's records…"));
    try {
      const data = await api(`/conversations/${encodeURIComponent(id)}/customer`);
      if (shownFor !== id) return;
      draw(data);
      byId("customer").append(again());
    } catch (error) {
      if (shownFor !== id) return;
      const text = error.status === 503
        ? `Provider unavailable: ${error.message}. The rest of the conversation is unaffected.`
        : `The customer could not be loaded: ${error.message}`;
      box.replaceChildren(h("p", { class: "provider-down" }, text), again());
    }
    if (shownFor === id) await loadEarlier(id);  // Clearline's own records: shown with the provider down too
  }

  ConversationView.onRender((detail) => {
    if (!byId("customer") || !detail || detail.id === shownFor) return;
    shownFor = detail.id;
    load(detail.id);
  });
})();
