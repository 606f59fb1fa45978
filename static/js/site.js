/*
 * 枣庄市网上中介服务超市 — site behaviour.
 *
 * Loaded from our own origin at the end of <body>: the Content-Security-Policy is
 * script-src 'self', so there are no inline scripts or on* attributes anywhere. Pages opt in
 * with data attributes:
 *
 *   <form data-confirm="确定撤回该报名吗？">            asks before submitting
 *   <button type="submit" data-confirm="...">          asks only for this submit button
 *   <select data-autosubmit>                           submits its form when changed
 *   <button class="js-hide">                           hidden when JavaScript runs
 *                                                      (e.g. the "筛选" button next to
 *                                                      an auto-submitting select)
 *
 * htmx requests carry the CSRF token (X-CSRFToken) read from the csrftoken cookie.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function getCookie(name) {
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i].trim();
      if (part.substring(0, name.length + 1) === name + "=") {
        return decodeURIComponent(part.substring(name.length + 1));
      }
    }
    return null;
  }

  function csrfToken() {
    var token = getCookie("csrftoken");
    if (token) {
      return token;
    }
    // Fallback: a form on the page (the language switch always has one).
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : null;
  }

  // --- htmx: send the CSRF token with every non-GET request -------------------------------
  document.body.addEventListener("htmx:configRequest", function (event) {
    var verb = (event.detail.verb || "get").toLowerCase();
    if (verb !== "get") {
      var token = csrfToken();
      if (token) {
        event.detail.headers["X-CSRFToken"] = token;
      }
    }
  });

  // --- data-confirm: ask before submitting ----------------------------------------------------
  // Capture phase, so a cancelled submit never reaches htmx or any other listener.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) {
        return;
      }
      var submitter = event.submitter;
      var message =
        (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // Links that change nothing but deserve a second thought (e.g. leaving a half-filled form).
  document.addEventListener(
    "click",
    function (event) {
      var link = event.target.closest ? event.target.closest("a[data-confirm]") : null;
      if (link && !window.confirm(link.getAttribute("data-confirm"))) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // --- data-autosubmit: submit the form when a select (or any control) changes ----------------
  document.addEventListener("change", function (event) {
    var control = event.target;
    if (!control.hasAttribute || !control.hasAttribute("data-autosubmit") || !control.form) {
      return;
    }
    if (typeof control.form.requestSubmit === "function") {
      control.form.requestSubmit(); // fires "submit", so data-confirm and htmx still apply
    } else {
      control.form.submit();
    }
  });
})();
