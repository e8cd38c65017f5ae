/* Customer chat: Rasa's socket.io channel (user_uttered / bot_uttered, session_request / session_confirm). */
"use strict";

(() => {
  const root = document.getElementById("chat");
  const log = document.getElementById("chat-log");
  const quick = document.getElementById("quick-replies");
  const status = document.getElementById("chat-status");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-text");
  const STORAGE_KEY = "clearline.chat.session";
  // The hand-off notice and the resume message are fixed texts of the bot's domain (docs/architecture.md).
  const HANDOFF_PREFIX = "A member of our team";
  const RESUMED_PREFIX = "You're back with the assistant";
  const AGENT_KEY = "clearline.chat.withAgent"; // survives a reload during the hand-off
  let withAgent = localStorage.getItem(AGENT_KEY) === "1";

  function setWithAgent(value) {
    withAgent = value;
    localStorage.setItem(AGENT_KEY, value ? "1" : "0");
  }

  function add(kind, text, label) {
    const item = document.createElement("li");
    item.className = `bubble ${kind}`;
    if (label) {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = label;
      item.append(who);
    }
    const body = document.createElement("p");
    body.textContent = text; // never innerHTML: bot, agent and customer text stay text
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

  let sessionId = localStorage.getItem(STORAGE_KEY);
  const socket = io(root.dataset.rasaUrl, { path: "/socket.io", transports: ["websocket", "polling"] });

  socket.on("connect", () => {
    socket.emit("session_request", { session_id: sessionId });
  });
  socket.on("session_confirm", (confirmed) => {
    const id = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
    if (id) {
      sessionId = id;
      localStorage.setItem(STORAGE_KEY, id);
    }
    setStatus(withAgent ? "You are chatting with our team" : "Assistant online");
    root.dataset.sessionId = sessionId || "";
  });
  socket.on("connect_error", () => setStatus("Can't reach the assistant; retrying…"));
  socket.on("disconnect", () => setStatus("Reconnecting…"));

  socket.on("bot_uttered", (message) => {
    quick.replaceChildren();
    const text = (message && message.text) || "";
    if (text.startsWith(HANDOFF_PREFIX)) {
      setWithAgent(true);
      notice(text);
      setStatus("Waiting for a member of our team");
      return;
    }
    if (text.startsWith(RESUMED_PREFIX)) {
      setWithAgent(false);
      notice(text);
      setStatus("Assistant online");
      return;
    }
    if (text) {
      add(withAgent ? "agent" : "bot", text, withAgent ? "Support team" : "Assistant");
      if (withAgent) setStatus("You are chatting with our team");
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
    socket.emit("user_uttered", { message: payload, session_id: sessionId });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });

  document.getElementById("new-chat").addEventListener("click", () => {
    localStorage.removeItem(STORAGE_KEY);
    sessionId = null;
    setWithAgent(false);
    log.replaceChildren();
    socket.emit("session_request", { session_id: null });
  });
})();
