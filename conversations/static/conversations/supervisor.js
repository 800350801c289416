// The supervisor's live view (ADM-2): one socket on /ws/supervisor/ that passes on the routing
// events of every agent and queue. Events update the row they name at once; then the page
// re-reads the small read model (data-state-url) for what an event does not carry (waiting
// counts, banners). Texts go in with textContent only (SEC-2).
(() => {
  "use strict";

  const root = document.querySelector("[data-supervisor]");
  if (!root) return;
  // The words come from the workspace's JavaScriptCatalog (/jsi18n/, I18N-1). "%(used)s of
  // %(total)s", "%(m)d min %(s)02d s": named placeholders, a width among them.
  const format = (text, values) =>
    text.replace(/%\((\w+)\)(0?\d*)[sd]/g, (_, name, width) =>
      String(values[name] ?? "").padStart(Number(width) || 0, "0"));
  const clockSkew = Date.parse(root.dataset.serverNow) - Date.now() || 0;
  const badge = root.querySelector('[data-testid="supervisor-connection"]');
  const connection = (state, text) => {
    badge.dataset.state = state;
    badge.textContent = text;
  };

  const agentRow = (id) => root.querySelector(`[data-testid="supervisor-agent"][data-agent-id="${Number(id)}"]`);
  const queueRow = (id) => root.querySelector(`[data-testid="supervisor-queue"][data-queue-id="${Number(id)}"]`);

  function applyPresence(id, presence) {
    const cell = agentRow(id)?.querySelector('[data-testid="agent-presence"]');
    if (!cell || !presence) return;
    cell.textContent = presence.name;
    cell.dataset.presenceId = String(presence.id);
    cell.dataset.base = presence.base;
  }

  function applyCapacity(id, used, capacity, sessions) {
    const row = agentRow(id);
    if (!row) return;
    const cell = row.querySelector('[data-testid="agent-capacity"]');
    cell.dataset.used = String(used);
    cell.dataset.capacity = String(capacity);
    cell.textContent = format(gettext("%(used)s of %(total)s"), { used, total: capacity });
    row.querySelector('[data-testid="agent-sessions"]').textContent = String(sessions);
  }

  function wait(seconds) {
    seconds = Math.max(Math.floor(seconds), 0);
    if (seconds < 60) return format(gettext("%(s)d s"), { s: seconds });
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return format(gettext("%(m)d min %(s)02d s"), { m: minutes, s: seconds % 60 });
    return format(gettext("%(h)d h %(m)02d min"), { h: Math.floor(minutes / 60), m: minutes % 60 });
  }

  function tickWaits() {
    for (const cell of root.querySelectorAll('[data-testid="queue-longest-wait"]')) {
      const since = Date.parse(cell.dataset.since || "");
      cell.textContent = Number.isNaN(since) ? "—" : wait((Date.now() + clockSkew - since) / 1000);
    }
  }
  setInterval(tickWaits, 1000);

  // Re-read the read model once per burst of events.
  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 150);
  }
  async function refresh() {
    let state;
    try {
      const response = await fetch(root.dataset.stateUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      state = await response.json();
    } catch {
      return;
    }
    for (const agent of state.agents) {
      if (!agentRow(agent.id)) continue; // a new agent appears on the next page load
      applyPresence(agent.id, agent.presence);
      applyCapacity(agent.id, agent.capacity_used, agent.capacity, agent.session_count);
      agentRow(agent.id).querySelector('[data-testid="agent-banner"]').textContent = agent.banner || "";
    }
    for (const queue of state.queues) {
      const row = queueRow(queue.id);
      if (!row) continue;
      row.querySelector('[data-testid="queue-waiting"]').textContent = String(queue.waiting);
      row.querySelector('[data-testid="queue-longest-wait"]').dataset.since = queue.oldest_waiting_since || "";
    }
    tickWaits();
    root.dataset.refreshed = String(Date.now());
  }

  // --- The socket ------------------------------------------------------------------------
  let ws = null;
  let retry = 0;
  let counter = 0;
  const replies = new Map();
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}${root.dataset.socketPath}`);
    connection("connecting", "…");
    ws.addEventListener("open", () => {
      retry = 0;
      connection("connected", "●");
      refresh(); // anything missed while the socket was down
    });
    ws.addEventListener("message", (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.ref && replies.has(frame.ref)) {
        replies.get(frame.ref)(frame);
        replies.delete(frame.ref);
      }
      if (frame.type === "presence.changed") {
        applyPresence(frame.agent, frame.presence);
        refreshSoon(); // a reset clears the agent's banner
      } else if (frame.type === "agent.capacity") {
        applyCapacity(frame.agent, frame.capacity_used, frame.capacity, frame.session_count);
        refreshSoon(); // an accepted offer leaves its queue
      } else if (frame.type === "queue.changed") {
        refreshSoon();
      }
    });
    ws.addEventListener("close", (event) => {
      connection("offline", "○");
      if (event.code === 4403) return;
      const delay = Math.min(1000 * 2 ** retry, 15000) * (0.5 + Math.random() / 2);
      retry += 1;
      setTimeout(connect, delay);
    });
  }

  // Reset buttons use the socket when it is open; the plain form calls the same service.
  for (const form of root.querySelectorAll("[data-reset-form]")) {
    form.addEventListener("submit", (event) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      const ref = `r${++counter}`;
      replies.set(ref, (frame) => {
        button.disabled = false;
        if (frame.type === "error") alert(frame.message || gettext("The presence could not be reset."));
        else refreshSoon();
      });
      ws.send(JSON.stringify({ type: "presence.reset", agent: Number(form.dataset.agentId), ref }));
    });
  }

  tickWaits();
  connect();
})();
