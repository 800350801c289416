// The routing-rule editor's progressive enhancement (issue 14). Without this script the rows
// work as plain selects and inputs with two empty rows to fill; with it, the test list follows
// the chosen value's kind, choice values are suggested, and "Add a condition" adds a row.
(function () {
  "use strict";

  function fitRow(row, operatorsByKind) {
    const field = row.querySelector('[data-part="field"]');
    const operator = row.querySelector('[data-part="operator"]');
    const value = row.querySelector('[data-part="value"]');
    const chosen = field.options[field.selectedIndex];
    const kind = chosen ? chosen.dataset.kind : "";
    const allowed = operatorsByKind[kind] || null;
    for (const option of operator.options) {
      option.disabled = allowed !== null && !allowed.includes(option.value);
    }
    if (operator.selectedOptions[0] && operator.selectedOptions[0].disabled) {
      const first = Array.from(operator.options).find((option) => !option.disabled);
      if (first) operator.value = first.value;
    }
    const list = chosen ? chosen.dataset.list : "";
    if (list) value.setAttribute("list", list);
    else value.removeAttribute("list");
    value.hidden = operator.value === "exists";
  }

  function renumber(input, index) {
    input.name = input.name.replace(/-\d+-(field|operator|value)$/, "-" + index + "-$1");
    const label = input.getAttribute("aria-label") || "";
    input.setAttribute("aria-label", label.replace(/\d+/, String(index + 1)));
  }

  function enhance(editor) {
    if (editor.dataset.enhanced) return;
    editor.dataset.enhanced = "1";
    const operatorsByKind = JSON.parse(editor.dataset.operators || "{}");
    const body = editor.querySelector("tbody");
    const listen = (row) => {
      row.addEventListener("change", () => fitRow(row, operatorsByKind));
      fitRow(row, operatorsByKind);
    };
    body.querySelectorAll("tr").forEach(listen);
    const add = document.createElement("button");
    add.type = "button";
    add.className = "button row-editor-add";
    add.textContent = gettext("Add a condition");
    add.addEventListener("click", () => {
      const rows = body.querySelectorAll("tr");
      const copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("select, input").forEach((input) => {
        renumber(input, rows.length);
        if (input.tagName === "INPUT") input.value = "";
        else input.selectedIndex = 0;
      });
      body.appendChild(copy);
      listen(copy);
      copy.querySelector("select").focus();
    });
    editor.querySelector("table").after(add);
  }

  function enhanceAll() {
    // The empty rule Django's inlines clone keeps "__prefix__" until it is added.
    document.querySelectorAll("[data-condition-editor]").forEach((editor) => {
      if (!editor.closest(".empty-form")) enhance(editor);
    });
  }

  window.gettext = window.gettext || ((text) => text);
  document.addEventListener("DOMContentLoaded", enhanceAll);
  document.addEventListener("formset:added", enhanceAll);
})();

// "Try these rules": the same GET form, answered in place instead of on a page of its own.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-try-rules]").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const query = new URLSearchParams(new FormData(form));
        query.set("partial", "1");
        const slot = form.parentElement.querySelector(".try-rule-result-slot");
        const response = await fetch(form.action + "?" + query.toString(), { credentials: "same-origin" });
        slot.innerHTML = response.ok ? await response.text() : "";
      });
    });
  });
})();
