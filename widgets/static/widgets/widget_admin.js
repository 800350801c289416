// The widget page of the admin center: copy the script tag, and keep the preview in step with
// the look fields before they are saved. Without this script the tag can still be selected and
// copied by hand, and the preview shows the saved look.
(function () {
  "use strict";
  const LOOK = ["title", "greeting", "theme_color", "position", "language"];

  function setUpCopy(button) {
    const source = document.getElementById(button.dataset.copyFrom);
    const status = button.parentElement.querySelector(".copy-status");
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.value);
      } catch (e) {
        source.select(); // no clipboard access (plain http): leave it selected for Ctrl+C
        document.execCommand("copy");
      }
      if (status) status.textContent = status.dataset.copied;
    });
  }

  function setUpPreview(frame) {
    const base = frame.getAttribute("src");
    let timer = null;
    const refresh = () => {
      const query = new URLSearchParams();
      for (const name of LOOK) {
        const input = document.getElementById("id_" + name);
        if (input) query.set(name, input.value);
      }
      frame.src = base + "?" + query.toString();
    };
    for (const name of LOOK) {
      const input = document.getElementById("id_" + name);
      if (!input) continue;
      input.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(refresh, 400);
      });
      input.addEventListener("change", refresh);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-copy-from]").forEach(setUpCopy);
    document.querySelectorAll("[data-widget-preview]").forEach(setUpPreview);
  });
})();
