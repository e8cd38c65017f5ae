/* The web chat's typing indicator, both ways (issue #20): "<agent> is typing…" read from the api every
   2 s while a person is on the line, and the customer's own typing signalled (never the text) at most
   every 2.5 s while waiting for or talking to one. chat.js calls it; the api ignores a signal sent while
   the assistant answers, so the page need not know the state exactly. */
"use strict";

const ChatTyping = (() => {
  const SEND_EVERY_MS = 2500; // the api counts a signal for 6 s
  const READ_EVERY_MS = 2000;
  let box = null;
  let active = false; // waiting for or with a person
  let lastSent = 0; // when the customer's last "typing" went out; 0: none since the last message
  let generation = 0; // a read started before a message arrived must not show the indicator again

  function show(name) {
    // always in the page with aria-live polite: screen readers hear the change, the text is text
    box.textContent = name ? `${name} is typing…` : "";
  }

  function signal(typing) {
    fetch("/api/v1/chat/typing", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Clearline-Chat": "1" },
      body: JSON.stringify({ typing }),
    }).catch(() => {}); // a lost signal only means no indicator for a moment
  }

  async function read() {
    if (!active || document.hidden) return;
    const started = generation;
    try {
      const response = await fetch("/api/v1/chat/typing", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const answer = await response.json();
      if (started !== generation || !active) return;
      show(answer.agent_typing ? (typeof answer.agent === "string" && answer.agent) || "Support team" : "");
    } catch (_error) {
      /* offline for a moment: the next read says */
    }
  }

  return {
    start(indicator) {
      box = indicator;
      show("");
      setInterval(read, READ_EVERY_MS);
    },
    /* whether a person is on the line (or awaited): only then is typing shown or signalled */
    setActive(value) {
      active = Boolean(value);
      if (!active) { generation += 1; show(""); }
    },
    /* the customer's box changed */
    typed(text) {
      if (!active) return;
      const now = Date.now();
      if (!text) {
        if (lastSent) signal(false);
        lastSent = 0;
      } else if (now - lastSent >= SEND_EVERY_MS) {
        lastSent = now;
        signal(true);
      }
    },
    /* the customer sent a message: their indicator goes at once in the console */
    sent() {
      if (lastSent) signal(false);
      lastSent = 0;
    },
    /* a message from the agent arrived: the indicator goes with it */
    messageArrived() {
      generation += 1;
      show("");
    },
  };
})();
