/* pgGit's own script, loaded by templates/base.html. The Content-Security-Policy allows no inline
   JavaScript (no <script> blocks, no onsubmit= or onchange=), so templates ask for behaviour with
   data- attributes and this file provides it:

     <form data-confirm="Delete this branch?">    asks first; Cancel leaves the form unsent
     <button data-confirm="...">                  the same, for the button that submits
     <select data-head="main" data-head-warning="live-warning">
                                                  shows #live-warning only while "main" is chosen
                                                  (several ids, separated by spaces: each of them)
     <span data-color="#rrggbb" data-text-color="#000000">
                                                  a label's colours (a style= attribute is refused)
*/
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  function syncHeadWarning(select) {
    select.getAttribute("data-head-warning").split(/\s+/).forEach(function (id) {
      var warning = id && document.getElementById(id);
      if (warning) {
        warning.hidden = select.value !== select.getAttribute("data-head");
      }
    });
  }

  // The page is drawn for the branch the server chose; a browser that restores the form's values
  // (back button) may have chosen another.
  document.querySelectorAll("select[data-head-warning]").forEach(syncHeadWarning);

  var HEX = /^#[0-9a-fA-F]{6}$/;

  function paintLabels(root) {
    root.querySelectorAll("[data-color]").forEach(function (el) {
      var color = el.getAttribute("data-color");
      var text = el.getAttribute("data-text-color");
      if (HEX.test(color)) { el.style.backgroundColor = color; }
      if (text && HEX.test(text)) { el.style.color = text; }
    });
  }

  paintLabels(document);
  document.addEventListener("htmx:afterSwap", function (event) { paintLabels(event.target); });
  document.addEventListener("pggit:replaced", function (event) { paintLabels(event.target); });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-head-warning")) {
      syncHeadWarning(target);
    }
  });
})();
