/* Live pages: a page that declares a socket is redrawn in place when an event arrives on it.

     <span hidden data-live-socket="/ws/repos/widgets/"></span>     the socket (monitoring/routing.py)
     <section id="merge-box" data-live-region>...</section>         a part of the page kept current
     data-live-kinds="merge_request. comment."                      (on the socket element, optional)
                                                                    only events whose kind starts so

   On an event the page's own URL is fetched again (after a short pause that gathers a burst of
   events into one fetch) and every live region is replaced by the element with the same id in the
   fresh page: the server renders it, with the reader's role, exactly as a reload would. A region
   that holds the field the reader is typing in is left alone until the field loses focus; forms
   people type in are kept outside regions. The socket reconnects with backoff and the page is
   fetched again after a reconnection (events sent while it was down are not replayed).

   Every event is also dispatched on document as a "pggit:event" CustomEvent (detail: the message,
   monitoring/fanout.py message()). The socket element's data-live-state is "connecting", "open" or
   "closed".
*/
(function () {
  "use strict";

  var DEBOUNCE_MS = 60;
  var BACKOFF_MIN_MS = 500;
  var BACKOFF_MAX_MS = 15000;
  var FORBIDDEN = 4403;  // monitoring/consumers.py: the reader lost their role

  var declared = document.querySelector("[data-live-socket]");
  if (!declared || !window.WebSocket) {
    return;
  }
  var path = declared.getAttribute("data-live-socket");
  var kinds = (declared.getAttribute("data-live-kinds") || "").split(/\s+/).filter(Boolean);
  var backoff = BACKOFF_MIN_MS;
  var timer = null;
  var fetching = false;
  var again = false;
  var waitingForBlur = false;

  function setState(state) {
    declared.setAttribute("data-live-state", state);
  }

  function wanted(kind) {
    return !kinds.length || kinds.some(function (prefix) { return kind.indexOf(prefix) === 0; });
  }

  function isTyping(region) {
    var active = document.activeElement;
    if (!active || !region.contains(active)) {
      return false;
    }
    var tag = active.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && active.type !== "hidden" &&
      active.type !== "submit" && active.type !== "button") || active.isContentEditable;
  }

  function swap(fresh) {
    document.querySelectorAll("[data-live-region]").forEach(function (region) {
      var replacement = region.id && fresh.getElementById(region.id);
      if (!replacement || replacement.outerHTML === region.outerHTML) {
        return;
      }
      if (isTyping(region)) {
        waitingForBlur = true;
        return;
      }
      var active = document.activeElement;
      var focusId = active && region.contains(active) ? active.id : "";
      region.replaceWith(replacement);
      if (window.htmx) {
        window.htmx.process(replacement);  // hx-trigger="load" parts (the merge box's preview)
      }
      if (focusId) {
        var focused = document.getElementById(focusId);
        if (focused) {
          focused.focus({preventScroll: true});
        }
      }
    });
  }

  function refresh() {
    timer = null;
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    fetch(window.location.href, {credentials: "same-origin", headers: {"X-Pggit-Live": "1"}})
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        swap(new DOMParser().parseFromString(html, "text/html"));
        document.dispatchEvent(new CustomEvent("pggit:refreshed"));
      })
      .catch(function () { /* the next event, or the next reconnection, fetches again */ })
      .then(function () {
        fetching = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  function schedule() {
    if (timer === null) {
      timer = window.setTimeout(refresh, DEBOUNCE_MS);
    }
  }

  document.addEventListener("focusout", function () {
    if (waitingForBlur) {
      waitingForBlur = false;
      window.setTimeout(schedule, 0);  // after focus has moved on
    }
  });

  function connect(reconnecting) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + path);
    setState("connecting");
    socket.addEventListener("open", function () {
      backoff = BACKOFF_MIN_MS;
      setState("open");
      if (reconnecting) {
        schedule();  // what happened while the socket was down
      }
    });
    socket.addEventListener("message", function (message) {
      var event;
      try {
        event = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      if (!event || event.kind === "hello" || event.kind === "pong") {
        return;
      }
      document.dispatchEvent(new CustomEvent("pggit:event", {detail: event}));
      if (wanted(event.kind)) {
        schedule();
      }
    });
    socket.addEventListener("close", function (closed) {
      setState("closed");
      if (closed.code === FORBIDDEN) {
        return;  // no longer a member: the page says so on the next reload
      }
      window.setTimeout(function () { connect(true); }, backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    });
  }

  connect(false);
})();
