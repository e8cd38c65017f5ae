/* Clearline page helpers: API calls with CSRF, safe DOM building (text only), the live socket. */
"use strict";

const Clearline = (() => {
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function errorText(data, status) {
    if (!data || data.detail === undefined) return `Request failed (${status})`;
    if (typeof data.detail === "string") return data.detail;
    if (Array.isArray(data.detail)) {
      return data.detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
    }
    return `Request failed (${status})`;
  }

  async function api(path, { method = "GET", body } = {}) {
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrfToken();
    const response = await fetch(`/api/v1${path}`, options);
    if (response.status === 401) {
      // the query too: a shared dashboard view (its filters are in the address) survives signing in
      window.location.href = `/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
      throw new ApiError(401, "signed out");
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, errorText(data, response.status));
    return data;
  }

  /* Build an element. Strings and numbers become text nodes: customer text never becomes markup. */
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs = {}, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function toast(message, kind = "info") {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.className = `toast ${kind}`;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(Math.abs(seconds)));
    const text = s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return seconds < 0 ? `-${text}` : text;
  }

  const time = (iso) => (iso ? new Date(iso.endsWith("Z") || iso.includes("+") ? iso : `${iso}Z`).toLocaleString() : "–");
  const timestamp = (iso) => (iso ? Date.parse(iso.endsWith("Z") || iso.includes("+") ? iso : `${iso}Z`) : null);
  const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);
  const num = (x, digits = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));

  /* Records that change nothing a page shows (someone opened a transcript or read the provider's records
     of its customer, took an export): no refresh. */
  const QUIET_ACTIONS = new Set(["transcript_view", "customer_view", "customer_export"]);

  /* One live socket per page: audit records newer than the last one seen; reconnects with backoff. */
  function live(onRecord) {
    const indicator = document.getElementById("live-state");
    let lastId = null;
    let delay = 500;
    const setState = (state) => {
      if (!indicator) return;
      indicator.textContent = state;
      indicator.dataset.state = state;
    };
    function connect() {
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      const query = lastId === null ? "" : `?after=${lastId}`;
      const socket = new WebSocket(`${scheme}://${window.location.host}/api/v1/live${query}`);
      socket.onopen = () => { delay = 500; setState("live"); };
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "hello") {
          if (lastId === null) lastId = message.last_id;
          return;
        }
        if (message.type === "audit") {
          lastId = message.record.id;
          if (!QUIET_ACTIONS.has(message.record.action)) onRecord(message.record);
        }
      };
      socket.onclose = () => {
        setState("reconnecting");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    connect();
  }

  /* Call fn at most once per `wait` ms (live bursts refresh once). */
  function debounce(fn, wait = 250) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), wait);
    };
  }

  function me() {
    const node = document.getElementById("me");
    return node ? { id: Number(node.dataset.userId), role: node.dataset.role, username: node.dataset.username } : null;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const logout = document.getElementById("logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        await api("/auth/logout", { method: "POST" }).catch(() => null);
        window.location.href = "/login";
      });
    }
    const status = document.getElementById("my-status");
    if (status) {
      status.value = status.dataset.current;
      status.addEventListener("change", async () => {
        try {
          const result = await api("/agents/me/status", { method: "PUT", body: { status: status.value } });
          toast(result.requeued.length ? `Status ${result.status}; ${result.requeued.length} conversation(s) back in the queue` : `Status: ${result.status}`);
        } catch (error) {
          toast(error.message, "error");
          status.value = status.dataset.current;
        }
      });
    }
  });

  return { api, ApiError, h, svg, toast, duration, time, timestamp, pct, num, live, debounce, me };
})();
