// Lists of short texts as rows (pre-chat choices, claim names): without this script the page
// shows two empty rows to fill; with it, a button adds more, reachable by keyboard.
(function () {
  "use strict";
  function enhance(box) {
    if (box.dataset.enhanced || box.closest(".empty-form")) return;
    box.dataset.enhanced = "1";
    const list = box.querySelector("ol");
    const add = document.createElement("button");
    add.type = "button";
    add.className = "button row-editor-add";
    add.textContent = box.dataset.addLabel;
    add.addEventListener("click", () => {
      const inputs = list.querySelectorAll("input");
      const last = inputs[inputs.length - 1];
      const input = last.cloneNode();
      const index = inputs.length;
      input.name = last.name.replace(/-\d+$/, "-" + index);
      input.value = "";
      input.setAttribute("aria-label", box.dataset.rowLabel + " " + (index + 1));
      const item = document.createElement("li");
      item.appendChild(input);
      list.appendChild(item);
      input.focus();
    });
    list.after(add);
  }
  function enhanceAll() { document.querySelectorAll("[data-text-rows]").forEach(enhance); }
  document.addEventListener("DOMContentLoaded", enhanceAll);
  document.addEventListener("formset:added", enhanceAll);
})();
