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
  // Clearline marks its hand-off messages structurally ({"clearline": {"handoff": ...}}, set on the bot
  // event and passed on by bot/channels/web_chat.py); the page never guesses the state from words.
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
