// Data entry enhancements. Every form also works without JavaScript (server round trips).
"use strict";
(function () {
  const form = document.getElementById("crf-form");
  if (!form) return;
  const touched = new Set();

  function fieldFor(path) {
    return form.querySelector(`.field[data-path="${CSS.escape(path)}"]`);
  }

  function show(issues, kind) {
    for (const issue of issues) {
      const field = fieldFor(issue.path);
      if (!field || !touched.has(issue.path)) continue;
      const box = field.querySelector(".messages-inline");
      if (!box) continue;
      const p = document.createElement("p");
      p.className = kind;
      p.textContent = (kind === "warning" ? "⚠ " : "") + issue.message;
      box.appendChild(p);
      field.classList.add(kind === "error" ? "has-error" : "has-warning");
      const input = field.querySelector("input, select, fieldset");
      if (input && kind === "error") input.setAttribute("aria-invalid", "true");
    }
  }

  let pending = null;
  async function check() {
    const body = new FormData(form);
    body.set("action", "save");
    const response = await fetch(form.dataset.checkUrl, { method: "POST", body, credentials: "same-origin" });
    if (!response.ok) return;
    const result = await response.json();
    for (const field of form.querySelectorAll(".field[data-path]")) {
      if (!touched.has(field.dataset.path)) continue;
      field.classList.remove("has-error", "has-warning");
      const box = field.querySelector(".messages-inline");
      if (box) box.replaceChildren();
      const input = field.querySelector("[aria-invalid]");
      if (input) input.removeAttribute("aria-invalid");
    }
    show(result.errors, "error");
    show(result.warnings, "warning");
    for (const [code, value] of Object.entries(result.derived || {})) {
      const out = form.querySelector(`output[data-derived="${CSS.escape(code)}"]`);
      if (out) out.textContent = value;
    }
  }

  function pathOf(target) {
    const field = target.closest(".field[data-path]");
    return field ? field.dataset.path : null;
  }

  form.addEventListener("change", (event) => {
    const path = pathOf(event.target);
    if (!path) return;
    touched.add(path);
    clearTimeout(pending);
    pending = setTimeout(check, 150);
  });

  // Repeating groups: add and remove rows in place; the server numbers them on save.
  for (const button of form.querySelectorAll("button.add-row")) {
    button.addEventListener("click", (event) => {
      const group = button.dataset.group;
      const template = document.getElementById(`tpl-${group}`);
      const tbody = document.querySelector(`#group-${group} tbody`);
      if (!template || !tbody) return;
      const section = document.getElementById(`group-${group}`);
      const max = Number(section.dataset.max || 0);
      if (max && tbody.rows.length >= max) return;
      event.preventDefault();
      const used = [...tbody.querySelectorAll("tr[data-row]")].map((tr) => Number(tr.dataset.row));
      const index = used.length ? Math.max(...used) + 1 : 0;
      const number = String(tbody.rows.length + 1);
      const html = template.innerHTML.replaceAll("__INDEX__", String(index)).replaceAll("__NUMBER__", number);
      tbody.insertAdjacentHTML("beforeend", html);
      const row = tbody.lastElementChild;
      row.querySelector("th").textContent = number;
      for (const field of row.querySelectorAll(".field[data-path]")) {
        field.dataset.path = `${group}[${tbody.rows.length}].${field.dataset.item}`;
      }
      const first = row.querySelector("input, select");
      if (first) first.focus();
    });
  }
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button.remove-row");
    if (!button || button.type !== "button") return;
    const row = button.closest("tr");
    if (row) row.remove();
  });

  // Adverse events: the grades a CTCAE term does not define cannot be chosen.
  const term = form.querySelector("input.ctcae-term");
  const grade = form.querySelector('[name="AETOXGR"]');
  function limitGrades() {
    if (!term || !grade) return;
    const allowed = term.dataset.grades ? term.dataset.grades.split(",") : null;
    const choices = grade.tagName === "SELECT" ? [...grade.options] : [...form.querySelectorAll('[name="AETOXGR"]')];
    for (const choice of choices) {
      if (!choice.value) continue;
      choice.disabled = allowed !== null && !allowed.includes(choice.value);
    }
  }
  if (term) {
    termTypeAhead(term, limitGrades);
    limitGrades();
  }

  // CTCAE type-ahead (ARIA combobox): suggestions from the term endpoint as you type; arrow keys
  // move, Enter or a click chooses, Escape closes. Without this the datalist still suggests.
  function termTypeAhead(input, chosen) {
    const list = document.getElementById(input.getAttribute("aria-controls"));
    if (!list || !window.fetch) return;
    input.removeAttribute("list");
    let terms = [];
    let active = -1;
    let timer = null;
    let asked = 0;
    function show() {
      list.replaceChildren(...terms.map((t, i) => {
        const li = document.createElement("li");
        li.id = `ctcae-option-${i}`;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", String(i === active));
        li.textContent = `${t.term} (${t.meddra_code})`;
        li.addEventListener("mousedown", (event) => { event.preventDefault(); choose(i); });
        return li;
      }));
      list.hidden = terms.length === 0;
      input.setAttribute("aria-expanded", String(!list.hidden));
      if (active >= 0) input.setAttribute("aria-activedescendant", `ctcae-option-${active}`);
      else input.removeAttribute("aria-activedescendant");
    }
    function close() { terms = []; active = -1; show(); }
    function choose(i) {
      const t = terms[i];
      input.value = `${t.term} (${t.meddra_code})`;
      input.dataset.grades = t.grades.join(",");
      close();
      chosen();
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    async function suggest() {
      const q = input.value.trim();
      if (q.length < 2) { close(); return; }
      const mine = ++asked;
      const url = `${input.dataset.source}?q=${encodeURIComponent(q)}&limit=12`;
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok || mine !== asked) return;
      terms = await response.json();
      active = terms.length ? 0 : -1;
      show();
    }
    input.addEventListener("input", () => {
      delete input.dataset.grades;
      chosen();
      clearTimeout(timer);
      timer = setTimeout(suggest, 120);
    });
    input.addEventListener("keydown", (event) => {
      if (list.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        active = (active + step + terms.length) % terms.length;
        show();
        document.getElementById(`ctcae-option-${active}`).scrollIntoView({ block: "nearest" });
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }
})();
