// Starts Redoc on /api/v1/redoc/ (an external script: the Content-Security-Policy allows no inline one).
(function () {
  var el = document.getElementById("redoc-container");
  if (el && window.Redoc) {
    window.Redoc.init(el.getAttribute("data-spec-url"), {}, el);
  }
})();
