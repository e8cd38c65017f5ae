/* Customer data (admins): export as a download, erase after a confirmation. Ids and results are text only. */
"use strict";

(() => {
  const { api, h, toast } = Clearline;
  const byId = (id) => document.getElementById(id);

  function ids() {
    const list = [...new Set(byId("customer-ids").value.split("\n").map((s) => s.trim()).filter(Boolean))];
    if (!list.length) throw new Error("Enter at least one conversation id.");
    return list;
  }

  function path(list, action) {
    const also = list.slice(1).map((id) => `also=${encodeURIComponent(id)}`).join("&");
    return `/customers/${encodeURIComponent(list[0])}/${action}${also ? `?${also}` : ""}`;
  }

  async function exportData() {
    const list = ids();
    const response = await fetch(`/api/v1${path(list, "export")}`, { credentials: "same-origin" });
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      throw new Error((data && typeof data.detail === "string" && data.detail) || `Export failed (${response.status})`);
    }
    const link = h("a", { href: URL.createObjectURL(await response.blob()), download: `customer-${list[0]}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    toast("Export downloaded.", "ok");
  }

  function counted(result) {
    const parts = [];
    for (const [store, tables] of Object.entries(result.counts)) {
      const rows = Object.entries(tables).filter(([, n]) => n).map(([table, n]) => `${n} ${table}`);
      if (rows.length) parts.push(`${store}: ${rows.join(", ")}`);
    }
    return parts.join("; ");
  }

  function describe(result) {
    if (result.status === "erased") return `erased (${counted(result)})`;
    if (result.status === "already_erased") {
      return `nothing held; erased before, ${Clearline.time(result.previously_erased_at)} by ${result.previously_erased_by}`;
    }
    return "nothing held";
  }

  let pending = null;

  function askToErase(event) {
    event.preventDefault();
    pending = { list: ids(), reason: byId("erase-reason").value.trim() };
    byId("erase-question").textContent =
      `Erase everything held about ${pending.list.join(", ")} from every store? This cannot be undone.`;
    byId("erase-confirm").hidden = false;
    byId("erase-yes").focus();
  }

  async function erase() {
    if (!pending) return;
    const { list, reason } = pending;
    pending = null;
    byId("erase-confirm").hidden = true;
    const answer = await api(path(list, "erase").split("?")[0], {
      method: "POST",
      body: { reason, also: list.slice(1) },
    });
    byId("erase-results").replaceChildren(
      ...answer.results.map((r) => h("li", {}, h("strong", {}, r.customer_id), ": ", describe(r))),
    );
    toast("Erasure recorded in the audit trail.", "ok");
  }

  const report = (error) => toast(error.message, "error");

  document.addEventListener("DOMContentLoaded", () => {
    byId("export").addEventListener("click", () => exportData().catch(report));
    byId("erase-form").addEventListener("submit", (event) => {
      try {
        askToErase(event);
      } catch (error) {
        report(error);
      }
    });
    byId("erase-yes").addEventListener("click", () => erase().catch(report));
    byId("erase-no").addEventListener("click", () => {
      pending = null;
      byId("erase-confirm").hidden = true;
    });
  });
})();
