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

  // A table wider than the screen scrolls inside its box (.table-responsive, or any table on a
  // phone): the box joins the tab order so that a keyboard can scroll it, named after the table's
  // caption or the heading before it.
  function scrollableTables() {
    var boxes = document.querySelectorAll("main .table-responsive, main table");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.tagName === "TABLE" && box.closest(".table-responsive")) {
        return;
      }
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-kh-scroll", "");
        if (!box.hasAttribute("aria-label") && box.tagName !== "TABLE") {
          var caption = box.querySelector("caption");
          var heading = caption;
          var node = box;
          while (!heading && node && node !== document.body) {
            var previous = node.previousElementSibling;
            while (previous && !/^H[1-6]$/.test(previous.tagName)) {
              previous = previous.previousElementSibling;
            }
            heading = previous;
            node = node.parentElement;
          }
          if (heading && heading.textContent.trim()) {
            box.setAttribute("role", "region");
            box.setAttribute("aria-label", heading.textContent.trim());
          }
        }
      } else if (!scrolls && box.hasAttribute("data-kh-scroll")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-kh-scroll");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", scrollableTables);
  window.addEventListener("resize", scrollableTables);
  document.addEventListener("htmx:afterSettle", scrollableTables);

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
