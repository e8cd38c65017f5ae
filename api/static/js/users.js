/* Staff accounts (admins): list, edit (role, skills, capacity, active, display name), set a password, add.
   Every value is shown as text; the api checks and audits every change. */
"use strict";

(() => {
  const { api, h, toast } = Clearline;
  const byId = (id) => document.getElementById(id);
  let editing = null;

  const skillsOf = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

  async function load() {
    const users = await api("/users");
    byId("users").querySelector("tbody").replaceChildren(...users.map((u) => h("tr", { dataset: { username: u.username } },
      h("td", {}, u.username), h("td", {}, u.display_name), h("td", {}, u.role), h("td", {}, (u.skills || []).join(", ")),
      h("td", {}, String(u.capacity)), h("td", {}, u.status), h("td", {}, u.is_active ? "active" : "deactivated"),
      h("td", {}, h("button", { type: "button", class: "btn small", onclick: () => edit(u) }, "Edit")))));
  }

  function edit(user) {
    editing = user;
    const form = byId("user-edit");
    byId("user-edit-title").textContent = `Edit ${user.username}`;
    form.elements.display_name.value = user.display_name;
    form.elements.role.value = user.role;
    form.elements.skills.value = (user.skills || []).join(", ");
    form.elements.capacity.value = String(user.capacity);
    form.elements.is_active.checked = user.is_active;
    form.hidden = false;
    byId("user-password-name").textContent = user.username;
    byId("user-password").hidden = false;
    form.elements.display_name.focus();
  }

  function closeEdit() {
    editing = null;
    byId("user-edit").hidden = true;
    byId("user-password").hidden = true;
  }

  async function save(event) {
    event.preventDefault();
    if (!editing) return;
    const form = event.target;
    const name = form.elements.display_name.value.trim();
    if (name !== editing.display_name) {
      await api(`/users/${editing.id}/display-name`, { method: "PUT", body: { display_name: name } });
    }
    await api(`/users/${editing.id}`, {
      method: "PATCH",
      body: {
        role: form.elements.role.value,
        skills: skillsOf(form.elements.skills.value),
        capacity: Number(form.elements.capacity.value),
        is_active: form.elements.is_active.checked,
      },
    });
    toast(`Saved ${editing.username}.`, "ok");
    closeEdit();
    await load();
  }

  async function setPassword(event) {
    event.preventDefault();
    if (!editing) return;
    await api(`/users/${editing.id}/password`, { method: "POST", body: { password: event.target.elements.password.value } });
    event.target.reset();
    toast(`New password set for ${editing.username}; their sessions ended.`, "ok");
  }

  async function add(event) {
    event.preventDefault();
    const f = event.target.elements;
    const body = {
      username: f.username.value.trim(),
      password: f.password.value,
      role: f.role.value,
      skills: skillsOf(f.skills.value),
      capacity: Number(f.capacity.value),
    };
    if (f.display_name.value.trim()) body.display_name = f.display_name.value.trim();
    await api("/users", { method: "POST", body });
    event.target.reset();
    toast(`Added ${body.username}.`, "ok");
    await load();
  }

  const report = (error) => toast(error.message, "error");

  document.addEventListener("DOMContentLoaded", () => {
    byId("user-edit").addEventListener("submit", (e) => save(e).catch(report));
    byId("user-edit-cancel").addEventListener("click", closeEdit);
    byId("user-password").addEventListener("submit", (e) => setPassword(e).catch(report));
    byId("user-add").addEventListener("submit", (e) => add(e).catch(report));
    api("/queue-names").then((names) => {
      byId("known-skills").textContent = `Queues: ${names.join(", ")}. Languages: lang- and the two-letter code (lang-fr, lang-de).`;
    }).catch(() => {});
    load().catch(report);
  });
})();
