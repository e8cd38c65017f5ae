/* Keyboard shortcuts for the console (not while typing in a field): j / k next and previous conversation,
   r reply, e resolve, t transfer, n note, ? this list, Escape leaves a field or closes the list. */
"use strict";

(() => {
  const KEYS = [
    ["j", "next conversation"],
    ["k", "previous conversation"],
    ["r", "write a reply"],
    ["n", "write an internal note"],
    ["e", "resolve"],
    ["t", "transfer"],
    ["?", "show or hide these shortcuts"],
  ];

  const typing = (el) => el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  function step(by) {
    const items = [...document.querySelectorAll(".sidebar .conv-open")];
    if (!items.length) return;
    const current = items.findIndex((b) => b.dataset.conversationId === ConversationView.currentId());
    const next = items[(current + by + items.length) % items.length];
    next.click();
    next.focus();
  }

  function action(label) {
    const button = [...document.querySelectorAll("#conv-actions button")].find((b) => b.textContent === label);
    if (button) button.click();
  }

  function focusField(id) {
    const field = document.getElementById(id);
    if (field && !field.closest("[hidden]")) field.focus();
  }

  function toggleHelp() {
    const help = document.getElementById("shortcuts");
    help.hidden = !help.hidden;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const list = document.getElementById("shortcuts-list");
    list.replaceChildren(...KEYS.map(([key, what]) => {
      const row = document.createElement("li");
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      row.append(kbd, ` ${what}`);
      return row;
    }));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        document.getElementById("shortcuts").hidden = true;
        if (typing(document.activeElement)) document.activeElement.blur();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      const handlers = {
        j: () => step(1),
        k: () => step(-1),
        r: () => focusField("reply-text"),
        n: () => focusField("note-text"),
        e: () => action("Resolve"),
        t: () => action("Transfer"),
        "?": toggleHelp,
      };
      const handler = handlers[event.key];
      if (handler) {
        event.preventDefault();
        handler();
      }
    });
  });
})();
