/* Live pages: a page that declares a socket is redrawn in place when an event arrives on it.

     <span hidden data-live-socket="/ws/repos/widgets/"></span>     the socket (monitoring/routing.py)
     <section id="merge-box" data-live-region>...</section>         a part of the page kept current
     data-live-kinds="merge_request. comment."                      (on the socket element, optional)
                                                                    only events whose kind starts so
     <div id="drift" data-live-region data-live-key="42" hx-get=...> a region that loads itself after
                                                                    the page: redrawn when its key changes
   A page may declare several sockets (a merge request's page listens to its request, and to the
   repository's commits: its conversation tab reconciles the request with a moved source).

   On an event the page's own URL is fetched again (after a short pause that gathers a burst of
   events into one fetch) and every live region is replaced by the element with the same id in the
   fresh page: the server renders it, with the reader's role, exactly as a reload would. A region
   that holds the field the reader is typing in is left alone until the field loses focus; forms
   people type in are kept outside regions. The socket reconnects with backoff and the page is
   fetched again after a reconnection (events sent while it was down are not replayed).

   Every event a socket wants is also dispatched on document, once whichever socket brought it, as
   a "pggit:event" CustomEvent (detail: the message, monitoring/fanout.py message()); each redraw
   is followed by "pggit:refreshed". Each socket element's data-live-state is "connecting", "open"
   or "closed".
*/
(function () {
  "use strict";

  var DEBOUNCE_MS = 60;
  var BACKOFF_MIN_MS = 500;
  var BACKOFF_MAX_MS = 15000;
  var FORBIDDEN = 4403;  // monitoring/consumers.py: the reader lost their role

  var sockets = document.querySelectorAll("[data-live-socket]");
  if (!sockets.length || !window.WebSocket) {
    return;
  }
  var timer = null;
  var fetching = false;
  var again = false;
  var waitingForBlur = false;

  var seen = [];  // the last events' ids: an event sent to two of the page's sockets counts once

  function seenBefore(id) {
    if (seen.indexOf(id) !== -1) {
      return true;
    }
    seen.push(id);
    if (seen.length > 100) {
      seen.shift();
    }
    return false;
  }

  function wanted(kinds, kind) {
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

  // A region whose content loads itself after the page (hx-trigger="load": the dashboard's drift
  // box) cannot be compared with the fresh page's, which holds the placeholder: it carries
  // data-live-key instead, and is replaced (and loads itself again) only when the key changed.
  function unchanged(region, replacement) {
    var key = region.getAttribute("data-live-key");
    if (key !== null) {
      return key === replacement.getAttribute("data-live-key");
    }
    return replacement.outerHTML === region.outerHTML;
  }

  function swap(fresh) {
    document.querySelectorAll("[data-live-region]").forEach(function (region) {
      var replacement = region.id && fresh.getElementById(region.id);
      if (!replacement || unchanged(region, replacement)) {
        return;
      }
      if (isTyping(region)) {
        waitingForBlur = true;
        return;
      }
      var active = document.activeElement;
      var focusId = active && region.contains(active) ? active.id : "";
      region.replaceWith(replacement);
      // (pggit.js paints the label chips in it again)
      replacement.dispatchEvent(new CustomEvent("pggit:replaced", {bubbles: true}));
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

  function Live(declared) {
    this.declared = declared;
    this.path = declared.getAttribute("data-live-socket");
    this.kinds = (declared.getAttribute("data-live-kinds") || "").split(/\s+/).filter(Boolean);
    this.backoff = BACKOFF_MIN_MS;
  }

  Live.prototype.connect = function (reconnecting) {
    var live = this;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + live.path);
    live.declared.setAttribute("data-live-state", "connecting");
    socket.addEventListener("open", function () {
      live.backoff = BACKOFF_MIN_MS;
      live.declared.setAttribute("data-live-state", "open");
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
      if (!event || event.kind === "hello" || event.kind === "pong" || !wanted(live.kinds, event.kind) ||
          seenBefore(event.id)) {
        return;
      }
      document.dispatchEvent(new CustomEvent("pggit:event", {detail: event}));
      schedule();
    });
    socket.addEventListener("close", function (closed) {
      live.declared.setAttribute("data-live-state", "closed");
      if (closed.code === FORBIDDEN) {
        return;  // no longer a member: the page says so on the next reload
      }
      window.setTimeout(function () { live.connect(true); }, live.backoff);
      live.backoff = Math.min(live.backoff * 2, BACKOFF_MAX_MS);
    });
  };

  sockets.forEach(function (declared) { new Live(declared).connect(false); });
})();
