/* The agent's notifications: a new assignment, a customer writing again in one of my conversations, an SLA
   about to breach in my queues. Shown as unread markers and a count in the tab title; optionally a short
   sound and a desktop notification (the browser's Notification API) while the tab is in the background.
   A notification names the conversation, never the customer's words. */
"use strict";

const Notifier = (() => {
  const PREFS = { sound: "clearline.notify.sound", desktop: "clearline.notify.desktop" };
  const SLA_WARNING_S = 60;
  const unread = new Map(); // conversation id -> count of unseen events
  const warned = new Set(); // conversation ids whose SLA warning was given
  const baseTitle = document.title;
  let mine = new Set();
  let meId = null;
  let meName = null;
  let openId = null;
  let audio = null;

  const wants = (pref) => localStorage.getItem(PREFS[pref]) === "1";

  function updateTitle() {
    let total = 0;
    for (const count of unread.values()) total += count;
    document.title = total ? `(${total}) ${baseTitle}` : baseTitle;
    document.documentElement.dataset.unread = String(total);
  }

  function beep() {
    if (!wants("sound")) return;
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch (_error) { /* no audio device: the marker and the title still tell */ }
  }

  function desktop(title, body, conversationId) {
    if (!wants("desktop") || !("Notification" in window) || Notification.permission !== "granted") return;
    if (!document.hidden) return; // the page itself shows it
    const note = new Notification(title, { body, tag: conversationId });
    note.onclick = () => { window.focus(); if (Notifier.onOpen) Notifier.onOpen(conversationId); note.close(); };
  }

  function bump(conversationId, title, body) {
    if (conversationId === openId && !document.hidden) return; // the agent is looking at it
    unread.set(conversationId, (unread.get(conversationId) || 0) + 1);
    updateTitle();
    beep();
    desktop(title, body, conversationId);
    if (Notifier.onChange) Notifier.onChange();
  }

  return {
    onChange: null,
    onOpen: null,
    setMe(user) { meId = user.id; meName = user.username; },
    setMine(ids) { mine = new Set(ids); },
    unreadOf(id) { return unread.get(id) || 0; },
    opened(id) {
      openId = id;
      if (unread.delete(id)) { updateTitle(); if (Notifier.onChange) Notifier.onChange(); }
    },
    /* An audit record from the live feed. */
    record(record) {
      const id = record.conversation_id;
      if (!id) return;
      const outcome = record.outcome || {};
      const toMe = outcome.agent_id === meId || outcome.assigned_agent_id === meId;
      // routed, transferred or reassigned to me by someone else (taking one myself needs no alert)
      if (["assign", "accept", "transfer"].includes(record.action) && toMe && record.actor !== meName) {
        mine.add(id);
        bump(id, "New conversation for you", `Conversation ${id} was assigned to you.`);
      } else if (["score", "score_refused"].includes(record.action) && mine.has(id)) {
        bump(id, "The customer wrote again", `New message in conversation ${id}.`);
      }
    },
    /* The queues as /queues gives them: warn once per conversation whose SLA is about to breach. */
    queues(queues) {
      for (const queue of queues) {
        for (const w of queue.waiting) {
          const soon = w.sla_remaining_s !== null && !w.sla_breached && w.sla_remaining_s <= SLA_WARNING_S;
          if (soon && !warned.has(w.id)) {
            warned.add(w.id);
            bump(w.id, "SLA about to breach", `Conversation ${w.id} in ${queue.name}: under a minute left.`);
          }
        }
      }
    },
    prefs: PREFS,
    wants,
    async setPref(pref, on) {
      if (on && pref === "desktop" && "Notification" in window && Notification.permission !== "granted") {
        on = (await Notification.requestPermission()) === "granted";
      }
      localStorage.setItem(PREFS[pref], on ? "1" : "0");
      return on;
    },
  };
})();
