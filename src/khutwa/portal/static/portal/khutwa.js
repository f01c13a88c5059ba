// Khutwa's page behaviour, as a static file: the Content-Security-Policy allows no inline
// script or event handler attribute (onchange=, hx-on).
(function () {
  "use strict";

  // <select data-autosubmit>: choosing an option submits its form (the document type switch).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLElement && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });

  // After an htmx swap that replaces the page's content (the target is <main>, or what came in
  // holds the page's <h1> or an element marked data-kh-focus), move the focus to that heading so
  // that keyboard and screen-reader users start reading the new content; small swaps (a document
  // line, the totals, the rules) leave the focus where the user is typing.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!(target instanceof HTMLElement)) {
      return;
    }
    var main = document.getElementById("main");
    var replacesPage = target === main || target.tagName === "MAIN" || target.contains(main);
    var heading = target.querySelector("[data-kh-focus]") ||
      (replacesPage || target.querySelector("h1") ? document.querySelector("#main h1") : null);
    if (!heading && target.matches("[data-kh-focus], h1")) {
      heading = target;
    }
    if (!(heading instanceof HTMLElement)) {
      return;
    }
    if (!heading.hasAttribute("tabindex")) {
      heading.setAttribute("tabindex", "-1");
    }
    heading.focus();
  });
})();
