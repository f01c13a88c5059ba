// Khutwa's page behaviour, as a static file: the Content-Security-Policy allows no inline
// script or event handler attribute (onchange=, hx-on).
(function () {
  "use strict";

  // The account pages' error summary takes the focus, so that a screen reader reads it first.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  });

  // <select data-autosubmit>: choosing an option submits its form (the document type switch).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLElement && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });
})();
