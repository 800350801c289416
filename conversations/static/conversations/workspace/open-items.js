// The open-items page (pick mode, ROU-13).
import { socket } from "./core.js";

// The server renders the list (escaped); when a queue's items change the page re-reads it.
const openItems = document.querySelector("[data-open-items]");
if (openItems) {
  let reading = null;
  const reread = () => {
    if (reading) return;
    reading = fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html").querySelector('[data-testid="open-items-list"]');
        const current = openItems.querySelector('[data-testid="open-items-list"]');
        if (fresh && current) current.replaceWith(document.adoptNode(fresh));
      })
      .catch(() => {})
      .finally(() => {
        reading = null;
      });
  };
  socket.on("queue.items_changed", reread);
  socket.onOpen.push(reread); // after a reconnect, catch up on what changed meanwhile
}
