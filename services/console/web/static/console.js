// The console's only script: sign-in (the operator's token in sessionStorage, sent as
// Authorization: Bearer on every call), and the live stream (SSE read with fetch, because
// EventSource cannot send a header). Everything else is htmx attributes in the templates.
"use strict";
(function () {
  const KEY = "dispatch.operatorToken";
  const token = () => sessionStorage.getItem(KEY);
  const $ = (id) => document.getElementById(id);
  let stream = null;

  function note(text) {
    const p = $("signin-note");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function show(operator) {
    $("signin").hidden = !!operator;
    $("signed").hidden = !operator;
    $("operator").textContent = operator ? "操作员 " + operator.sub + (operator.unit ? " · " + operator.unit : "") : "";
  }

  function signOut(why) {
    sessionStorage.removeItem(KEY);
    if (stream) { stream.abort(); stream = null; }
    show(null);
    note(why);
  }

  async function check() {
    const t = token();
    if (!t) { show(null); return false; }
    const answer = await fetch("/api/me", { headers: { Authorization: "Bearer " + t } });
    if (answer.status !== 200) {
      const problem = await answer.json().catch(() => ({}));
      signOut("令牌无效或已过期,请重新登录。" + (problem.detail || ""));
      return false;
    }
    show(await answer.json());
    note("");
    return true;
  }

  document.addEventListener("htmx:configRequest", (evt) => {
    const t = token();
    if (!t) { evt.preventDefault(); return; }
    evt.detail.headers["Authorization"] = "Bearer " + t;
  });
  document.addEventListener("htmx:beforeSwap", (evt) => {
    if (evt.detail.xhr.status === 401) {
      evt.detail.shouldSwap = false;
      evt.detail.isError = false;
      signOut("令牌无效或已过期,请重新登录");
    }
  });

  function insertRows(html) {
    const feed = $("feed");
    const box = document.createElement("tbody");
    box.innerHTML = html;
    for (const row of Array.from(box.children).reverse()) {
      if (feed.querySelector('tr[data-key="' + CSS.escape(row.dataset.key) + '"]')) continue;
      row.classList.add("fresh");
      feed.prepend(row);
    }
    while (feed.children.length > 200) feed.lastElementChild.remove();
  }

  async function follow() {
    const live = $("live");
    if (!live || !token() || stream) return;
    const control = new AbortController();
    stream = control;
    let wait = 1000;
    while (stream === control) {
      try {
        const answer = await fetch("/api/view/stream", {
          headers: { Authorization: "Bearer " + token() }, signal: control.signal,
        });
        if (answer.status === 401) { signOut("令牌无效或已过期,请重新登录"); return; }
        live.textContent = "实时"; live.className = "live on"; wait = 1000;
        const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, end); buffer = buffer.slice(end + 2);
            const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (frame.startsWith("event: row") && data) insertRows(data);
          }
        }
      } catch (err) {
        if (control.signal.aborted) return;  // signed out or leaving the page
      }
      live.textContent = "重连中…"; live.className = "live";
      await new Promise((done) => setTimeout(done, wait));
      wait = Math.min(wait * 2, 15000);
    }
  }

  function fillFilters() {  // a page's form takes its fields from the address (?unit=…, ?from=…)
    const form = $("filters") || $("period");
    if (!form) return;
    for (const [name, value] of new URLSearchParams(location.search)) {
      const field = form.elements.namedItem(name);
      if (!field) continue;
      if (field.type === "checkbox") field.checked = value === "true"; else field.value = value;
    }
  }

  fillFilters();  // a deferred script runs before htmx's first requests (DOMContentLoaded)
  document.addEventListener("DOMContentLoaded", async () => {
    $("signin").addEventListener("submit", async (evt) => {
      evt.preventDefault();
      sessionStorage.setItem(KEY, $("token").value.trim());
      $("token").value = "";
      if (await check()) { htmx.trigger(document.body, "signedin"); follow(); }
    });
    $("signout").addEventListener("click", () => signOut("已退出"));
    if (await check()) follow(); else if (!token()) note("请用操作员令牌登录(dispatch token --role operator)");
  });
})();
