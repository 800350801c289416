// The workspace's service worker (served as /workspace/sw.js so that its scope is /workspace/).
// It shows nothing by itself: workspace/alerts.js asks it, through registration.showNotification, to
// put an incoming-work alert on the desktop (NOT-9). Here we answer the notification's clicks:
// - Accept / Reject: an open workspace page sends offer.accept / offer.reject over its socket;
//   with none open, /workspace/ opens with the action in its URL and performs it;
// - the body: the workspace window comes forward and shows the in-app alert.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function workspaceWindows() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const scope = new URL(self.registration.scope).pathname;
  const ours = windows.filter((client) => new URL(client.url).pathname.startsWith(scope));
  // The one the agent looked at last first: focused, then visible, then any.
  const rank = (client) => (client.focused ? 0 : client.visibilityState === "visible" ? 1 : 2);
  return ours.sort((a, b) => rank(a) - rank(b));
}

// A page asks, before it shows a "when in the background" notification, whether the agent is
// looking at another workspace page (a dashboard in one tab, a conversation in another).
self.addEventListener("message", (event) => {
  const port = event.ports && event.ports[0];
  if (!port || !event.data || event.data.type !== "desktop.focused") return;
  event.waitUntil(workspaceWindows().then((windows) => port.postMessage({ focused: windows.some((client) => client.focused) })));
});

self.addEventListener("notificationclick", (event) => {
  const notification = event.notification;
  const data = notification.data || {};
  const action = event.action === "accept" || event.action === "reject" ? event.action : "";
  notification.close();
  event.waitUntil(
    (async () => {
      const [client] = await workspaceWindows();
      const message = { type: action ? "desktop.action" : "desktop.show", action, offer: data.offer, notification: data.notification };
      if (client) {
        if (!action || action === "accept") {
          try {
            await client.focus(); // Accept opens the conversation; the body shows the alert
          } catch {
            // focusing may be refused; the message still goes
          }
        }
        client.postMessage(message);
        return;
      }
      const url = new URL(self.registration.scope);
      if (action) {
        url.searchParams.set("desktop_action", action);
        url.searchParams.set("offer", String(data.offer));
      }
      await self.clients.openWindow(url.href);
    })(),
  );
});
