/* Counter forms: a scanner ends each code with Enter, a form is sent once, and the print button prints. */
(function () {
  "use strict";

  // Enter in a one-line scan field moves to the next field instead of sending the half-filled form.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !field.matches || !field.matches("input[data-scan]")) return;
    event.preventDefault();
    var fields = Array.prototype.filter.call(field.form.elements, function (el) {
      return !el.disabled && el.type !== "hidden" && el.tagName !== "FIELDSET";
    });
    var next = fields[fields.indexOf(field) + 1];
    if (next) next.focus();
  });

  // A double click sends the form once; the server also refuses a second submission of the same form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-once]")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.setAttribute("aria-busy", "true");
    });
  });

  // Back from the result with the browser's Back button: let the form be sent again (the server sends a
  // resubmission of the same form to the first result).
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("[aria-busy]").forEach(function (button) {
        button.removeAttribute("aria-busy");
      });
    });
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
})();
