// Khutwa's page behaviour, as a static file: the Content-Security-Policy allows no inline
// script or event handler attribute (onchange=, hx-on).
(function () {
  "use strict";

  // <select data-autosubmit>: choosing an option submits its form (the document type switch).
  // data-autosubmit="retype" sends retype=1 with it, so that the server keeps every value typed
  // and issues nothing (a <noscript> button does the same without JavaScript).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!(field instanceof HTMLElement) || !field.hasAttribute("data-autosubmit") || !field.form) {
      return;
    }
    var name = field.getAttribute("data-autosubmit");
    if (name) {
      var flag = document.createElement("input");
      flag.type = "hidden";
      flag.name = name;
      flag.value = "1";
      field.form.appendChild(flag);
    }
    field.form.submit();
  });

  // The error summary (GOV.UK): focused when the page (or an HTMX swap) shows it, so that a
  // screen reader reads it and the keyboard starts from it; its links focus their field.
  function focusSummary(root) {
    var summary = root.querySelector ? root.querySelector("[data-error-summary]") : null;
    if (!summary && root instanceof HTMLElement && root.hasAttribute("data-error-summary")) {
      summary = root;
    }
    if (summary) {
      summary.focus();
    }
  }
  document.addEventListener("DOMContentLoaded", function () { focusSummary(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target instanceof HTMLElement) { focusSummary(event.target); }
  });
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("[data-error-summary] a[href^='#']") : null;
    if (!link) { return; }
    var input = document.getElementById(link.getAttribute("href").slice(1));
    if (!input) { return; }
    event.preventDefault();
    var fieldset = input.closest("fieldset");
    var label = (fieldset && fieldset.querySelector("legend")) || document.querySelector("label[for='" + input.id + "']");
    (label || input).scrollIntoView();
    input.focus({ preventScroll: true });
  });

  // The licence tier limits how many activities may be chosen: with a tier picked, the
  // activities beyond its limit cannot be ticked, and a line says how many remain. Without
  // JavaScript the service says the same after submit.
  function tierLimit(form) {
    var tier = form.querySelector("input[data-max-activities]:checked");
    var boxes = form.querySelectorAll("input[name='activities']");
    var status = form.querySelector("[data-activity-count]");
    if (!boxes.length) { return; }
    var max = tier ? parseInt(tier.getAttribute("data-max-activities"), 10) : 0;
    var chosen = 0;
    boxes.forEach(function (box) { if (box.checked) { chosen += 1; } });
    boxes.forEach(function (box) {
      var full = max > 0 && chosen >= max && !box.checked;
      box.disabled = full;
      var option = box.closest(".form-check");
      if (option) { option.classList.toggle("text-body-secondary", full); }
    });
    if (status) {
      var text = max > 0 ? status.getAttribute("data-template").replace("%(chosen)s", chosen).replace("%(max)s", max) : "";
      status.textContent = text;
    }
  }
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLInputElement && field.form && field.form.hasAttribute("data-tier-limit") &&
        (field.name === "activities" || field.hasAttribute("data-max-activities"))) {
      tierLimit(field.form);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-tier-limit]").forEach(tierLimit);
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
    if (target.querySelector("[data-error-summary]") || target.hasAttribute("data-error-summary")) {
      return;  // the error summary takes the focus instead (focusSummary above)
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
