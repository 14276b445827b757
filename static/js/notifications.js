/* The header's bell (templates/monitoring/_bell.html): keeps its unread count current over the
   signed-in user's websocket, /ws/me/ (monitoring.consumers.UserConsumer). Messages:
     {"kind": "notification", "unread": n, "notification": {...}}   a new notification
     {"kind": "notifications.read", "unread": n}                     some were read elsewhere
   The socket reopens after a drop, waiting 1 s, 2 s, 4 s ... up to 30 s between attempts. */
(function () {
  "use strict";

  var bell = document.querySelector("[data-notifications-socket]");
  if (!bell || !window.WebSocket) {
    return;
  }
  var count = bell.querySelector("[data-unread-count]");
  var delay = 1000;

  function show(unread) {
    if (typeof unread !== "number" || !count) {
      return;
    }
    count.textContent = String(unread);
    count.hidden = unread === 0;
    bell.classList.toggle("has-unread", unread > 0);
    bell.setAttribute("aria-label", "Notifications, " + unread + " unread");
  }

  function open() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + bell.getAttribute("data-notifications-socket"));
    socket.addEventListener("open", function () { delay = 1000; });
    socket.addEventListener("message", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data && (data.kind === "notification" || data.kind === "notifications.read")) {
        show(data.unread);
      }
    });
    socket.addEventListener("close", function (event) {
      if (event.code === 4403) {
        return;  // signed out, or no longer allowed: reloading the page will tell
      }
      window.setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  open();
})();
