// The dashboard: the presence selector (ROU-5) and the presence-changing banners (NOT-10..12).
import { el, socket } from "./core.js";

const presenceForm = document.querySelector("[data-presence-form]");
const presenceSelect = document.querySelector('[data-testid="presence-select"]');
if (presenceForm && presenceSelect) {
  presenceForm.querySelector("[data-presence-submit]")?.setAttribute("hidden", "");
  let current = presenceSelect.value;
  presenceSelect.addEventListener("change", () => {
    if (!socket.open) {
      presenceForm.submit(); // the plain form calls the same service
      return;
    }
    const chosen = presenceSelect.value;
    socket.send({ type: "presence.set", presence: Number(chosen) }, (frame) => {
      if (frame.type === "error") {
        presenceSelect.value = current;
        alert(frame.message);
      } else {
        current = chosen;
      }
    });
  });
  socket.on("presence.changed", (frame) => {
    const presence = frame.presence;
    if (!presence || typeof presence !== "object") return;
    let option = presenceSelect.querySelector(`option[value="${Number(presence.id)}"]`);
    if (!option) {
      // A presence only the system sets (Inactive): shown, not choosable.
      option = el("option", { value: presence.id, disabled: true }, presence.name);
      presenceSelect.append(option);
    }
    presenceSelect.value = String(presence.id);
    current = presenceSelect.value;
  });
}
const banners = document.querySelector('[data-testid="banners"]');
if (banners) {
  socket.on("banner.raised", (frame) => {
    const banner = frame.banner || frame;
    if (banners.querySelector(`[data-banner-id="${Number(banner.id)}"]`)) return;
    banners.append(
      el("div", { class: `ws-banner ws-banner--${banner.kind}`, "data-testid": "banner", "data-banner-id": banner.id, role: "alert" },
        banner.message),
    );
  });
  socket.on("banner.cleared", (frame) => {
    for (const id of frame.banners || []) banners.querySelector(`[data-banner-id="${Number(id)}"]`)?.remove();
  });
}
