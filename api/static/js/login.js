"use strict";

const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.hidden = true;
  const body = {
    username: document.getElementById("username").value.trim(),
    password: document.getElementById("password").value,
  };
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    error.textContent = response.status === 429 ? "Too many attempts; wait a minute and try again." : "Wrong username or password.";
    error.hidden = false;
    return;
  }
  const data = await response.json();
  // the server puts ?next= here only when it is a path on this site (api/pages.py, local_path)
  window.location.href = form.dataset.next || (data.user.role === "agent" ? "/console" : "/supervisor");
});
