/* Keyboard shortcuts, loaded by templates/base.html for signed-in users (no inline script: the
   Content-Security-Policy allows none). Targets are elements the page marks with data-shortcut:

     /        focus the search box          [data-shortcut="search"]
     g m      go to the merge requests      a[data-shortcut="merge-requests"]
     g c      go to the commits             a[data-shortcut="commits"]
     g b      go to the branches            a[data-shortcut="branches"]
     g p      go to your page               a[data-shortcut="profile"]
     ?        show the help (#kbd-help); Esc closes it, or leaves a text field

   Keys typed in a text field, a select or an editor are left alone, as are keys with Ctrl, Alt
   or Meta (the browser's own shortcuts). */
(function () {
  "use strict";

  var GO = { m: "merge-requests", c: "commits", b: "branches", p: "profile" };
  var pendingG = false;
  var pendingTimer = null;

  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function help() { return document.getElementById("kbd-help"); }

  function showHelp(show) {
    var box = help();
    if (!box) { return; }
    box.hidden = !show;
    if (show) {
      var close = box.querySelector("[data-kbd-close]");
      if (close) { close.focus(); }
    }
  }

  function follow(name) {
    var link = document.querySelector('a[data-shortcut="' + name + '"]');
    if (link && link.href) { window.location.assign(link.href); }
  }

  document.addEventListener("click", function (event) {
    var box = help();
    if (!box || box.hidden) { return; }
    if (event.target === box || (event.target.closest && event.target.closest("[data-kbd-close]"))) {
      showHelp(false);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) { return; }
    var box = help();
    if (event.key === "Escape") {
      if (box && !box.hidden) { showHelp(false); event.preventDefault(); return; }
      if (typing(document.activeElement)) { document.activeElement.blur(); }
      return;
    }
    if (typing(event.target)) { return; }
    if (pendingG) {
      pendingG = false;
      window.clearTimeout(pendingTimer);
      if (GO[event.key]) { event.preventDefault(); follow(GO[event.key]); }
      return;
    }
    if (event.key === "/") {
      var search = document.querySelector('[data-shortcut="search"]');
      if (search) { event.preventDefault(); search.focus(); if (search.select) { search.select(); } }
    } else if (event.key === "?") {
      event.preventDefault();
      showHelp(!(box && !box.hidden));
    } else if (event.key === "g") {
      pendingG = true;
      pendingTimer = window.setTimeout(function () { pendingG = false; }, 1500);
    }
  });
})();
