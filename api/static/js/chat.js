/* Customer chat: Rasa's socket.io channel (user_uttered / bot_uttered, session_request / session_confirm). */
"use strict";

(() => {
  const root = document.getElementById("chat");
  const log = document.getElementById("chat-log");
  const quick = document.getElementById("quick-replies");
  const status = document.getElementById("chat-status");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-text");
  // Which conversation this browser holds is the api's signed cookie (api/chat_identity.py), given with
  // the page; after a reload the page asks the api for that conversation's transcript and true state.
  // Clearline marks its hand-off messages structurally ({"clearline": {"handoff": ...}}, set on the bot
  // event and passed on by bot/channels/web_chat.py); the page never guesses the state from words.
  let withAgent = false;

  function setWithAgent(value) {
    withAgent = value;
    ChatTyping.setActive(value); // "<agent> is typing…" and the customer's own signal (chat_typing.js)
  }

  /* A stored text with its redactions ([{entity, start, end}]) as text nodes and "hidden" chips. */
  function redactedText(body, text, redactions) {
    let at = 0;
    for (const span of [...redactions].sort((a, b) => a.start - b.start)) {
      if (!(span.start >= at && span.end <= text.length && span.end > span.start)) continue;
      body.append(document.createTextNode(text.slice(at, span.start)));
      const chip = document.createElement("span");
      chip.className = "hidden-data";
      chip.textContent = `${String(span.entity || "data").toLowerCase().replace(/_/g, " ")} hidden`;
      chip.title = "Not kept by us in the clear, for your security";
      body.append(chip);
      at = span.end;
    }
    body.append(document.createTextNode(text.slice(at)));
  }

  function add(kind, text, label, redactions) {
    const item = document.createElement("li");
    item.className = `bubble ${kind}`;
    if (label) {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = label;
      item.append(who);
    }
    const body = document.createElement("p");
    if (redactions && redactions.length) redactedText(body, text, redactions);
    else body.textContent = text; // never innerHTML: bot, agent and customer text stay text
    item.append(body);
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }

  function notice(text) {
    const item = document.createElement("li");
    item.className = "notice";
    item.textContent = text;
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }

  function setStatus(text) {
    status.textContent = text;
  }

  ChatTyping.start(document.getElementById("typing-indicator"));
  let sessionId = root.dataset.sessionId;
  const STATUS = { bot: "Assistant online", waiting: "Waiting for a member of our team" };

  /* After a reload (or coming back the next day): the conversation as stored, and its true state. */
  async function restore() {
    const response = await fetch("/api/v1/chat/history", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const history = await response.json();
    if (history.session_id !== sessionId) return;  // a new chat was started meanwhile
    if (history.messages.length) notice("Earlier in this conversation:");
    for (const m of history.messages) {
      const label = m.sender === "agent" ? m.agent_name || "Support team" : m.sender === "bot" ? "Assistant" : null;
      add(m.sender, m.text, label, m.redactions);
    }
    setWithAgent(history.state !== "bot");
    if (history.state === "waiting") setStatus(STATUS.waiting);  // "bot": said once Rasa confirms the session
    if (history.state === "with_agent") {
      setStatus(history.agent_name ? `You are chatting with ${history.agent_name}` : "You are chatting with our team");
    }
    root.dataset.state = history.state;
  }

  const restored = restore().catch(() => setStatus(STATUS.bot));
  const socket = io(root.dataset.rasaUrl, { path: "/socket.io", transports: ["websocket", "polling"] });

  socket.on("connect", () => {
    socket.emit("session_request", { session_id: sessionId });
  });
  socket.on("session_confirm", async (confirmed) => {
    const id = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
    if (id) sessionId = id;
    root.dataset.sessionId = sessionId || "";
    await restored;  // the restored state decides the status line
    if (!withAgent) setStatus(STATUS.bot);
    root.dataset.connected = "true";
  });
  socket.on("connect_error", () => setStatus("Can't reach the assistant; retrying…"));
  socket.on("disconnect", () => setStatus("Reconnecting…"));

  socket.on("bot_uttered", (message) => {
    quick.replaceChildren();
    ChatTyping.messageArrived();
    const text = (message && message.text) || "";
    const marker = message && message.clearline && typeof message.clearline === "object" ? message.clearline : {};
    if (marker.handoff === "waiting") {
      setWithAgent(true);
      notice(text);
      setStatus("Waiting for a member of our team");
      return;
    }
    if (marker.handoff === "joined") {
      /* "<agent> from Northwind Pay joined": the agent's display name, as text */
      setWithAgent(true);
      notice(text);
      setStatus(typeof marker.agent === "string" && marker.agent ? `You are chatting with ${marker.agent}` : "You are chatting with our team");
      return;
    }
    if (marker.handoff === "ended") {
      setWithAgent(false);
      notice(text);
      setStatus("Assistant online");
      return;
    }
    const fromAgent = marker.handoff === "agent";
    if (fromAgent) setWithAgent(true); // an agent's words: we are with a person
    if (text) {
      const agentName = fromAgent && typeof marker.agent === "string" && marker.agent ? marker.agent : "Support team";
      add(fromAgent ? "agent" : "bot", text, fromAgent ? agentName : "Assistant");
      if (withAgent) setStatus(fromAgent && marker.agent ? `You are chatting with ${agentName}` : "You are chatting with our team");
    }
    if (message && message.attachment && message.attachment.type === "image" && message.attachment.payload) {
      const img = document.createElement("img");
      img.src = message.attachment.payload.src;
      img.alt = "";
      img.className = "attachment";
      log.append(img);
    }
    for (const reply of (message && (message.quick_replies || message.buttons)) || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn chip";
      button.textContent = reply.title;
      button.addEventListener("click", () => send(reply.payload, reply.title));
      quick.append(button);
    }
  });

  function send(payload, shown) {
    if (!payload) return;
    add("me", shown || payload, null);
    quick.replaceChildren();
    ChatTyping.sent();
    socket.emit("user_uttered", { message: payload, session_id: sessionId });
  }

  input.addEventListener("input", () => ChatTyping.typed(input.value.trim()));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });

  document.getElementById("new-chat").addEventListener("click", async () => {
    const response = await fetch("/api/v1/chat/new", {
      method: "POST", credentials: "same-origin", headers: { Accept: "application/json", "X-Clearline-Chat": "1" },
    });
    if (!response.ok) { setStatus("Could not start a new chat; please reload the page"); return; }
    sessionId = (await response.json()).session_id;
    root.dataset.sessionId = sessionId;
    setWithAgent(false);
    log.replaceChildren();
    socket.emit("session_request", { session_id: sessionId });
  });
})();
