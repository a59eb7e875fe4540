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
  const term = form.querySelector("select.ctcae-term");
  const grade = form.querySelector('[name="AETOXGR"]');
  function limitGrades() {
    if (!term || !grade) return;
    const option = term.selectedOptions[0];
    const allowed = option && option.dataset.grades ? option.dataset.grades.split(",") : null;
    const choices = grade.tagName === "SELECT" ? [...grade.options] : [...form.querySelectorAll('[name="AETOXGR"]')];
    for (const choice of choices) {
      if (!choice.value) continue;
      choice.disabled = allowed !== null && !allowed.includes(choice.value);
    }
  }
  if (term) {
    term.addEventListener("change", limitGrades);
    limitGrades();
  }
})();
